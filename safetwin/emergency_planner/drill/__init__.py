"""Drill evaluation: records, indicators, scoring, findings, reports, calendar.

* :mod:`.record` — :class:`DrillRecord` (tracks + events) from a simulated drill or a `scenario run`
  folder, plus the manual drill log (JSON/YAML); recorded drills (the twin's store, an MQTT
  recording) are read by :mod:`safetwin.app.drill_records`;
* :mod:`.indicators` — the configurable indicator system (AQ/T 9009 modules, HSEEP capabilities)
  and the scoring rules; :mod:`.metrics` — vectorised measurements (muster arrivals …);
* :mod:`.evaluate` — score, grade, HSEEP ratings, comparison with the simulated baseline, findings
  (不足项/整改项/改进项) with improvement-plan rows;
* :mod:`.report` — self-contained HTML and PDF; :mod:`.actions` — findings → tracked hazards;
* the statutory calendar and the store of plans, drills and evaluations are safety workflows of
  the twin: :mod:`safetwin.twin.workflows.drill_calendar`, :mod:`safetwin.twin.workflows.drill_store`.

Example (a simulated drill evaluated against itself; ~5 s)::

    >>> from safetwin.scenarios.loader import load_scenario                  # doctest: +SKIP
    >>> from safetwin.emergency_planner.incident import run_incident         # doctest: +SKIP
    >>> sc = load_scenario("chlorine_drum_leak_wind_shift")                   # doctest: +SKIP
    >>> base = from_incident(run_incident(sc))                                # doctest: +SKIP
    >>> ev = evaluate(base, sc.plant, scenario=sc.scenario, baseline=base)    # doctest: +SKIP
    >>> ev.score, ev.grade, [f["severity"] for f in ev.findings]             # doctest: +SKIP
"""
from .evaluate import Evaluation, evaluate
from .indicators import IndicatorConfig, load_indicator_config
from .record import (DrillEvent, DrillLog, DrillLogError, DrillRecord, from_incident, from_run_folder, load_drill_log,
                     parse_drill_log)

__all__ = ["DrillRecord", "DrillEvent", "DrillLog", "DrillLogError", "from_incident", "from_run_folder", "load_drill_log",
           "parse_drill_log", "IndicatorConfig", "load_indicator_config",
           "Evaluation", "evaluate", "create_corrective_actions", "report_html", "report_pdf"]


def __getattr__(name: str):
    """Lazy access to the report and workflow helpers (they import Chromium/workflow glue)."""
    if name == "create_corrective_actions":
        from .actions import create_corrective_actions
        return create_corrective_actions
    if name in ("report_html", "report_pdf"):
        from . import report
        return getattr(report, name)
    raise AttributeError(name)
