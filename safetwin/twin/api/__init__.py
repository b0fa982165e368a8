"""The HTTP API (FastAPI): thin routes over the twin's domain modules."""
