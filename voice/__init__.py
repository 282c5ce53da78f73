"""Offline speech for voice-guided payment (Vosk grammar recognizer, spoken prompts).

Not built yet: see the voice issue. kiosk-core already treats every intent the
same whatever its source (``source: "voice"`` on the bus).
"""
