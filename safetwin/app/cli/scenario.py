"""``safetwin scenario …``: list, validate and run scenario drills.

    safetwin scenario list
    safetwin scenario validate chlorine_drum_leak_wind_shift      # or a path to a YAML file
    safetwin scenario run chlorine_drum_leak_wind_shift --out var/scenarios/cl2
    safetwin scenario montecarlo h2s_confined_space --n 20 --seed 1 --workers 2 --out var/mc/h2s
    safetwin scenario estimate release_main_gate_blocked --after 60   # live source estimation, replayed

``validate`` exits 1 and prints every located issue (file:line, field, message); ``run`` writes
events.json, metrics.json, trajectories.parquet and people.parquet to ``--out``, saying on stderr
which stage it is in (with the time since it started) and printing the figures rounded. Exit
codes: :class:`~safetwin.app.cli.common.ExitCode`.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from .common import ExitCode, fail

app = typer.Typer(help="Scenario drills: list, validate and run scenarios of the library.", no_args_is_help=True)


@contextmanager
def _bad_input_exits() -> Iterator[None]:
    """Exit 1 with the located message on a missing or invalid scenario, 2 on another bad argument."""
    from safetwin.scenarios.loader import ScenarioValidationError

    try:
        yield
    except (ScenarioValidationError, FileNotFoundError) as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(code=1) from None
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from None


#: what ``scenario run`` says at each stage of a run
STAGES = {"loading": "loading the scenario and its plant", "timeline": "simulating the incident (release, "
          "dispersion, fire, detection, response)", "evacuation": "simulating the evacuation (agents)",
          "metrics": "measuring", "writing": "writing the results"}


def rounded(value: Any) -> Any:
    """A figure as people read it: times and counts to 0.1, probabilities to 3 significant digits.

    >>> rounded(982.4000000001548), rounded(0.000123456), rounded(12), rounded(None)
    (982.4, 0.000123, 12, None)
    """
    if isinstance(value, bool) or not isinstance(value, float):
        return value
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return float(f"{value:.3g}") if abs(value) < 1 else round(value, 1)


@app.callback()
def main() -> None:
    """Scenario drills (keeps the commands sub-commands when mounted as ``safetwin scenario``)."""


@app.command("list")
def list_cmd(folder: Path | None = typer.Option(None, help="scenario folder (default: the shipped library)")) -> None:
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

    from safetwin.emergency_planner.incident import run_incident

    from safetwin.emergency_planner.qra.executor import print_progress

    from ..machine import blas_threads, compute_threads

    t0 = time.perf_counter()
    bar_open = False     # an unfinished progress bar ends its line before the next stage's line

    def say(stage: str) -> None:     # progress on stderr: stdout stays the result
        nonlocal bar_open
        if bar_open:
            typer.echo("", err=True)
            bar_open = False
        typer.echo(f"[{time.perf_counter() - t0:5.1f} s] {STAGES.get(stage, stage)} …", err=True)

    def evacuating(time_s: float, arrived: int, n: int) -> None:   # the same bar as qra run and montecarlo
        nonlocal bar_open
        print_progress(arrived, n, f"safe at {time_s:.0f} s simulated")
        bar_open = arrived < n

    say("loading")
    try:
        loaded = load_scenario(name)
    except (ScenarioValidationError, FileNotFoundError) as err:
        fail(ExitCode.INVALID, str(err))
    with blas_threads(compute_threads()):
        res = run_incident(loaded, evacuate=not no_evacuation, progress=say, evacuation_progress=evacuating)
    say("writing")
    paths = res.write(out)
    typer.echo(f"[{time.perf_counter() - t0:5.1f} s] done", err=True)
    summary = {k: rounded(res.metrics.get(k)) for k in ("first_detection_s", "alarm_s", "first_engine_in_action_s",
                                                        "people", "arrived", "evacuation_complete_s",
                                                        "people_above_aegl2_dose", "max_harm_probability",
                                                        "wall_time_s")}
    typer.echo(json.dumps(summary, indent=2, default=float))
    for o in res.metrics["objectives"]:
        typer.echo(f"objective {o['id']} ({o['metric']} <= {o['max']:g}): {'met' if o['met'] else 'NOT met'} "
                   f"(value {rounded(o['value'])})")
    for k, p in paths.items():
        typer.echo(f"{k}: {p}")


@app.command("montecarlo")
def montecarlo_cmd(name: str = typer.Argument(..., help="scenario name or YAML file"),
                   n: int = typer.Option(20, "--n", min=1, help="number of weather draws"),
                   seed: int = typer.Option(1, "--seed", help="random seed of the draws (fixed seed: same draws)"),
                   workers: int = typer.Option(2, "--workers", min=1, help="processes of the local Dask cluster"),
                   scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address "
                                                           "(tcp://host:8786) instead of a local cluster"),
                   serial: bool = typer.Option(False, "--serial", help="run the draws in this process (no Dask)"),
                   out: Path = typer.Option(Path("var/montecarlo"), "--out", help="output folder"),
                   period: str = typer.Option("auto", "--period", help="auto (the scenario's time of day), day, "
                                              "night or any"),
                   resume: bool = typer.Option(True, help="reuse finished draws cached under OUT/cache"),
                   no_evacuation: bool = typer.Option(False, "--no-evacuation", help="timeline only (no agents)"),
                   fixed_people: bool = typer.Option(False, "--fixed-people", help="keep the scenario's people "
                                                     "(positions, pre-movement, walking speeds) in every draw: "
                                                     "the spread of the weather alone"),
                   confidence: float = typer.Option(0.95, "--confidence", min=0.5, max=0.999,
                                                    help="level of the intervals"),
                   plot: bool = typer.Option(True, "--plot/--no-plot", help="write OUT/convergence.png "
                                             "(needs the ui extra)")
                   ) -> None:
    """Run a scenario over N weather draws from its plant's wind rose and weather classes (in parallel),
    each with its people drawn again, and write draws.csv, draws.json, summary.json (means and
    percentiles with confidence intervals, small-sample warnings) and convergence.png."""

    from safetwin.emergency_planner.montecarlo import run_montecarlo
    from safetwin.emergency_planner.qra.executor import print_progress

    if serial and scheduler:
        typer.echo("error: give --serial or --scheduler, not both", err=True)
        raise typer.Exit(code=2)
    with _bad_input_exits():
        res = run_montecarlo(name, n, seed=seed, scheduler="serial" if serial else scheduler, n_workers=workers,
                             cache_dir=out / "cache", evacuate=not no_evacuation, resume=resume, period=period,
                             vary_people=not fixed_people, confidence=confidence, progress=print_progress)
    paths = res.write(out)
    s = res.summary
    typer.echo(f"{s['scenario']}: {s['n_finished']}/{s['n_draws']} draws (seed {s['seed']}, {s['period']}), "
               f"classes {s['weather_classes']}; {s['execution']['computed']} computed, "
               f"{s['execution']['cached']} cached, {s['execution']['wall_s']:.1f} s on {s['execution']['scheduler']}")
    for note in s["notes"]:
        typer.echo(f"note: {note}")
    typer.echo(f"evacuation incomplete (somebody not accounted for) in {s['incomplete_evacuations']} draw(s), "
               f"agent deadlock in {s['deadlocks']}; rset_s is summarised over the complete ones")
    typer.echo(res.format_spread())
    if plot:
        try:  # the ui extra (matplotlib; the ui package itself needs panel)
            from safetwin.ui.montecarlo_plot import convergence_png

            paths["convergence_png"] = str(convergence_png(res, out / "convergence.png"))
        except ImportError as err:
            typer.echo(f"convergence plot not written (needs the 'ui' extra: pip install 'safetwin[ui]'): {err}",
                       err=True)
    for k, p in paths.items():
        typer.echo(f"{k}: {p}")


@app.command("estimate")
def estimate_cmd(name: str = typer.Argument(..., help="scenario name or YAML file (with a gas release)"),
                 after: float = typer.Option(60.0, "--after", help="estimate until this many s after the first alarm"),
                 every: float = typer.Option(5.0, "--every", help="re-estimate every this many s of scenario time"),
                 seed: int = typer.Option(1, "--seed", help="seed of the simulated detector noise and faults"),
                 faults: float = typer.Option(0.0, "--faults", help="detector faults per sensor per hour"),
                 censor: bool = typer.Option(False, "--censor", help="treat over-range readings as ≥ range max"),
                 json_out: Path | None = typer.Option(None, "--json", help="also write the figures as JSON")) -> None:
    """Replay the scenario's detector traffic offline (simulated plant, no broker) into the live
    source estimator and print the estimate over time against the truth."""

    from safetwin.emergency_planner.live.estimate import EstimationParams
    from safetwin.live_bridge.scenario_replay import replay_offline

    params = EstimationParams(over_range="censor" if censor else "use")
    with _bad_input_exits():
        truth, first_alarm, steps = replay_offline(name, seed=seed, every_s=every, after_alarm_s=after,
                                                   fault_rate_per_h=faults, params=params)
    typer.echo(f"truth: {truth.equipment_id} ({truth.x_m:.0f}, {truth.y_m:.0f}) m, {truth.substance}, "
               f"{truth.rate_kg_s:.3g} kg/s from t={truth.start_s:.0f} s; first alarm at t={first_alarm:.1f} s")
    typer.echo(f"{'t_s':>6} {'+alarm':>6}  {'estimate':<16} {'dist_m':>7} {'rate_kg_s':>9} {'ratio':>6} "
               f"{'rate 5-95 %':>17} {'r90_m':>6} {'p':>5} {'ms':>5}  ok")
    for s in steps:
        e = s.estimate
        where = e.equipment_id or (f"({e.x_m:.0f},{e.y_m:.0f})" if e.kind == "point" else "-")
        lo, hi = e.rate_interval_kg_s
        typer.echo(f"{s.t_s:6.0f} {s.since_alarm_s:6.1f}  {where:<16} {s.distance_error_m:7.1f} {e.rate_kg_s:9.3g} "
                   f"{s.rate_ratio:6.2f} {lo:8.3g}-{hi:<8.3g} {e.credible_radius_m:6.0f} {e.p_location:5.2f} "
                   f"{e.compute_ms:5.0f}  {'yes' if s.ok else 'no'}")
    first_ok = next((s for s in steps if s.ok and all(t.ok for t in steps[steps.index(s):])), None)
    typer.echo(f"correct from {first_ok.since_alarm_s:.1f} s after the first alarm on" if first_ok
               else "not settled on the true source and rate within the replay")
    if json_out is not None:
        doc = {"scenario": name, "truth": truth.__dict__, "first_alarm_s": first_alarm,
               "steps": [{"t_s": s.t_s, "since_alarm_s": s.since_alarm_s, "distance_error_m": s.distance_error_m,
                          "rate_ratio": s.rate_ratio, "ok": s.ok, **s.estimate.summary()} for s in steps]}
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(doc, indent=1, default=float), encoding="utf-8")


@app.command("recommend")
def recommend_cmd(name: str = typer.Argument(..., help="scenario name or YAML file"),
                  t0: float | None = typer.Option(None, "--t0", help="time of the recommendation (s); default: alarm"),
                  out: Path = typer.Option(Path("var/scenarios/recommendations.json"), "--out", help="JSON file")) -> None:
    """Recommend routes, muster points, shelter advice and responder routes for a scenario (no agents)."""
    from safetwin.scenarios.loader import ScenarioValidationError, load_scenario

    from safetwin.emergency_planner.recommend.scenario import recommend_scenario

    try:
        loaded = load_scenario(name)
    except (ScenarioValidationError, FileNotFoundError) as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(code=1) from None
    if t0 is not None and not (t0 >= 0 and t0 < float("inf")):
        typer.echo(f"--t0: must be a finite time >= 0 s, got {t0}", err=True)
        raise typer.Exit(code=1)
    _, rec = recommend_scenario(loaded, t0)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = rec.to_dict()
    out.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    typer.echo(json.dumps({"t0_s": rec.t0_s, **doc["summary"], "total_s": rec.timings_s.get("total")}, indent=2))
    for a in rec.areas:
        typer.echo(f"{a.area_id:12s} {a.action:9s} {a.muster_point or '-':6s} {' > '.join(a.route) or '-'}")
    typer.echo(f"written: {out}")
