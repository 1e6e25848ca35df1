"""PCM audio helpers shared by the emulator, backend and benchmarks."""
