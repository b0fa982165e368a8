"""``python -m safetwin …`` runs the ``safetwin`` command (:mod:`safetwin.app.cli`)."""
from safetwin.app.cli import app

app(prog_name="safetwin")
