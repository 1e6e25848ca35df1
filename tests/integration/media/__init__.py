"""Integration tests of avatar media: gcp-storage-emulator, an IAM stand-in, real uvicorn."""
