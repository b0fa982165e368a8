"""Helpers shared by the command groups of the ``safetwin`` command."""
from __future__ import annotations

from pathlib import Path

import typer

from safetwin.plant_models.loader import Plant, PlantValidationError, load_plant

__all__ = ["plant_or_exit"]


def plant_or_exit(path: Path | str) -> Plant:
    """Load the plant at ``path`` (a folder or a bundled plant's name); on a validation error print
    every located issue to stderr and exit with code 1."""
    try:
        return load_plant(path)
    except PlantValidationError as err:
        typer.echo(f"INVALID {path}: {len(err.issues)} error(s)", err=True)
        for issue in err.issues:
            typer.echo(f"  - {issue}", err=True)
        raise typer.Exit(code=1) from None
