"""Protocol-faithful offline emulator of the Gemini Live API."""
