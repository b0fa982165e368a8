"""Detector tag lists (CSV and XLSX): every planted error is reported by row and column, the good
rows import; a re-import shows the added, removed and changed detectors before it applies them."""
from __future__ import annotations

import copy

import pytest

from importing.site_files import tag_rows, tags_source, write_spec, write_tag_csv, write_tag_xlsx
from safetwin.plant_models.importers import import_plant
from safetwin.plant_models.loader import bundled_plant_path, load_plant


def _planted(plant) -> tuple[list[dict], dict[tuple[int, str], str]]:
    """Rows with four planted errors, and the (row, column) each must be reported at (CSV numbering)."""
    rows = tag_rows(plant, positions=True)
    index = {r["Tag"]: k for k, r in enumerate(rows)}
    rows[index["GD-TF-101"]]["Gas"] = "gasolene"                       # unknown gas
    rows[index["GD-CL-01"]]["AL1"], rows[index["GD-CL-01"]]["AL2"] = 2.0, 1.0   # levels out of order
    rows.append(copy.deepcopy(rows[index["GD-NH-01"]]))                 # duplicate tag
    rows[index["GD-LB-01"]]["X"] = 1200.0                              # outside the 900 m x 600 m site
    csv_row = {tag: k + 2 for tag, k in index.items()}                 # header is row 1
    expected = {(csv_row["GD-TF-101"], "Gas"): "unknown gas", (csv_row["GD-CL-01"], "AL2"): "out of order",
                (len(rows) + 1, "Tag"): "duplicate tag", (csv_row["GD-LB-01"], "X"): "outside the site"}
    return rows, expected


def _import(folder, plant, source, out="plant", apply=False):
    spec = write_spec(folder / "import.yaml", plant, [source], base_plant=str(bundled_plant_path("demo_plant")))
    return import_plant(spec, folder / out, apply=apply)


def test_csv_planted_errors_reported_by_row_and_column(tmp_path, demo_plant):
    rows, expected = _planted(demo_plant)
    write_tag_csv(rows, tmp_path / "gds.csv")
    outcome = _import(tmp_path, demo_plant, tags_source("gds.csv"))
    got = {(int(e.feature.split()[1]), e.field): e.message for e in outcome.errors}
    assert set(got) == set(expected), outcome.summary_lines()
    for where, words in expected.items():
        assert words in got[where], (where, got[where])
    assert "did you mean 'gasoline'" in got[next(k for k in expected if expected[k] == "unknown gas")]
    # the good rows imported; the bad ones (not the first GD-NH-01) did not
    assert outcome.replaced and not outcome.validation
    sensors = load_plant(tmp_path / "plant").sensors
    assert len(sensors) == len(demo_plant.sensors) - 3
    assert "GD-NH-01" in sensors and not {"GD-TF-101", "GD-CL-01", "GD-LB-01"} & set(sensors)
    assert sensors["GD-TF-102"] == demo_plant.sensors["GD-TF-102"]


def test_xlsx_reports_spreadsheet_rows_and_column_letters(tmp_path, demo_plant):
    rows, expected = _planted(demo_plant)
    write_tag_xlsx(rows, tmp_path / "gds.xlsx")
    outcome = _import(tmp_path, demo_plant, tags_source("gds.xlsx", sheet="GDS", header_row=2))
    got = {(int(e.feature.split()[1]), e.field) for e in outcome.errors}
    letters = {"Tag": "A", "Gas": "C", "AL2": "H", "X": "M"}   # the XLSX has a title row above the header
    assert got == {(row + 1, f"{col} ({letters[col]})") for row, col in expected}
    assert len(load_plant(tmp_path / "plant").sensors) == len(demo_plant.sensors) - 3


def test_more_row_rules(tmp_path, demo_plant):
    """Non-numbers, unknown units and types, unknown equipment and area: each located, the rest imported."""
    rows = tag_rows(demo_plant, positions=True)[:6]
    rows[0]["AL3"] = "fifty"
    rows[1]["Units"] = "furlongs"
    rows[2]["Service"] = "Psychic"
    rows[3]["X"], rows[3]["Y"], rows[3]["At equipment"] = "", "", "TK-999"
    rows[4]["Area"] = "A-NOWHERE"
    rows[5]["X"], rows[5]["Y"], rows[5]["At equipment"] = "", "", "TK-101"   # placed at the tank: fine
    rows.append({**rows[5], "Tag": "", "Gas": "propane"})                     # no tag
    rows += [r for r in tag_rows(demo_plant, positions=True) if r["Tag"] == "MET-01"]  # the plant's weather station
    write_tag_csv(rows, tmp_path / "gds.csv")
    outcome = _import(tmp_path, demo_plant, tags_source("gds.csv"))
    got = {(int(e.feature.split()[1]), e.field) for e in outcome.errors}
    assert got == {(2, "AL3"), (3, "Units"), (4, "Service"), (5, "At equipment"), (6, "Area"), (8, "Tag")}
    placed = load_plant(tmp_path / "plant").sensors[rows[5]["Tag"]]
    assert placed.position == pytest.approx(demo_plant.equipment["TK-101"].geometry.coords[0])


def test_reimport_shows_changes_before_applying(tmp_path, demo_plant):
    rows = tag_rows(demo_plant, positions=True)
    write_tag_csv(rows, tmp_path / "gds.csv")
    first = _import(tmp_path, demo_plant, tags_source("gds.csv"))
    assert first.replaced and first.diff is None
    before = (tmp_path / "plant" / "plant.yaml").read_bytes()
    # the updated list: one detector gone, one new, one alarm level moved
    rows = [r for r in rows if r["Tag"] != "GD-TF-101"]
    rows.append({**rows[0], "Tag": "GD-NEW-01", "X": 60.0, "Y": 530.0})
    changed = next(r for r in rows if r["Tag"] == "GD-CL-02")
    changed["AL2"] = 1.5
    write_tag_csv(rows, tmp_path / "gds.csv")
    second = _import(tmp_path, demo_plant, tags_source("gds.csv"))
    assert not second.replaced and (tmp_path / "plant" / "plant.yaml").read_bytes() == before
    d = second.diff
    assert d.of("sensors", "added") == ["GD-NEW-01"] and d.of("sensors", "removed") == ["GD-TF-101"]
    assert d.of("sensors", "changed") == ["GD-CL-02"]
    change = next(c for c in d.changes if c.item == "GD-CL-02")
    assert change.fields == {"alarm.high": (1.0, 1.5)}
    assert set(d.counts()) == {"sensors"}                     # nothing else would change
    text = "\n".join(second.summary_lines())
    assert "+ sensors GD-NEW-01" in text and "- sensors GD-TF-101" in text and "alarm.high: 1.0 → 1.5" in text
    third = _import(tmp_path, demo_plant, tags_source("gds.csv"), apply=True)
    assert third.replaced and (tmp_path / "plant.previous" / "plant.yaml").read_bytes() == before
    assert "GD-NEW-01" in load_plant(tmp_path / "plant").sensors
