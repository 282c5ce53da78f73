"""kiosk-voice: the ``voice`` library wired to the lane's bus, its prompts, accessible mode."""
