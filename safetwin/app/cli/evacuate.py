"""``safetwin evacuate …``: evacuate a plant's shift to its muster points; regenerate the verification table."""
from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from .common import ExitCode, fail, plant_or_exit

app = typer.Typer(help="Evacuation with agents: plant runs and the RiMEA/NIST verification table.",
                  no_args_is_help=True, pretty_exceptions_enable=False)


@app.command("run")
def run(plant_path: Path = typer.Argument(..., help="plant folder"),
        shift: str = typer.Option("day", help="shift whose people evacuate"),
        block: list[str] = typer.Option([], help="gate or road id made impassable (repeatable); a gate only "
                                          "matters where a route leaves through it"),
        seed: int = typer.Option(0, help="random seed (positions, speeds, pre-movement)"),
        threads: int = typer.Option(0, min=0, help="Numba threads of the crowd kernel (0: all when the machine "
                                                   "is idle, 1 when other processes keep it busy)"),
        out: Path = typer.Option(Path("var/evacuation"), "--out", "-o", help="output folder")) -> None:
    """Evacuate a shift to the muster points: writes summary.json, trajectories.parquet, people.parquet."""
    from safetwin.emergency_planner.evacuation.params import EvacuationParams
    from safetwin.emergency_planner.plant_evacuation import evacuate_plant, plant_navigation, shift_positions

    from ..machine import compute_threads

    plant = plant_or_exit(plant_path)
    try:
        blocked = [plant.gates[b].geometry.buffer(plant.gates[b].width_m) if b in plant.gates
                   else plant.roads[b].geometry.buffer(plant.roads[b].width_m / 2.0, cap_style="flat") for b in block]
        positions = shift_positions(plant, shift, seed=seed)
    except KeyError as exc:
        fail(ExitCode.INVALID, f"error: unknown {exc}")
    t0 = time.perf_counter()
    params = EvacuationParams(seed=seed, threads=threads or compute_threads(),
                              navigation=plant_navigation())
    result = evacuate_plant(plant, positions, blocked=blocked, seed=seed, params=params)
    wall = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    summary = {**result.summary(), "wall_s": wall, "speed_vs_real_time": result.rset_s / wall if wall else None,
               "plant": plant.id, "shift": shift, "blocked": block}
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=float))
    result.write_trajectories(out / "trajectories.parquet")
    result.write_people(out / "people.parquet")
    typer.echo(f"{summary['arrived']}/{summary['n']} people mustered, RSET {result.rset_s:.0f} s, "
               f"per muster point {summary['per_goal']}, not accounted for {summary['not_accounted_for']}; "
               f"{wall:.1f} s wall ({summary['speed_vs_real_time']:.0f}x real time); wrote {out}")


@app.command("verify")
def verify(out: Path = typer.Option(Path("docs/verification.md"), "--out", "-o", help="Markdown table to write")) -> None:
    """Run every RiMEA / NIST TN 1822 check and write the result table (exit 1 if any fails)."""
    from safetwin.emergency_planner.evacuation import verification

    raise typer.Exit(verification.main(["--out", str(out)]))
