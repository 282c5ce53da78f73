"""Scanner driver tests: real capture path, real decoders, real mosquitto."""
