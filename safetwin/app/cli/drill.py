"""``safetwin drill …``: evaluate a drill, keep the drill plan, show the calendar.

    safetwin drill evaluate --scenario chlorine_drum_leak_wind_shift --out var/drill/cl2
        # evaluates the simulated drill against itself (a dry run of the indicator system)
    safetwin drill evaluate --scenario NAME --record var/scenarios/cl2 --out DIR      # a `scenario run` folder
    safetwin drill evaluate --scenario NAME --record session.jsonl --log drill.yaml --out DIR   # MQTT recording
    safetwin drill evaluate --scenario NAME --db sqlite:///var/safetwin.db \\
        --from 2026-12-04T10:00:00Z --to 2026-12-04T10:30:00Z --log drill.yaml --out DIR --save
    safetwin drill plan add-plan P-ONSITE-CL2 --kind onsite --effective 2026-01-01 --title "Chlorine leak"
    safetwin drill plan generate --year 2027
    safetwin drill plan record D-2027-01 --date 2027-03-02 --plan P-ONSITE-CL2 --scenario NAME
    safetwin drill calendar [--today 2027-06-30] [--hazardous-chemicals]

``evaluate`` writes evaluation.json, report.html and report.pdf to ``--out`` and compares with the
simulated baseline of the same scenario (``--no-baseline`` skips the simulation). Input errors
(scenario, drill log, indicator config, times) are printed with their file and field; exit code 1.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import typer

app = typer.Typer(help="Drill evaluation, drill plan and calendar.", no_args_is_help=True)
plan_app = typer.Typer(help="The drill plan: emergency plans, yearly items, drills carried out.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")


@app.callback()
def main() -> None:
    """Drill evaluation (keeps the commands sub-commands when mounted as ``safetwin drill``)."""


def _time(text: str, what: str) -> datetime:
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{what}: {text!r} is not an ISO 8601 time (e.g. 2026-12-04T10:00:00Z)") from None
    if t.tzinfo is None:
        raise typer.BadParameter(f"{what}: {text!r} needs a zone (e.g. Z or +08:00)")
    return t.astimezone(timezone.utc)


def _store(db: str | None):
    """The store at ``db``, else the configured one (``SAFETWIN_DB_URL`` or SQLite in the data dir)."""
    from safetwin.twin.store import Store

    from ..settings import get_settings

    return Store.open(db or get_settings().database_url)


@app.command("evaluate")
def evaluate_cmd(scenario: str = typer.Option(..., "--scenario", help="scenario name or YAML file"),
                 record: Path | None = typer.Option(None, "--record", help="a `scenario run` folder or an MQTT "
                                                       "recording (.jsonl)"),
                 db: str | None = typer.Option(None, "--db", help="store URL (the twin's history for --from/--to; "
                                                  "where --save writes); default SAFETWIN_DB_URL"),
                 t_from: str | None = typer.Option(None, "--from", help="drill start (ISO 8601 with zone)"),
                 t_to: str | None = typer.Option(None, "--to", help="drill end (ISO 8601 with zone)"),
                 log: Path | None = typer.Option(None, "--log", help="drill log (JSON/YAML)"),
                 out: Path = typer.Option(..., "--out", help="output folder"),
                 config: Path | None = typer.Option(None, "--config", help="indicator system YAML"),
                 drill_id: str = typer.Option("", "--drill-id", help="drill id (default: from the log)"),
                 site: str = typer.Option("site1", "--site", help="site id (with --save)"),
                 save: bool = typer.Option(False, "--save", help="store the evaluation (in --db or the default store)"),
                 baseline: bool = typer.Option(True, "--baseline/--no-baseline", help="simulate the baseline"),
                 pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="print report.pdf with Chromium")) -> None:
    """Evaluate a drill and write evaluation.json, report.html and report.pdf."""
    from safetwin.scenarios.loader import ScenarioValidationError, load_scenario

    from safetwin.emergency_planner.drill.evaluate import evaluate
    from safetwin.emergency_planner.drill.exposure import exposure_from_incident
    from safetwin.emergency_planner.drill.indicators import IndicatorConfigError, load_indicator_config
    from safetwin.emergency_planner.drill.record import DrillLogError, from_incident, from_run_folder, load_drill_log
    from safetwin.emergency_planner.drill.report import write_report
    from safetwin.emergency_planner.incident import run_incident

    from ..drill_records import from_mqtt_recording, from_store
    from ..settings import get_settings

    try:
        loaded = load_scenario(scenario)
        cfg = load_indicator_config(config)
        dlog = load_drill_log(log) if log else None
    except (ScenarioValidationError, IndicatorConfigError, DrillLogError, FileNotFoundError) as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(code=1) from None
    from_db = t_from is not None or t_to is not None
    if record is not None and from_db:
        typer.echo("give --record or --from/--to (with --db), not both", err=True)
        raise typer.Exit(code=2)
    base = run = None
    if baseline or (record is None and not from_db):
        typer.echo(f"simulating the baseline of {loaded.scenario.name} …")
        run = run_incident(loaded)
        base = from_incident(run)
    try:
        if record is not None:
            rec = from_run_folder(record) if record.is_dir() else from_mqtt_recording(
                record, loaded.plant, t0=dlog.t0 if dlog else None, scenario=loaded.scenario.name)
        elif from_db:
            if not (t_from and t_to):
                typer.echo("a drill from the store needs --from and --to (the drill window)", err=True)
                raise typer.Exit(code=2)
            with _store(db) as store:
                rec = from_store(store, loaded.plant, _time(t_from, "--from"), _time(t_to, "--to"),
                                 scenario=loaded.scenario.name)
        else:
            rec = base
        if dlog is not None:
            rec = rec.with_log(dlog)
    except (DrillLogError, FileNotFoundError, ValueError) as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(code=1) from None
    rec.scenario = rec.scenario or loaded.scenario.name
    # a recorded drill releases no gas: its exposure is the load along its tracks in the simulated plume
    exposure = exposure_from_incident(run, rec) if run is not None and rec.source == "recorded" else None
    ev = evaluate(rec, loaded.plant, scenario=loaded.scenario, baseline=base, config=cfg,
                  drill_id=drill_id or (dlog.drill.id if dlog else ""), exposure=exposure)
    doc = ev.to_dict()
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
    try:
        paths = write_report(doc, out, pdf=pdf, chromium=get_settings().chromium)
    except RuntimeError as err:
        typer.echo(f"PDF not written: {err}", err=True)
        paths = write_report(doc, out, pdf=False)
    if save:
        from safetwin.twin.workflows.drill_store import save_evaluation

        with _store(db) as store:
            typer.echo(f"stored evaluation {save_evaluation(store, ev, site)}")
    typer.echo(f"score {ev.score:.1f} grade {ev.grade}; findings: " +
               ", ".join(f"{f['severity']} {f['indicator']}" for f in ev.findings) if ev.findings else
               f"score {ev.score:.1f} grade {ev.grade}; no findings")
    typer.echo(f"wrote {out / 'evaluation.json'}, " + ", ".join(str(p) for p in paths.values()))


@plan_app.command("add-plan")
def add_plan_cmd(plan_id: str = typer.Argument(...), kind: str = typer.Option(..., help="comprehensive|special|onsite"),
                 effective: str = typer.Option(..., help="effective date YYYY-MM-DD"),
                 title: str = typer.Option(""), site: str = typer.Option("site1"),
                 db: str | None = typer.Option(None, help="store URL (default: SAFETWIN_DB_URL)")) -> None:
    """Register an emergency plan that must be drilled."""
    from safetwin.twin.workflows.drill_store import add_emergency_plan

    try:
        when = datetime.combine(date.fromisoformat(effective), datetime.min.time(), tzinfo=timezone.utc)
        with _store(db) as store:
            add_emergency_plan(store, site, plan_id, kind, when, title)
    except ValueError as err:
        typer.echo(f"plan {plan_id}: {err}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"added {kind} plan {plan_id}")


@plan_app.command("generate")
def generate_cmd(year: int = typer.Option(...), site: str = typer.Option("site1"),
                 hazardous_chemicals: bool = typer.Option(False, "--hazardous-chemicals"),
                 db: str | None = typer.Option(None)) -> None:
    """Write the year's drill plan items from the statutory intervals."""
    from safetwin.twin.workflows.drill_store import generate_plan, plan_items

    with _store(db) as store:
        generate_plan(store, site, year, hazardous_chemicals=hazardous_chemicals)
        for it in plan_items(store, site):
            if it["due_by"].year == year:
                typer.echo(f"{it['id']}\t{it['due_by'].date()}\t{it['requirement']}\t{it['drill_id'] or '-'}")


@plan_app.command("record")
def record_cmd(drill_id: str = typer.Argument(...), on: str = typer.Option(..., "--date", help="YYYY-MM-DD"),
               plan: str | None = typer.Option(None, help="emergency plan id"),
               item: str | None = typer.Option(None, help="plan item id it carries out"),
               scenario: str = typer.Option(""), form: str = typer.Option("live", help="live|tabletop"),
               site: str = typer.Option("site1"), db: str | None = typer.Option(None)) -> None:
    """Record a drill carried out (closes its plan item)."""
    from safetwin.twin.workflows.drill_store import record_drill

    try:
        when = datetime.combine(date.fromisoformat(on), datetime.min.time(), tzinfo=timezone.utc)
    except ValueError as err:
        typer.echo(f"--date: {err}", err=True)
        raise typer.Exit(code=1) from None
    with _store(db) as store:
        record_drill(store, site, drill_id, when, plan_id=plan, plan_item_id=item, scenario=scenario, form=form)
    typer.echo(f"recorded drill {drill_id}")


@app.command("calendar")
def calendar_cmd(site: str = typer.Option("site1"), today: str | None = typer.Option(None, help="YYYY-MM-DD"),
                 hazardous_chemicals: bool = typer.Option(False, "--hazardous-chemicals"),
                 as_json: bool = typer.Option(False, "--json"), db: str | None = typer.Option(None)) -> None:
    """Statutory drill calendar: due and overdue drills, plan completion."""
    from safetwin.twin.workflows.drill_store import calendar_status

    day = date.fromisoformat(today) if today else datetime.now(timezone.utc).date()
    with _store(db) as store:
        st = calendar_status(store, site, day, hazardous_chemicals=hazardous_chemicals)
    if as_json:
        typer.echo(json.dumps(st, indent=1, ensure_ascii=False))
        return
    for it in st["items"]:
        typer.echo(f"{it['due_by']}\t{it['status']:<10}\t{it['requirement']}\t{it['done_on'] or '-'}")
    typer.echo(f"completion {st['plan_completion']} ({st['done']}/{st['due']} due by {st['today']}); "
               f"overdue {len(st['overdue'])}")
