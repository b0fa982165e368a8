"""Load and validate scenario files, with every problem located by file, field and line.

Example::

    >>> from safetwin.scenarios.loader import load_scenario, list_scenarios
    >>> "chlorine_drum_leak_wind_shift" in list_scenarios()
    True
    >>> sc = load_scenario("chlorine_drum_leak_wind_shift")
    >>> sc.scenario.events[0].equipment, sc.plant.id
    ('DS-701', 'demo_plant')

Validation has two passes: the document against :class:`~safetwin.scenarios.schema.Scenario`
(types, ranges, required fields), then against the plant it names (equipment with an inventory,
gates, roads, muster points, shifts, detectors and fire engines must exist; a wrong id names the
closest ones). All issues are collected and raised together in a :class:`ScenarioValidationError`.
A file and a scenario built in memory go through the same checks: :func:`load_scenario` reads the
file and hands it to :func:`check_scenario`, which a program (or the planner page) calls directly::

    >>> from safetwin.scenarios.schema import Scenario
    >>> sc = Scenario(name="cl2", plant="demo_plant", events=[{"type": "release", "equipment": "DS-710",
    ...               "rate_kg_s": 0.5}], weather={"wind_speed_m_s": 2.0, "wind_from_deg": 270})
    >>> check_scenario(sc)
    Traceback (most recent call last):
    ...
    safetwin.scenarios.loader.ScenarioValidationError: scenario cl2 has 1 error(s):
      - cl2: field 'events.0.equipment': plant demo_plant has no equipment 'DS-710'; closest: 'DS-701', 'BD-100', 'SC-701'
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import ValidationError

from safetwin.errors import LocatedValidationError, unknown_id_message
from safetwin.plant_models.loader import Plant, PlantValidationError, bundled_plant_path, load_plant
from safetwin.substances import get_substance

from .schema import ReleaseEvent, Scenario

#: The substance of an inventory name, under any of its names (``hydrogen_sulfide``, ``H2S``): the
#: substance table's own resolution, :func:`safetwin.substances.get_substance`, kept under this name.
resolve_substance = get_substance

__all__ = ["LIBRARY", "ScenarioIssue", "ScenarioValidationError", "LoadedScenario", "list_scenarios",
           "scenario_path", "load_scenario", "check_scenario", "validate_scenario", "shift_at",
           "resolve_substance"]

#: Folder of the shipped scenario library.
LIBRARY = Path(__file__).resolve().parent / "library"


@dataclass(frozen=True)
class ScenarioIssue:
    """One problem in a scenario file."""

    file: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: field {self.field!r}: {self.message}"


class ScenarioValidationError(LocatedValidationError):
    """Raised with every :class:`ScenarioIssue` found in a scenario file."""

    kind = "scenario"


@dataclass
class LoadedScenario:
    """A scenario checked against its plant; ``path`` is the file it came from (None: built in memory)."""

    scenario: Scenario
    plant: Plant
    path: Path | None = None

    @property
    def shift(self) -> str:
        return self.scenario.shift or shift_at(self.plant, self.scenario.time_of_day)


def list_scenarios(folder: Path | None = None) -> list[str]:
    """Names (file stems) of the scenarios in ``folder`` (default: the shipped library)."""
    return sorted(p.stem for p in (folder or LIBRARY).glob("*.yaml"))


def scenario_titles(folder: Path | None = None) -> dict[str, dict[str, str]]:
    """Each library scenario's title and description in English and Chinese, by name (read from the
    files without validating them; a missing title is the name).

    >>> scenario_titles()["chlorine_drum_leak_wind_shift"]["title_zh"]
    '液氯钢瓶泄漏，风向由西转西南'
    """
    out: dict[str, dict[str, str]] = {}
    for name in list_scenarios(folder):
        try:
            doc = yaml.safe_load((folder or LIBRARY).joinpath(f"{name}.yaml").read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            doc = {}
        doc = doc if isinstance(doc, dict) else {}
        title = str(doc.get("title") or name)
        out[name] = {"title": title, "title_zh": str(doc.get("title_zh") or title),
                     "description": " ".join(str(doc.get("description") or "").split()),
                     "description_zh": str(doc.get("description_zh") or doc.get("description") or "").strip()}
    return out


def scenario_path(name_or_path: str | Path) -> Path:
    """A library name (``chlorine_drum_leak_wind_shift``) or a path to a YAML file."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    lib = LIBRARY / f"{name_or_path}.yaml"
    if not lib.exists():
        raise FileNotFoundError(unknown_id_message("scenario", str(name_or_path), list_scenarios(),
                                                   owner="the scenario library"))
    return lib


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def shift_at(plant: Plant, time_of_day: str) -> str:
    """Name of the plant shift covering ``time_of_day`` (HH:MM; shifts may wrap midnight)."""
    t = _minutes(time_of_day)
    for s in plant.shifts.values():
        a, b = _minutes(s.start), _minutes(s.end)
        if (a <= t < b) if a < b else (t >= a or t < b):
            return s.name
    raise KeyError(f"no shift of plant {plant.id} covers {time_of_day} (shifts: "
                   + ", ".join(f"{s.name} {s.start}-{s.end}" for s in plant.shifts.values()) + ")")


def _line_index(text: str) -> dict[tuple[str, ...], int]:
    """Map each YAML path (keys and list indices as strings) to its 1-based line."""
    out: dict[tuple[str, ...], int] = {}

    def walk(node: Any, path: tuple[str, ...]) -> None:
        out.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                walk(v, path + (str(k.value),))
                out[path + (str(k.value),)] = k.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, path + (str(i),))

    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return out
    if root is not None:
        walk(root, ())
    return out


def _find_line(lines: dict[tuple[str, ...], int], loc: tuple[str, ...]) -> int | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def _resolve_plant(name: str, scenario_file: Path | None) -> Path:
    """The plant folder a scenario names: relative to its file, a folder path, or a bundled plant."""
    for folder in ([scenario_file.parent / name] if scenario_file else []) + [Path(name)]:
        if (folder / "plant.yaml").exists():
            return folder
    return bundled_plant_path(name)


def _plant_checks(sc: Scenario, plant: Plant) -> list[tuple[tuple[str, ...], str]]:
    """(field path, message) for every reference the plant cannot satisfy."""
    bad: list[tuple[tuple[str, ...], str]] = []
    owner = f"plant {plant.id}"
    for k, e in enumerate(sc.events):
        loc = ("events", str(k), "equipment")
        if e.equipment not in plant.equipment:
            bad.append((loc, unknown_id_message("equipment", e.equipment, plant.equipment, owner=owner)))
            continue
        inv = plant.inventories.get(e.equipment)
        if inv is None:
            bad.append((loc, f"equipment {e.equipment!r} holds no hazardous inventory; equipment with one: "
                             f"{', '.join(sorted(plant.inventories))}"))
            continue
        try:
            sub = get_substance(inv.substance)
        except KeyError as err:
            bad.append((loc, f"inventory substance {inv.substance!r} of {e.equipment} is unknown ({err.args[0]})"))
            continue
        if e.type in ("pool_fire", "jet_fire") and sub.heat_of_combustion_j_kg is None:
            bad.append((("events", str(k), "type"), f"{sub.name} in {e.equipment} does not burn"))
        if e.type == "pool_fire" and getattr(e, "diameter_m", None) is None and not plant.equipment[e.equipment].bund_id:
            bad.append((("events", str(k), "diameter_m"), f"{e.equipment} stands in no bund: give diameter_m"))
        if isinstance(e, ReleaseEvent) and sub.toxic is None and sub.lfl_vol_frac is None:
            bad.append((loc, f"{sub.name} is neither toxic nor flammable in the substance table"))
        if isinstance(e, ReleaseEvent) and e.ignition_s is not None and (sub.lfl_vol_frac is None
                                                                         or sub.heat_of_combustion_j_kg is None):
            bad.append((("events", str(k), "ignition_s"), f"{sub.name} in {e.equipment} does not burn: no ignition"))
    if sc.shift is not None and sc.shift not in plant.shifts:
        bad.append((("shift",), unknown_id_message("shift", sc.shift, plant.shifts, owner=owner)))
    elif sc.shift is None:
        try:
            shift_at(plant, sc.time_of_day)
        except KeyError as err:
            bad.append((("time_of_day",), err.args[0]))
    for i, g in enumerate(sc.blocked.gates):
        if g not in plant.gates:
            bad.append((("blocked", "gates", str(i)), unknown_id_message("gate", g, plant.gates, owner=owner)))
    for i, r in enumerate(sc.blocked.roads):
        if r not in plant.roads:
            bad.append((("blocked", "roads", str(i)), unknown_id_message("road", r, plant.roads, owner=owner)))
    for i, m in enumerate(sc.blocked.muster_points):
        if m not in plant.muster_points:
            bad.append((("blocked", "muster_points", str(i)),
                        unknown_id_message("muster point", m, plant.muster_points, owner=owner)))
    if sc.blocked.muster_points and set(plant.muster_points) <= set(sc.blocked.muster_points):
        bad.append((("blocked", "muster_points"), "every muster point is blocked: nobody could reach safety"))
    for i, fe in enumerate(sc.response.fire_engines):
        engines = [r.id for r in plant.resources.values() if r.kind.value == "fire_engine"]
        if fe not in engines:
            bad.append((("response", "fire_engines", str(i)), unknown_id_message("fire engine", fe, engines, owner=owner)))
    for i, u in enumerate(sc.response.external):
        for j, g in enumerate([u.gate] + u.alternatives):
            if g not in plant.gates:
                fld = ("response", "external", str(i)) + (("gate",) if j == 0 else ("alternatives", str(j - 1)))
                bad.append((fld, unknown_id_message("gate", g, plant.gates, owner=owner)))
    if sc.detection.detectors is not None:
        for i, d in enumerate(sc.detection.detectors):
            s = plant.sensors.get(d)
            if s is None:
                bad.append((("detection", "detectors", str(i)), unknown_id_message("sensor", d, plant.sensors, owner=owner)))
            elif s.alarm is None:
                bad.append((("detection", "detectors", str(i)), f"sensor {d!r} has no alarm levels"))
    return bad


def _schema_issues(err: ValidationError, source: str, lines: dict[tuple[str, ...], int]) -> list[ScenarioIssue]:
    issues = []
    for e in err.errors():
        # drop the discriminator tag pydantic adds for tagged unions (events.0.release.hole_…)
        loc = tuple(str(p) for p in e["loc"])
        if len(loc) > 2 and loc[0] == "events" and loc[2] in ("release", "pool_fire", "jet_fire"):
            loc = loc[:2] + loc[3:]
        issues.append(ScenarioIssue(source, ".".join(loc) or "(root)", e["msg"], _find_line(lines, loc)))
    return issues


def _plant_matches(plant: Plant, name: str) -> bool:
    return name in (plant.id, plant.path.name) or Path(name).resolve() == plant.path.resolve()


def check_scenario(scenario: Scenario | Mapping[str, Any], plant: Plant | None = None, *,
                   source: str | None = None, path: Path | None = None,
                   lines: dict[tuple[str, ...], int] | None = None) -> LoadedScenario:
    """Check a scenario (a :class:`Scenario` or a document as read from YAML) against the schema and
    against its plant, the same checks :func:`load_scenario` makes for a file.

    ``plant`` is the loaded plant to check against (default: the plant the scenario names, loaded).
    ``source`` names the scenario in messages (default: its file, else its name); ``path`` and
    ``lines`` (YAML path → line) are the file's, when it came from one.

    Raises :class:`ScenarioValidationError` listing every problem (source, field, line)."""
    lines = lines or {}
    if isinstance(scenario, Scenario):
        sc = scenario
    else:
        name = scenario.get("name") if isinstance(scenario, Mapping) else None
        label = source or str(path or name or "(scenario)")
        if not isinstance(scenario, Mapping):  # a wrong type from a caller: located like a file's
            raise ScenarioValidationError(label, [ScenarioIssue(label, "(root)", "a scenario must be a mapping")])
        try:
            sc = Scenario.model_validate(dict(scenario))
        except ValidationError as err:
            raise ScenarioValidationError(label, _schema_issues(err, label, lines)) from None
    source = source or str(path or sc.name)
    where = path or source
    if plant is None:
        try:
            plant = load_plant(_resolve_plant(sc.plant, path))
        except (PlantValidationError, FileNotFoundError, OSError) as err:
            raise ScenarioValidationError(where, [ScenarioIssue(source, "plant", f"cannot load plant {sc.plant!r}: {err}",
                                                                _find_line(lines, ("plant",)))]) from None
    elif not _plant_matches(plant, sc.plant):
        raise ScenarioValidationError(where, [ScenarioIssue(source, "plant", f"the scenario names plant {sc.plant!r}, "
                                                            f"not the plant {plant.id!r} it is checked against",
                                                            _find_line(lines, ("plant",)))])
    bad = _plant_checks(sc, plant)
    if bad:
        raise ScenarioValidationError(where, [ScenarioIssue(source, ".".join(loc), msg, _find_line(lines, loc))
                                              for loc, msg in bad])
    return LoadedScenario(sc, plant, path)


def load_scenario(name_or_path: str | Path, plant: Plant | None = None) -> LoadedScenario:
    """Read, validate and resolve a scenario (library name or file path) with its plant
    (``plant``: the loaded plant to check it against, default: the one the file names).

    Raises :class:`ScenarioValidationError` listing every problem (file, field, line)."""
    path = scenario_path(name_or_path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ScenarioValidationError(path, [ScenarioIssue(file, "(file)", f"cannot read: {err}")]) from err
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise ScenarioValidationError(path, [ScenarioIssue(file, "(yaml)", f"not valid YAML: {err}",
                                                           mark.line + 1 if mark else None)]) from err
    if not isinstance(doc, dict):
        raise ScenarioValidationError(path, [ScenarioIssue(file, "(root)", "a scenario file must be a YAML mapping")])
    return check_scenario(doc, plant, source=file, path=path, lines=_line_index(text))


def validate_scenario(name_or_path: str | Path) -> list[ScenarioIssue]:
    """Every issue of a scenario (empty list: valid)."""
    try:
        load_scenario(name_or_path)
    except ScenarioValidationError as err:
        return err.issues
    except FileNotFoundError as err:
        return [ScenarioIssue(str(name_or_path), "(file)", str(err))]
    return []
