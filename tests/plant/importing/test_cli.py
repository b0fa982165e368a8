"""The commands: ``safetwin plant import`` writes, re-runs show "unchanged", a bad mapping exits 2;
``safetwin plant check`` lists the findings and writes an offline HTML report and a PNG map."""
from __future__ import annotations

import re

from typer.testing import CliRunner

from planted_plant import PLANTED, write_planted_plant
from safetwin.app.cli import app


def test_plant_import_command(dxf_site, tmp_path):
    folder, _ = dxf_site
    runner = CliRunner()
    out = tmp_path / "site"
    r = runner.invoke(app, ["plant", "import", str(folder / "import.yaml"), str(out)])
    assert r.exit_code == 0, r.output
    assert "written to" in r.output and "not mapped: 2" in r.output and (out / "plant.yaml").is_file()
    assert (out / "import-report.json").is_file()
    r = runner.invoke(app, ["plant", "import", str(folder / "import.yaml"), str(out)])
    assert r.exit_code == 0 and "changes against the existing plant: none" in r.output and "unchanged" in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [{type: dxf}]\n")
    r = runner.invoke(app, ["plant", "import", str(bad), str(tmp_path / "x")])
    assert r.exit_code == 1 and "sources.0.dxf.file" in r.output


def test_plant_check_command_writes_reports(tmp_path):
    plant = write_planted_plant(tmp_path / "planted")
    html, png = tmp_path / "check.html", tmp_path / "check.png"
    r = CliRunner().invoke(app, ["plant", "check", str(plant), "--html", str(html), "--png", str(png)])
    assert r.exit_code == 1, r.output            # errors to fix
    for items in PLANTED.values():
        for item in items:
            assert item in r.output
    text = html.read_text(encoding="utf-8")
    assert all(f'data-item="{item}"' in text for items in PLANTED.values() for item in items)
    assert not re.search(r"""<(script|link)[^>]+(src|href)=["']https?://""", text), "the report loads from the internet"
    import numpy as np
    from PIL import Image

    img = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3)
    assert len(img) >= 1000 * 700 and len(np.unique(img, axis=0)) > 50
