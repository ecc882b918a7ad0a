"""Small runnable programs built on the SDK (each also runs as ``python examples/<name>.py``)."""
