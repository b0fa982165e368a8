"""``safetwin qra …``: quantitative risk assessment of a plant.

    safetwin qra run demo_plant --grid-m 2 --margin-m 500 --out var/qra/demo
    safetwin qra run demo_plant --scheduler tcp://10.0.0.5:8786
"""
from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(help="Quantitative risk assessment: individual/societal risk, contours, criteria.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Quantitative risk assessment (keeps ``run`` a sub-command when mounted as ``safetwin qra``)."""


@app.command("run")
def run(plant: Path = typer.Argument(..., help="plant folder (plant.yaml + layers; optional qra.yaml)"),
        grid_m: float = typer.Option(2.0, help="grid spacing, m"),
        margin_m: float = typer.Option(500.0, help="grid margin around the site, m"),
        out: Path = typer.Option(Path("var/qra"), "--out", help="output folder"),
        scheduler: str | None = typer.Option(None, help="Dask scheduler address; 'serial' for in-process; "
                                                           "default: local cluster"),
        workers: int = typer.Option(2, help="workers of the local cluster"),
        resume: bool = typer.Option(True, help="reuse finished task results"),
        config: Path | None = typer.Option(None, help="extra qra.yaml override"),
        criteria: str = typer.Option("GB36894", help="criteria: GB36894, Bevi, UK_HSE"),
        installation: str | None = typer.Option(None, help="GB36894: new | in_service")) -> None:
    """Run the QRA of a plant and write contours, IR grid, F-N CSV and the criteria report."""
    from safetwin.emergency_planner.qra.engine import run_qra
    from safetwin.plant_models.loader import PlantValidationError

    from .common import ExitCode, fail

    try:
        res = run_qra(plant, grid_m=grid_m, margin_m=margin_m, out_dir=out, scheduler=scheduler, n_workers=workers,
                      resume=resume, progress=True, config_path=config, criteria=criteria, installation=installation)
    except PlantValidationError as err:
        fail(ExitCode.INVALID, f"INVALID {plant}: {len(err.issues)} error(s)\n" +
             "\n".join(f"  - {issue}" for issue in err.issues))
    except (KeyError, FileNotFoundError) as exc:
        fail(ExitCode.INVALID, f"error: {str(exc).strip(chr(34))}")
    except ValueError as exc:       # an option the run cannot honour (e.g. a grid that misses a target)
        fail(ExitCode.USAGE, f"error: {exc}")
    typer.echo(json.dumps(res.summary(), indent=2, default=float))
    for name, path in res.outputs.items():
        typer.echo(f"{name}: {path}")
