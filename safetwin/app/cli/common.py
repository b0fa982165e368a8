"""Helpers shared by the command groups of the ``safetwin`` command, and its exit codes.

Every sub-command exits with one of :class:`ExitCode` (``docs/cli.md``):

====  ============  ==========================================================================
code  name          meaning
====  ============  ==========================================================================
0     OK            done
1     INVALID       the input is wrong or missing (plant, scenario, file, id, a value in a file),
                    or what the command checks failed (validate, plant check, audit verify);
                    the located message is on stderr
2     USAGE         the command line is wrong: a missing, conflicting or bad option (click's
                    own usage errors exit 2 as well)
3     UNAVAILABLE   something the command needs is not there: a broker, a database, Chromium
                    or an optional extra
====  ============  ==========================================================================
"""
from __future__ import annotations

from enum import IntEnum
from pathlib import Path
from typing import NoReturn

import typer

from safetwin.plant_models.loader import Plant, PlantValidationError, load_plant

__all__ = ["ExitCode", "fail", "plant_or_exit"]


class ExitCode(IntEnum):
    """The exit codes of every ``safetwin`` sub-command (see the module docstring)."""

    OK = 0
    INVALID = 1
    USAGE = 2
    UNAVAILABLE = 3


def fail(code: ExitCode, message: str) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code``."""
    typer.echo(message, err=True)
    raise typer.Exit(code=int(code))


def plant_or_exit(path: Path | str) -> Plant:
    """Load the plant at ``path`` (a folder or a bundled plant's name); on a validation error print
    every located issue to stderr and exit with :attr:`ExitCode.INVALID`."""
    try:
        return load_plant(path)
    except PlantValidationError as err:
        typer.echo(f"INVALID {path}: {len(err.issues)} error(s)", err=True)
        for issue in err.issues:
            typer.echo(f"  - {issue}", err=True)
        raise typer.Exit(code=int(ExitCode.INVALID)) from None
