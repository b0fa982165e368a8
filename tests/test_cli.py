"""The ``safetwin`` command: plant validate / info / export, and the demo job."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import yaml
from typer.testing import CliRunner
from waiting import wait_until

from safetwin.app.cli import app
from safetwin.plant_models.loader import bundled_plant_path

runner = CliRunner()


def test_validate_ok_and_info_json():
    r = runner.invoke(app, ["plant", "validate", str(bundled_plant_path("small_plant"))])
    assert r.exit_code == 0 and r.output.startswith("OK")
    r = runner.invoke(app, ["plant", "info", str(bundled_plant_path("small_plant")), "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["shifts"] == {"day": 20, "night": 5}


def test_validate_reports_errors_and_exits_non_zero(tmp_path):
    folder = tmp_path / "p"
    shutil.copytree(bundled_plant_path("small_plant"), folder)
    meta = yaml.safe_load((folder / "plant.yaml").read_text())
    meta["sensors"][1]["type"] = "unknown_kind"
    (folder / "plant.yaml").write_text(yaml.safe_dump(meta))
    r = runner.invoke(app, ["plant", "validate", str(folder)])
    assert r.exit_code == 1
    assert "plant.yaml: feature 'GD-02'" in r.output


def test_export_writes_files(tmp_path):
    r = runner.invoke(app, ["plant", "export", str(bundled_plant_path("small_plant")),
                            "--gpkg", str(tmp_path / "p.gpkg"), "--geojson", str(tmp_path / "gj")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "p.gpkg").stat().st_size > 0 and len(list((tmp_path / "gj").glob("*.geojson"))) >= 8


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_demo_serves_health_and_plant(tmp_path):
    """`safetwin demo` (what `make demo` runs) loads the plant, prints what it serves and answers."""
    port = _free_port()
    env = dict(os.environ, SAFETWIN_DATA_DIR=str(tmp_path), SAFETWIN_API_TOKEN="t0k3n", SAFETWIN_DB_URL="")
    env.pop("SAFETWIN_DB_URL")
    proc = subprocess.Popen([sys.executable, "-m", "safetwin", "demo", "--port", str(port), "--duration", "600", "--site", "clitest"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.time() + 300
        while time.time() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if line.startswith("live incident mode") or not line:   # printed just before the server starts
                break
        out = "".join(lines)
        assert "/health" in out and "/plant" in out, out
        def health():
            try:
                return json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5))["status"] == "ok"
            except OSError:
                return False

        assert wait_until(health, timeout=180, step=0.2), "".join(lines)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/plant", headers={"Authorization": "Bearer t0k3n"})
        plant = json.load(urllib.request.urlopen(req, timeout=5))
        assert plant["id"] == "demo_plant"
        # the simulated plant publishes over the real broker; the bridge mirrors it into the twin
        def get(path):
            req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": "Bearer t0k3n"})
            return json.load(urllib.request.urlopen(req, timeout=5))

        seen = {}

        def mirrored():
            seen.update(people=sum(get("/state/occupancy").values()), readings=len(get("/state/readings")))
            return seen["people"] >= 250 and seen["readings"] >= 40

        assert wait_until(mirrored, timeout=180, step=0.2), seen
        login = urllib.request.urlopen(f"http://127.0.0.1:{port}/ui/login", timeout=5)
        assert login.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_exit_codes_and_messages_people_can_act_on(tmp_path):
    """A wrong plant path is named plainly, a misspelt id gets the closest ids, wrong input exits 1,
    a wrong command line 2 (ExitCode)."""
    from safetwin.app.cli.common import ExitCode

    r = runner.invoke(app, ["consequence", "zones", str(tmp_path / "nowhere"), "-e", "DS-701", "-o", str(tmp_path / "z")])
    assert r.exit_code == ExitCode.INVALID and "no such folder" in r.output and "feature '-'" not in r.output, r.output
    r = runner.invoke(app, ["consequence", "zones", "demo_plant", "-e", "DS-710", "-o", str(tmp_path / "z")])
    assert r.exit_code == ExitCode.INVALID and "closest: 'DS-701'" in r.output, r.output
    r = runner.invoke(app, ["scenario", "run", "chlorine_drum_leak_wind_shit", "--out", str(tmp_path)])
    assert r.exit_code == ExitCode.INVALID and "closest: 'chlorine_drum_leak_wind_shift'" in r.output, r.output
    r = runner.invoke(app, ["plant", "export", "demo_plant"])
    assert r.exit_code == ExitCode.USAGE, r.output


def test_scenario_run_shows_progress_inside_the_evacuation(tmp_path):
    """`scenario run` draws a progress bar while the agents evacuate (people safe of all, simulated
    time), in the style of `qra run`, on stderr; the result stays on stdout."""
    from safetwin.scenarios.loader import scenario_path

    doc = yaml.safe_load(scenario_path("h2s_confined_space").read_text(encoding="utf-8"))
    doc["population"]["limit"] = 40            # a short run: 40 people of the day shift for 150 s
    doc["simulation"].update(duration_s=150, evacuation_max_s=150, evacuation_dt_s=0.5)
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    r = runner.invoke(app, ["scenario", "run", str(path), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    bars = [part for part in r.stderr.replace("\n", "\r").split("\r") if part.startswith(("[#", "[."))]
    assert len(bars) >= 2, r.stderr                      # told more than once during the stage
    counts = [int(b.split("] ")[1].split("/")[0]) for b in bars]
    assert all(b.split("] ")[1].split()[0].endswith("/40") for b in bars), bars
    assert counts == sorted(counts) and counts[-1] > 0   # people reach safety as the run goes on
    assert "simulated" in bars[-1] and "evacuation" in r.stderr
    stages = r.stderr.index("simulating the evacuation"), r.stderr.index("measuring")
    assert stages[0] < r.stderr.index(bars[0]) < stages[1]   # the bar belongs to the evacuation stage
    summary = json.loads(r.stdout[r.stdout.index("{"):r.stdout.index("}") + 1])
    assert summary["people"] == 40
