"""``safetwin scenario …``: a typer sub-app (the lead mounts ``app``).

    safetwin scenario list
    safetwin scenario validate chlorine_drum_leak_wind_shift      # or a path to a YAML file
    safetwin scenario run chlorine_drum_leak_wind_shift --out var/scenarios/cl2

``validate`` exits 1 and prints every located issue (file:line, field, message); ``run`` writes
events.json, metrics.json, trajectories.parquet and people.parquet to ``--out``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="Scenario drills: list, validate and run scenarios of the library.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Scenario drills (keeps the commands sub-commands when mounted as ``safetwin scenario``)."""


@app.command("list")
def list_cmd(folder: Optional[Path] = typer.Option(None, help="scenario folder (default: the shipped library)")) -> None:
    """List the scenarios with their plant and title."""
    import yaml

    from safetwin.scenarios.loader import LIBRARY, list_scenarios

    base = folder or LIBRARY
    for name in list_scenarios(base):
        try:
            doc = yaml.safe_load((base / f"{name}.yaml").read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            doc = {}
        typer.echo(f"{name}\t{doc.get('plant', '?')}\t{doc.get('title', '')}")


@app.command("validate")
def validate_cmd(names: list[str] = typer.Argument(None, help="scenario names or files (default: the whole library)")) -> None:
    """Validate scenarios against the schema and their plant; exit 1 on any error."""
    from safetwin.scenarios.loader import list_scenarios, validate_scenario

    failed = 0
    for name in names or list_scenarios():
        issues = validate_scenario(name)
        if issues:
            failed += 1
            typer.echo(f"INVALID {name}: {len(issues)} error(s)")
            for i in issues:
                typer.echo(f"  - {i}")
        else:
            typer.echo(f"ok      {name}")
    if failed:
        raise typer.Exit(code=1)


@app.command("run")
def run_cmd(name: str = typer.Argument(..., help="scenario name or YAML file"),
            out: Path = typer.Option(Path("var/scenarios"), "--out", help="output folder"),
            no_evacuation: bool = typer.Option(False, "--no-evacuation", help="timeline only (no agents)")) -> None:
    """Run a scenario end to end and write its events, trajectories and metrics."""
    from safetwin.scenarios.loader import ScenarioValidationError, load_scenario

    from .incident import run_incident

    try:
        loaded = load_scenario(name)
    except (ScenarioValidationError, FileNotFoundError) as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(code=1)
    res = run_incident(loaded, evacuate=not no_evacuation)
    paths = res.write(out)
    summary = {k: res.metrics.get(k) for k in ("first_detection_s", "alarm_s", "first_engine_in_action_s",
                                               "people", "arrived", "evacuation_complete_s",
                                               "people_above_aegl2_dose", "max_harm_probability", "wall_time_s")}
    typer.echo(json.dumps(summary, indent=2, default=float))
    for o in res.metrics["objectives"]:
        typer.echo(f"objective {o['id']} ({o['metric']} <= {o['max']:g}): {'met' if o['met'] else 'NOT met'} "
                   f"(value {o['value']})")
    for k, p in paths.items():
        typer.echo(f"{k}: {p}")
