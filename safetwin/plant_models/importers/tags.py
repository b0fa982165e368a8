"""Detector and tag lists (CSV or XLSX, as a DCS/GDS exports them) → the plant's sensors.

One detector per row; the mapping names which column is which field (``Tag → id``, ``AL1 →
warning`` …) and may translate values (``{"type": {"Cat. LEL": "flammable_gas"}}``). Common
spellings of types and units are understood without a translation (``LEL%``, ``可燃气体``).
Every bad row is reported by row number (as the spreadsheet shows it) and column (header and,
for XLSX, letter), and left out; the good rows import. The rules:

* a tag is required and unique (a repeated tag is rejected, the first row keeps it);
* the type is known; gas detectors name a gas the substance table knows (any alias);
* the unit is known; numbers are numbers; alarm levels rise (warning ≤ high ≤ high-high) and lie
  within the range;
* the position is ``x``/``y`` (plant frame or ``position_crs``), or the equipment the detector sits
  at (its centre), or the detector's block in the drawing; it lies inside the site;
* a named area exists.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "gds.csv"
>>> _ = path.write_text("Tag,Type,Gas,Unit,AL1,AL2,AL3,X,Y\\n"
...                     "GD-1,toxic,H2S,ppm,10,15,30,5,5\\n"
...                     "GD-2,toxic,H2X,ppm,10,15,30,5,5\\n")
>>> from safetwin.plant_models.importers.mapping import TagListSource
>>> src = TagListSource(type="tags", file=str(path), columns={"Tag": "id", "Type": "type", "Gas": "gas",
...     "Unit": "unit", "AL1": "warning", "AL2": "high", "AL3": "high_high", "X": "x", "Y": "y"})
>>> from shapely.geometry import box
>>> res = read_tag_list(src, base_dir=path.parent, site=box(0, 0, 10, 10))
>>> [s["id"] for s in res.sensors], [(e.feature, e.field) for e in res.errors]
(['GD-1'], [('row 3', 'Gas')])
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from safetwin.plant_models.loader import BOUNDARY_TOLERANCE_M, GAS_SENSORS
from safetwin.plant_models.schema import Sensor, SensorType
from safetwin.substances import UnknownSubstance, canonical_name, is_oxygen

from .features import SourceResult
from .frame import PlantFrame
from .mapping import TagListSource
from .targets import sensor_record

FIELDS = ("id", "type", "gas", "unit", "range_min", "range_max", "warning", "high", "high_high", "x", "y",
          "height_m", "equipment", "area_id", "period_s", "measures", "calibration_due")
NUMBERS = ("range_min", "range_max", "warning", "high", "high_high", "x", "y", "height_m", "period_s")
LEVELS = ("warning", "high", "high_high")
#: spellings of sensor types in GDS/DCS exports (lower case) → SensorType
TYPE_ALIASES = {
    "flammable": "flammable_gas", "combustible": "flammable_gas", "lel": "flammable_gas", "catalytic": "flammable_gas",
    "ir": "flammable_gas", "hc": "flammable_gas", "可燃": "flammable_gas", "可燃气体": "flammable_gas",
    "toxic": "toxic_gas", "有毒": "toxic_gas", "有毒气体": "toxic_gas", "o2": "oxygen", "氧气": "oxygen",
    "火焰": "flame", "感烟": "smoke", "感温": "heat", "met": "weather", "气象": "weather",
}
#: spellings of units → the plant format's units
UNIT_ALIASES = {"%lel": "%LEL", "lel%": "%LEL", "lel": "%LEL", "% lel": "%LEL", "ppm": "ppm", "%vol": "%vol",
                "vol%": "%vol", "% vol": "%vol", "%v/v": "%vol", "mg/m3": "mg/m3", "mg/m³": "mg/m3", "degc": "degC",
                "°c": "degC", "kw/m2": "kW/m2", "binary": "binary", "met": "met"}
UNITS = ("ppm", "%LEL", "%vol", "mg/m3", "degC", "kW/m2", "binary", "met")


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _rows(path: Path, source: TagListSource) -> tuple[list[str], list[tuple[int, list[Any]]], bool]:
    """(header cells, [(row number, cells)], is a spreadsheet) of a CSV or XLSX file."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        sheet = book[source.sheet] if source.sheet else book.worksheets[0]
        rows = [(n, list(r)) for n, r in enumerate(sheet.iter_rows(values_only=True), start=1)]
        book.close()
        xlsx = True
    else:
        text = path.read_text(encoding=source.encoding)
        dialect = csv.Sniffer().sniff(text.splitlines()[source.header_row - 1] if text else ",", delimiters=",;\t")
        rows = [(n, r) for n, r in enumerate(csv.reader(text.splitlines(), dialect), start=1)]
        xlsx = False
    header = next((r for n, r in rows if n == source.header_row), [])
    return [str(h).strip() if h is not None else "" for h in header], [(n, r) for n, r in rows if n > source.header_row], xlsx


@dataclass
class _Context:
    site: BaseGeometry | None
    equipment: dict[str, BaseGeometry]
    areas: set[str] | None
    drawn: dict[str, dict[str, Any]]
    plant: PlantFrame | None
    position_crs: str


def read_tag_list(source: TagListSource, *, base_dir: Path, site: BaseGeometry | None = None,
                  equipment: dict[str, BaseGeometry] | None = None, areas: set[str] | None = None,
                  drawn: dict[str, dict[str, Any]] | None = None, plant: PlantFrame | None = None) -> SourceResult:
    """The good rows of a tag list as sensor records (``result.sensors``); each bad row in ``result.errors``.

    ``site`` (plant frame) bounds positions; ``equipment`` (id → geometry) places detectors given by
    the equipment they sit at; ``drawn`` (id → sensor properties with ``position``) are the
    detectors of a drawing, which give positions rows leave out.
    """
    path = Path(base_dir) / source.file
    result = SourceResult(path.name)
    try:
        header, rows, xlsx = _rows(path, source)
    except Exception as exc:  # unreadable file, unknown sheet: reported, the other sources still import
        result.error("-", "-", f"cannot read tag list: {exc}")
        return result
    lookup = {h.lower(): k for k, h in enumerate(header)}
    columns: dict[str, int] = {}
    for head, fieldname in source.columns.items():
        if fieldname not in FIELDS:
            result.error("mapping", head, f"unknown sensor field {fieldname!r}; known: {', '.join(FIELDS)}")
        elif head.strip().lower() not in lookup:
            result.error(f"row {source.header_row}", head, f"no column {head!r} in the header {header}")
        else:
            columns[fieldname] = lookup[head.strip().lower()]
    names = {f: header[k] + (f" ({_column_letter(k)})" if xlsx else "") for f, k in columns.items()}
    for k, head in enumerate(header):
        if head and k not in columns.values():
            filled = sum(1 for _, r in rows if k < len(r) and r[k] not in (None, ""))
            if filled:
                result.not_mapped(f"column {head}", head, f"column {head!r} maps to no sensor field ({filled} values)")
    if result.errors:
        return result
    ctx = _Context(site, equipment or {}, areas, drawn or {}, plant, source.position_crs)
    first_row: dict[str, int] = {}
    for number, cells in rows:
        if all(c in (None, "") or str(c).strip() == "" for c in cells):
            continue
        raw = {f: cells[k] for f, k in columns.items() if k < len(cells) and cells[k] not in (None, "")
               and str(cells[k]).strip() != ""}
        record, problems = _row_record(raw, source, ctx)
        tag = record.get("id")
        if tag and tag in first_row:
            problems.append(("id", f"duplicate tag {tag!r} (first in row {first_row[tag]})"))
        if not problems:
            try:
                record = Sensor.model_validate(sensor_record(record)).model_dump(mode="json", exclude_none=True)
            except ValidationError as err:
                problems += [(str(e["loc"][-1]) if e["loc"] else "id", e["msg"]) for e in err.errors()]
        for fieldname, message in problems:
            column = names.get(fieldname) or names.get(_COLUMN_OF.get(fieldname, ""), fieldname)
            result.error(f"row {number}", column, (f"tag {tag}: " if tag else "") + message)
        if problems:
            continue
        first_row.setdefault(tag, number)
        result.sensors.append(record)
    return result


#: sensor-model fields → the tag-list field whose column a problem is reported in
_COLUMN_OF = {"alarm": "warning", "position": "x"}


def _number(value: Any) -> float:
    return float(str(value).replace(",", ".").strip()) if not isinstance(value, (int, float)) else float(value)


def _row_record(raw: dict[str, Any], source: TagListSource, ctx: _Context) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A row as sensor properties, and its problems as (field, message)."""
    problems: list[tuple[str, str]] = []
    rec: dict[str, Any] = {}
    for f, value in raw.items():
        value = str(value).strip() if not isinstance(value, (int, float)) else value
        value = {k.lower(): v for k, v in source.values.get(f, {}).items()}.get(str(value).lower(), value)
        if f in NUMBERS:
            try:
                rec[f] = _number(value)
            except ValueError:
                problems.append((f, f"{value!r} is not a number"))
        else:
            rec[f] = str(value)
    if "id" not in rec:
        problems.append(("id", "no tag"))
    if "type" in rec:
        stype = TYPE_ALIASES.get(rec["type"].lower(), rec["type"].lower().replace(" ", "_"))
        if stype not in SensorType.__members__:
            problems.append(("type", f"unknown type {rec['type']!r}; known: {', '.join(SensorType.__members__)}"))
        rec["type"] = stype
    if "unit" in rec:
        unit = UNIT_ALIASES.get(rec["unit"].lower().replace(" ", ""), rec["unit"])
        if unit not in UNITS:
            problems.append(("unit", f"unknown unit {rec['unit']!r}; known: {', '.join(UNITS)}"))
        rec["unit"] = unit
    problems += _gas_problems(rec)
    problems += _level_problems(rec)
    problems += _place(rec, ctx)
    if ctx.areas is not None and rec.get("area_id") and rec["area_id"] not in ctx.areas:
        problems.append(("area_id", f"unknown area {rec['area_id']!r}"))
    rec.pop("equipment", None)
    return rec, problems


def _gas_problems(rec: dict[str, Any]) -> list[tuple[str, str]]:
    gas = rec.get("gas")
    if gas is None:
        if rec.get("type") in {t.value for t in GAS_SENSORS}:
            return [("gas", f"a {rec['type']} detector must name its gas")]
        return []
    if is_oxygen(gas):
        return []
    try:
        canonical_name(gas)
    except UnknownSubstance as exc:
        return [("gas", f"unknown gas: {exc.args[0]}")]
    return []


def _level_problems(rec: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    given = [f for f in LEVELS if isinstance(rec.get(f), float)]
    for lower, upper in zip(given, given[1:]):
        if rec[lower] > rec[upper]:
            out.append((upper, f"alarm levels out of order: {lower} {rec[lower]:g} > {upper} {rec[upper]:g}"))
    top = rec.get("range_max")
    for f in given:
        if isinstance(top, float) and rec[f] > top:
            out.append((f, f"alarm level {f} {rec[f]:g} above the range ({top:g})"))
    return out


def _place(rec: dict[str, Any], ctx: _Context) -> list[tuple[str, str]]:
    """Set ``position`` from x/y, the equipment or the drawing; the problems if it cannot be or lies outside."""
    x, y = rec.pop("x", None), rec.pop("y", None)
    equipment = rec.get("equipment")
    if isinstance(x, float) and isinstance(y, float):
        if ctx.position_crs != "local":
            if ctx.plant is None:
                return [("x", "x/y in a CRS need the plant's crs and origin")]
            x, y = ctx.plant.from_crs([Point(x, y)], ctx.position_crs)[0].coords[0]
        position, where = (x, y), "x"
    elif equipment is not None:
        geom = ctx.equipment.get(equipment)
        if geom is None:
            return [("equipment", f"unknown equipment {equipment!r}")]
        c = geom.centroid
        position, where = (c.x, c.y), "equipment"
    elif rec.get("id") in ctx.drawn:
        position, where = tuple(ctx.drawn[rec["id"]]["position"]), "id"
        for k, v in ctx.drawn[rec["id"]].items():
            rec.setdefault(k, v)
    else:
        return [("x", "no position: give x/y, the equipment it sits at, or draw it")] if "id" in rec else []
    rec["position"] = (round(float(position[0]), 3), round(float(position[1]), 3))
    if ctx.site is not None and not ctx.site.buffer(BOUNDARY_TOLERANCE_M).contains(Point(position)):
        return [(where, f"position ({position[0]:.1f}, {position[1]:.1f}) m lies outside the site boundary")]
    return []
