"""The local message bus: MQTT on a device-local mosquitto (topics, messages, client)."""
