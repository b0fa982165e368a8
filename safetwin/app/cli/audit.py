"""``safetwin audit …``: verify the keyed audit trail and export its evidence.

    safetwin audit verify                       # the configured store, key file and checkpoints
    safetwin audit verify --db postgresql+psycopg://… --key-file /etc/safetwin/audit.key --site site1
    safetwin audit export evidence.zip

``verify`` prints the count of links, records, users and checkpoints and every problem found
(exit 0 when intact, 1 when tampered); ``export`` writes the evidence zip
(:mod:`safetwin.twin.workflows.audit_export`) and prints its manifest's head.
"""
from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="The keyed audit trail: verify it, export its evidence.", no_args_is_help=True)

DB = typer.Option(None, "--db", help="SQLAlchemy URL of the store (default: SAFETWIN_DB_URL or the data dir's SQLite)")
KEY_FILE = typer.Option(None, "--key-file", help="audit key file (default: SAFETWIN_AUDIT_KEY / _KEY_FILE settings)")
CHECKPOINTS = typer.Option(None, "--checkpoints", help="checkpoint directory (default: SAFETWIN_AUDIT_CHECKPOINT_DIR)")
SITE = typer.Option("site1", "--site", help="site whose checkpoints to hold the chain against")


@app.callback()
def main() -> None:
    """The audit trail (keeps the commands sub-commands when mounted as ``safetwin audit``)."""


def _open(db: str | None, key_file: Path | None, checkpoints: Path | None, site: str):
    """(engine, key, checkpoint folder or None) from the options, else the settings."""
    from safetwin.twin.store.db import make_engine
    from safetwin.twin.workflows.audit import load_or_create_key
    from safetwin.twin.workflows.audit_anchor import CheckpointDir

    from ..settings import get_settings

    settings = get_settings()
    if key_file is not None:
        if not key_file.exists():
            typer.echo(f"audit key file {key_file} does not exist", err=True)
            raise typer.Exit(code=2)
        key = load_or_create_key(key_file)
    else:
        key = settings.audit_setup().key
    folder = checkpoints or settings.audit_setup().checkpoint_dir
    anchors = CheckpointDir(folder, site) if folder is not None else None
    return make_engine(db or settings.database_url), key, anchors


@app.command()
def verify(db: str | None = DB, key_file: Path | None = KEY_FILE, checkpoints: Path | None = CHECKPOINTS,
           site: str = SITE) -> None:
    """Verify every link, stored record, user and checkpoint; exit 1 when anything was tampered with."""
    from safetwin.twin.workflows import audit

    engine, key, anchors = _open(db, key_file, checkpoints, site)
    try:
        found, unreadable = anchors.read() if anchors is not None else ([], [])
        rep = audit.verify(engine, key, anchors=found)
    finally:
        engine.dispose()
    rep.problems.extend(unreadable)
    typer.echo(f"audit trail: {rep.links} links, {rep.records} records, {rep.users} users, {rep.checkpoints} "
               f"checkpoints (key {key.key_id}): {'OK' if rep.ok else 'TAMPERED'}")
    for problem in rep.problems:
        typer.echo(f"  - {problem}")
    raise typer.Exit(code=0 if rep.ok else 1)


@app.command()
def export(out: Path = typer.Argument(..., help="the evidence zip to write"), db: str | None = DB,
           key_file: Path | None = KEY_FILE, checkpoints: Path | None = CHECKPOINTS, site: str = SITE) -> None:
    """Write the evidence zip: links, rows, checkpoints, the verification report, a signed manifest."""
    from safetwin.twin.workflows import audit
    from safetwin.twin.workflows.audit_export import export_evidence

    engine, key, anchors = _open(db, key_file, checkpoints, site)
    try:
        found, unreadable = anchors.read() if anchors is not None else ([], [])
        rep = audit.verify(engine, key, anchors=found)
        rep.problems.extend(unreadable)
        out.parent.mkdir(parents=True, exist_ok=True)
        manifest = export_evidence(engine, key, out, site=site, report=rep, anchors=anchors)
    finally:
        engine.dispose()
    typer.echo(f"wrote {out}: {rep.links} links up to seq {manifest['head_seq']}, verified "
               f"{'OK' if rep.ok else 'TAMPERED'} ({len(rep.problems)} problems)")
