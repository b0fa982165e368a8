"""Build the wheel, install it in a clean virtual environment, and run the bundled demo plant from
outside the repository; measure the install size.

Run:  .venv/bin/python tools/package_check.py [--full] [--keep DIR]

1. ``pip wheel --no-deps`` builds ``safetwin-*.whl`` from this checkout;
2. a new venv (``python -m venv``, no system site-packages) gets the wheel and its core
   dependencies (no extras) from the package index;
3. from an empty folder outside the repository, with a clean environment (no PYTHONPATH):
   ``safetwin plant validate demo_plant``, ``safetwin consequence zones`` at the chlorine store,
   a short chlorine release with evacuation through the façade (``import safetwin as st``), an
   import of every module outside ``safetwin.ui`` (a module-level import of an extra's package
   fails here), the errors that name the missing extra (cluster, ui), and ``safetwin demo`` serving
   the API without the web UI for 5 s;
4. prints the size of the venv's site-packages; ``--full`` installs ``[all]`` into a second venv
   and prints its size too.

``tests/test_packaging.py`` runs steps 1-3 (no ``--full``) as part of the suite.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: packages of the extras that the core install must not need
EXTRA_PACKAGES = ("vtk", "pyvista", "panel", "bokeh", "dask", "distributed", "psycopg")

FACADE_RUN = """
import json, safetwin as st
plant = st.load_plant("demo_plant")
run = st.run_scenario(st.Scenario(
    name="cl2", plant="demo_plant", time_of_day="14:30",
    events=[st.Release(equipment="DS-701", rate_kg_s=0.5, duration_s=120)],
    weather=st.Weather(wind_speed_m_s=2.0, wind_from_deg=270, stability="F"),
    population=st.Population(limit=10), simulation=st.Simulation(duration_s=120)), plant=plant)
print(json.dumps({"alarm_s": run.metrics["alarm_s"], "people": len(run.people),
                  "dose_column": "dose_chlorine_mg_min_m3" in run.people.columns,
                  "plant_path": str(plant.path)}))
"""

IMPORT_ALL = """
import importlib, pkgutil, sys, safetwin
failed = []
for m in pkgutil.walk_packages(safetwin.__path__, "safetwin."):
    if m.name.startswith("safetwin.ui") or m.name.endswith("__main__"):
        continue
    try:
        importlib.import_module(m.name)
    except Exception as exc:
        failed.append(f"{m.name}: {type(exc).__name__}: {exc}")
print("\\n".join(failed))
"""

MISSING_EXTRA = """
from safetwin.emergency_planner.qra.executor import local_cluster
try:
    local_cluster()
except ImportError as exc:
    print(exc)
"""


def run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout_s: float = 1800.0,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; on failure (with ``check``) raise with its output."""
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def build_wheel(out_dir: Path) -> Path:
    """Build the project's wheel (no dependencies) into ``out_dir``, from a copy of the working tree
    (a build writes ``build/`` and ``*.egg-info`` next to the sources; the checkout stays clean)."""
    source = out_dir / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "var", "build", "*.egg-info", "__pycache__", ".pytest_cache", "out"))
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out_dir), str(source)], cwd=out_dir,
        env=clean_env())
    shutil.rmtree(source, ignore_errors=True)
    (wheel,) = out_dir.glob("safetwin-*.whl")
    return wheel


def make_venv(venv: Path, wheel: Path, extras: str = "") -> Path:
    """A fresh venv (no system site-packages) with ``wheel`` and its dependencies (and ``extras``)
    installed from the package index; returns its python."""
    base = getattr(sys, "_base_executable", sys.executable)
    run([base, "-m", "venv", str(venv)], cwd=venv.parent, env=clean_env())
    python = venv / "bin" / "python"
    spec = f"{wheel}[{extras}]" if extras else str(wheel)
    # a clean environment: with this checkout on PYTHONPATH pip would take safetwin as installed
    run([str(python), "-m", "pip", "install", "-q", spec], cwd=venv.parent, env=clean_env())
    if not (venv / "bin" / "safetwin").exists():
        raise RuntimeError(f"pip installed no safetwin command into {venv}")
    return python


def site_packages_mb(venv: Path) -> float:
    """Size of the venv's site-packages, MB (files as stored, 1 MB = 2^20 bytes)."""
    (site,) = (venv / "lib").glob("python3*/site-packages")
    total = sum(f.stat().st_size for f in site.rglob("*") if f.is_file() and not f.is_symlink())
    return total / 2**20


def clean_env() -> dict[str, str]:
    """The environment a user has: no PYTHONPATH, no virtualenv of this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["SAFETWIN_DATA_DIR"] = "var"   # relative to the working folder outside the repository
    return env


def smoke(venv: Path, workdir: Path) -> dict[str, object]:
    """Run the bundled demo plant from ``workdir`` with the venv's ``safetwin``; returns what was seen.
    Raises RuntimeError naming the step that failed."""
    python, cli = venv / "bin" / "python", venv / "bin" / "safetwin"
    env = clean_env()
    seen: dict[str, object] = {}
    missing = run([str(python), "-c", "import importlib.util as u, sys; "
                   f"print([m for m in {EXTRA_PACKAGES!r} if u.find_spec(m)])"], cwd=workdir, env=env)
    seen["extra_packages_installed"] = missing.stdout.strip()
    validate = run([str(cli), "plant", "validate", "demo_plant"], cwd=workdir, env=env)
    seen["validate"] = validate.stdout.strip()
    out = workdir / "cl2.geojson"
    run([str(cli), "consequence", "zones", "demo_plant", "-e", "DS-701", "--wind-speed", "2", "--stability", "F",
         "-o", str(out)], cwd=workdir, env=env)
    zones = json.loads(out.read_text(encoding="utf-8"))
    seen["zone_levels"] = [f["properties"]["level"] for f in zones["features"]]
    facade = run([str(python), "-c", FACADE_RUN], cwd=workdir, env=env)
    seen["facade"] = json.loads(facade.stdout.strip().splitlines()[-1])
    imports = run([str(python), "-c", IMPORT_ALL], cwd=workdir, env=env)
    seen["import_failures"] = [line for line in imports.stdout.splitlines() if line.strip()]
    cluster = run([str(python), "-c", MISSING_EXTRA], cwd=workdir, env=env)
    seen["cluster_error"] = cluster.stdout.strip()
    report = run([str(cli), "plant", "check", "demo_plant", "--html", str(workdir / "check.html")], cwd=workdir,
                 env=env, check=False)
    seen["plant_check_report_error"] = (report.stdout + report.stderr).strip().splitlines()[-1:]
    demo = run([str(cli), "demo", "--no-live", "--duration", "5", "--port", str(free_port())], cwd=workdir, env=env,
               timeout_s=300.0)
    seen["demo_ui_line"] = [line for line in demo.stdout.splitlines() if line.startswith("web UI")]
    return seen


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also install [all] and measure it")
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="safetwin-package-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    try:
        t0 = time.perf_counter()
        wheel = build_wheel(root)
        print(f"wheel: {wheel.name} ({wheel.stat().st_size / 2**10:.0f} KiB) in {time.perf_counter() - t0:.0f} s")
        t0 = time.perf_counter()
        make_venv(root / "core", wheel)
        print(f"core install: {site_packages_mb(root / 'core'):.0f} MB site-packages "
              f"(installed in {time.perf_counter() - t0:.0f} s)")
        work = root / "outside"
        work.mkdir(exist_ok=True)
        for key, value in smoke(root / "core", work).items():
            print(f"  {key}: {value}")
        if args.full:
            t0 = time.perf_counter()
            make_venv(root / "full", wheel, "all")
            print(f"full install [all]: {site_packages_mb(root / 'full'):.0f} MB site-packages "
                  f"(installed in {time.perf_counter() - t0:.0f} s)")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
