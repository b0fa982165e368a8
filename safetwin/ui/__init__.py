"""SafeTwin web UI: Panel pages over a shared snapshot of the live twin, mounted on the API app.

Public names: :func:`mount_ui` (serve the pages from the API's FastAPI app, behind its login) and
:class:`SnapshotSource` (the shared, lock-protected view of the twin the pages poll).
"""
from __future__ import annotations

from .mount import mount_ui
from .snapshot import Snapshot, SnapshotSource

__all__ = ["Snapshot", "SnapshotSource", "mount_ui"]
