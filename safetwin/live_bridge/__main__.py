"""``python -m safetwin.live_bridge`` → the live-bridge CLI."""
from .cli import app

app()
