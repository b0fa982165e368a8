"""Plant import and plant check on the demo plant: how long a user waits for ``safetwin plant import``
(DXF site plan + tag list, GeoPackage export) and ``safetwin plant check``.

Run:  .venv/bin/python benchmarks/bench_plant_import.py [--repeat N]

Floor: loading and validating the same plant folder with the plant loader (``load_plant``), which
every import ends with; the import figures are printed as a ratio to it. Best of ``--repeat`` runs;
the machine's load is printed beside the figures.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "plant"))

from importing.site_files import (  # noqa: E402  (the tests' site-file writers)
    dxf_source, tag_rows, tags_source, write_dxf, write_metadata, write_spec, write_tag_csv,
)
from safetwin.emergency_planner.plant_check import _reach, check_plant  # noqa: E402
from safetwin.plant_models.export import write_geopackage  # noqa: E402
from safetwin.plant_models.importers import ImportSpec, import_plant  # noqa: E402
from safetwin.plant_models.loader import bundled_plant_path, load_plant  # noqa: E402


def best_s(run, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    plant = load_plant("demo_plant")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_dxf(plant, folder / "site.dxf")
        write_tag_csv(tag_rows(plant), folder / "gds.csv")
        write_metadata(plant, folder / "meta.yaml")
        spec = write_spec(folder / "import.yaml", plant, [dxf_source(plant), tags_source("gds.csv")],
                          metadata="meta.yaml")
        write_geopackage(plant, folder / "export.gpkg")
        gpkg = ImportSpec.model_validate({"sources": [{"type": "gis", "file": "export.gpkg"}]})
        floor = best_s(lambda: load_plant(bundled_plant_path("demo_plant")), args.repeat)
        runs = {
            "DXF + tag list import (new folder)": lambda: import_plant(spec, folder / f"p{time.perf_counter_ns()}"),
            "GeoPackage export import (new folder)": lambda: import_plant(gpkg, folder / f"g{time.perf_counter_ns()}",
                                                                         base_dir=folder),
        }
        print(f"floor load_plant(demo): {floor * 1e3:.0f} ms")
        for name, run in runs.items():
            t = best_s(run, args.repeat)
            print(f"{name}: {t * 1e3:.0f} ms  ({t / floor:.1f}x floor)")
        t = best_s(lambda: (_reach.cache_clear(), check_plant(plant)), args.repeat)  # reach table not cached
        print(f"plant check (reachability + detector reach, {len(plant.meta.sensors)} sensors, "
              f"{len(plant.meta.inventories)} inventories): {t * 1e3:.0f} ms  ({t / floor:.1f}x floor)")
    print(f"load {os.getloadavg()[0]:.2f} after the run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
