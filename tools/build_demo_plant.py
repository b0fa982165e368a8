"""Generate the SafeTwin demo plant, ``plant_models/demo_plant``.

The demo plant is a fictional chemical site of 900 m x 600 m in the Nanjing Jiangbei New
Materials Science Park (chemical park on the north bank of the Yangtze), georeferenced in
WGS 84 / UTM zone 50N (EPSG:32650). It has a tank farm, LPG spheres, a chlorine drum store, an
ammonia refrigeration unit, three process units, offices and workshops, a fire station,
gas detectors, hydrants, muster points and day/night shifts.

The layout is written out top to bottom below, in the local plant frame (x east, y north, metres
from the site's south-west corner). Derived things -- walkways from every building to the
nearest road, hydrants along the roads, the area of each item, fence gaps at the gates -- are
computed, then the whole plant is checked (inside the boundary, no overlaps, roads clear of
buildings and tanks, one connected road/walkway network, bund capacities, tank spacing) before
the files are written.

Run::

    .venv/bin/python tools/build_demo_plant.py            # writes safetwin/plant_models/demo_plant
    .venv/bin/python tools/build_demo_plant.py --png /tmp/demo_plant.png

Everything in ``demo_plant/`` except what this script writes is left alone; do not edit the
generated files by hand, change this script and run it again.
"""
from __future__ import annotations

import argparse
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
import yaml
from shapely.geometry import LineString, Point, Polygon, box, mapping
from shapely.ops import nearest_points, substring

PLANT_DIR = Path(__file__).resolve().parent.parent / "safetwin" / "plant_models" / "demo_plant"
SCRIPT = "python tools/build_demo_plant.py"

# ----------------------------------------------------------------------------- site

SITE_W, SITE_H = 900.0, 600.0
CRS = "EPSG:32650"  # WGS 84 / UTM zone 50N
#: UTM coordinates of the local (0, 0): the site's south-west corner, about 118.82 E, 32.26 N,
#: in the Nanjing Jiangbei New Materials Science Park (Liuhe district, north bank of the Yangtze).
ORIGIN = (671_600.0, 3_570_400.0)
BOUNDARY = box(0, 0, SITE_W, SITE_H)

# Substance properties used for inventories (liquid density at storage, kg/m3).
DENSITY = {"gasoline": 740.0, "hexane": 660.0, "diesel": 840.0, "propane": 500.0}
TANK_FILL = 0.85  # working fill fraction of atmospheric tanks and spheres

# Alarm set-points per detector type (warning <= high <= high_high), in the detector unit.
# Flammable: pre-alarm 10 %LEL, AL1 25 %LEL, AL2 50 %LEL (GB/T 50493-2019 AL1 <= 25 %, AL2 <= 50 % LEL).
# Toxic: warning at the 8-h TWA, high at the STEL, high_high at twice the STEL (ppm).
ALARMS = {
    "flammable": {"warning": 10.0, "high": 25.0, "high_high": 50.0},
    "chlorine": {"warning": 0.5, "high": 1.0, "high_high": 2.0},
    "ammonia": {"warning": 25.0, "high": 35.0, "high_high": 70.0},
    "hydrogen_sulfide": {"warning": 10.0, "high": 15.0, "high_high": 30.0},
    "flame": {"warning": 1.0, "high": 1.0, "high_high": 1.0},
}
RANGES = {"flammable": (0.0, 100.0), "chlorine": (0.0, 10.0), "ammonia": (0.0, 200.0), "hydrogen_sulfide": (0.0, 100.0)}
#: Detector mounting height by gas, m above grade: heavier-than-air vapours low, light gases high.
DETECTOR_HEIGHT = {"gasoline": 0.5, "hexane": 0.5, "diesel": 0.5, "propane": 0.3, "chlorine": 0.3,
                   "hydrogen_sulfide": 0.6, "ammonia": 2.5, "methane": 2.5}


def rect(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return box(x0, y0, x1, y1)


# ----------------------------------------------------------------------------- plant builder


@dataclass
class Site:
    """Features and metadata of the plant being built (local frame, m)."""

    layers: dict[str, list[tuple[dict[str, Any], Any]]] = field(
        default_factory=lambda: {k: [] for k in ("buildings", "equipment", "roads", "fences", "gates", "areas")})
    inventories: list[dict] = field(default_factory=list)
    sensors: list[dict] = field(default_factory=list)
    muster_points: list[dict] = field(default_factory=list)
    assembly_points: list[dict] = field(default_factory=list)
    resources: list[dict] = field(default_factory=list)

    def add(self, layer: str, geom, **props) -> None:
        self.layers[layer].append((props, geom))

    def get(self, layer: str, fid: str):
        for props, geom in self.layers[layer]:
            if props["id"] == fid:
                return props, geom
        raise KeyError(fid)

    def geom(self, layer: str, fid: str):
        return self.get(layer, fid)[1]

    # --- helpers with the defaults a plant engineer would use -------------------------
    def building(self, fid, name, kind, poly, height_m, floors=1, air_changes_per_h=1.0, occupied=True):
        self.add("buildings", poly, id=fid, name=name, kind=kind, height_m=height_m, floors=floors,
                 air_changes_per_h=air_changes_per_h, occupied=occupied)

    def equipment(self, fid, name, kind, geom, height_m, **extra):
        self.add("equipment", geom, id=fid, name=name, kind=kind, height_m=height_m, **extra)

    def road(self, fid, name, coords, width_m=6.0, kind="road", emergency_route=False):
        self.add("roads", LineString(coords), id=fid, name=name, kind=kind, width_m=width_m,
                 emergency_route=emergency_route)

    def inventory(self, equipment_id, substance, mass_kg, phase, temperature_k=298.15, pressure_pa=101_325.0):
        self.inventories.append(dict(equipment_id=equipment_id, substance=substance, mass_kg=round(mass_kg, -1),
                                     phase=phase, temperature_k=temperature_k, pressure_pa=pressure_pa))

    def gas_detector(self, sid, gas, xy, height_m=None):
        flammable = gas not in ("chlorine", "ammonia", "hydrogen_sulfide")
        key = "flammable" if flammable else gas
        lo, hi = RANGES[key]
        self.sensors.append(dict(
            id=sid, type="flammable_gas" if flammable else "toxic_gas", gas=gas,
            unit="%LEL" if flammable else "ppm", position=list(xy),
            height_m=height_m if height_m is not None else DETECTOR_HEIGHT[gas],
            range_min=lo, range_max=hi, alarm=dict(ALARMS[key]), period_s=2.0))

    def flame_detector(self, sid, xy, height_m=4.0):
        self.sensors.append(dict(id=sid, type="flame", unit="binary", position=list(xy), height_m=height_m,
                                 range_min=0.0, range_max=1.0, alarm=dict(ALARMS["flame"]), period_s=1.0))

    def resource(self, rid, kind, xy, count=1, station_id=None, flow_l_min=None):
        r = dict(id=rid, kind=kind, position=list(xy), count=count)
        if station_id:
            r["station_id"] = station_id
        if flow_l_min:
            r["flow_l_min"] = flow_l_min
        self.resources.append(r)


def cylinder_volume(d: float, h: float) -> float:
    return math.pi * d * d / 4.0 * h


def sphere_volume(d: float) -> float:
    return math.pi * d ** 3 / 6.0


# ----------------------------------------------------------------------------- layout


def build() -> tuple[Site, dict]:
    s = Site()

    # ---------------------------------------------------------------- work areas (zones)
    # The areas tile the site along road centrelines, so every point is in exactly one area.
    areas = [
        ("A-TANKFARM", "Tank farm (bunds 100 and 200, tank pumps)", "storage", [(0, 380), (340, 380), (340, 600), (0, 600)]),
        ("A-CL2", "Chlorine drum store and cooling water", "storage", [(0, 250), (340, 250), (340, 380), (0, 380)]),
        ("A-LPG", "LPG sphere area", "storage", [(0, 0), (150, 0), (150, 250), (0, 250)]),
        ("A-LOADING", "Truck loading bay", "logistics", [(150, 0), (340, 0), (340, 250), (150, 250)]),
        ("A-PU1", "Process unit 1: naphtha hydrotreater (sour)", "process", [(340, 250), (475, 250), (475, 480), (340, 480)]),
        ("A-PU2", "Process unit 2: hexane solvent fractionation", "process", [(475, 250), (610, 250), (610, 480), (475, 480)]),
        ("A-PU3", "Process unit 3: gas separation and LPG recovery", "process", [(610, 250), (745, 250), (745, 480), (610, 480)]),
        ("A-REFRIG", "Ammonia refrigeration", "process", [(340, 480), (540, 480), (540, 600), (340, 600)]),
        ("A-NORTHYARD", "North yard (laydown, north muster point)", "other", [(540, 480), (745, 480), (745, 600), (540, 600)]),
        ("A-WORKSHOP", "Workshop, warehouses and contractor centre", "workshop",
         [(340, 0), (745, 0), (745, 130), (530, 130), (530, 250), (340, 250)]),
        ("A-CONTROL", "Central control room and laboratory", "office", [(530, 130), (745, 130), (745, 250), (530, 250)]),
        ("A-ADMIN", "Administration, canteen, fire station, main gate", "office", [(745, 0), (900, 0), (900, 250), (745, 250)]),
        ("A-UTILITIES", "Utilities (substation, boilers, fire water, waste water)", "utilities",
         [(745, 250), (900, 250), (900, 600), (745, 600)]),
    ]
    for aid, name, kind, coords in areas:
        s.add("areas", Polygon(coords), id=aid, name=name, kind=kind, owner="")

    # ---------------------------------------------------------------- roads (centrelines)
    # 7-8 m main roads (ring and spines, all fire routes), 6 m secondary roads.
    s.road("R-RING-S", "Ring road south", [(12, 12), (888, 12)], 7.0, emergency_route=True)
    s.road("R-RING-E", "Ring road east", [(888, 12), (888, 588)], 7.0, emergency_route=True)
    s.road("R-RING-N", "Ring road north", [(888, 588), (12, 588)], 7.0, emergency_route=True)
    s.road("R-RING-W", "Ring road west", [(12, 588), (12, 12)], 7.0, emergency_route=True)
    s.road("R-SPINE-EW", "Central avenue (east-west spine)", [(12, 250), (888, 250)], 8.0, emergency_route=True)
    s.road("R-SPINE-W", "West avenue (storage / process divide)", [(340, 12), (340, 588)], 8.0, emergency_route=True)
    s.road("R-MAIN", "Main gate avenue", [(745, 0), (745, 12), (745, 250), (745, 588)], 8.0, emergency_route=True)
    s.road("R-TF-MID", "Tank farm road between bunds", [(139, 250), (139, 460), (139, 588)], 6.0, emergency_route=True)
    s.road("R-TF-S", "Tank farm south road", [(12, 460), (139, 460), (262, 460), (340, 460)], 6.0, emergency_route=True)
    s.road("R-TF-E", "Tank farm east road", [(262, 460), (262, 588)], 6.0, emergency_route=True)
    s.road("R-LPG", "LPG area road", [(150, 12), (150, 250)], 6.0, emergency_route=True)
    s.road("R-LOAD", "Truck route (service gate to loading bay)", [(250, 0), (250, 12), (250, 250)], 7.0)
    s.road("R-PU12", "Road between units 1 and 2", [(475, 250), (475, 480), (475, 588)], 6.0, emergency_route=True)
    s.road("R-PU23", "Road between units 2 and 3 (to north gate)", [(610, 250), (610, 480), (610, 588), (610, 600)], 6.0,
           emergency_route=True)
    s.road("R-PU-N", "Process north road", [(340, 480), (475, 480), (610, 480), (745, 480)], 6.0, emergency_route=True)
    s.road("R-SOUTH", "South road (workshops, admin)", [(340, 130), (745, 130), (888, 130)], 6.0)
    s.road("R-EAST", "East gate road", [(745, 380), (888, 380), (900, 380)], 6.0, emergency_route=True)

    # ---------------------------------------------------------------- gates and muster points
    gates = [
        ("G-MAIN", "Main gate", "main", (745, 0), 12.0, True),
        ("G-NORTH", "North emergency gate", "emergency", (610, 600), 6.0, True),
        ("G-EAST", "East emergency gate", "emergency", (900, 380), 6.0, True),
        ("G-SERVICE", "Truck gate (loading bay)", "service", (250, 0), 10.0, True),
    ]
    for gid, name, kind, xy, w, veh in gates:
        s.add("gates", Point(xy), id=gid, name=name, kind=kind, width_m=w, vehicles=veh)
    # Three muster points on three sides, each by a gate and 70 m or more from process equipment:
    # with the prevailing E/SE winds all three are upwind of the storage and process areas.
    s.muster_points += [
        dict(id="MP-S", name="Main gate muster point (admin lawn)", position=[845, 55], capacity=300, radius_m=25.0,
             sheltered=False),
        dict(id="MP-N", name="North gate muster point (north yard)", position=[655, 545], capacity=200, radius_m=20.0,
             sheltered=False),
        dict(id="MP-E", name="East gate muster point (utilities lawn)", position=[850, 345], capacity=200,
             radius_m=20.0, sheltered=False),
    ]
    # Off-site assembly points, 200 m beyond three gates (for a release that puts every on-site
    # muster point downwind, e.g. a west wind at the chlorine store on the west edge): each is
    # reached through its gate along a straight approach of the gate's width.
    s.assembly_points += [
        dict(id="OA-N", name="North off-site assembly point (beyond the north gate)", position=[610, 800],
             capacity=300, radius_m=30.0, gate_id="G-NORTH"),
        dict(id="OA-S", name="South off-site assembly point (south-west of the main gate)", position=[600, -180],
             capacity=300, radius_m=30.0, gate_id="G-MAIN"),
        dict(id="OA-SW", name="South-west off-site assembly point (beyond the truck gate)", position=[250, -200],
             capacity=200, radius_m=30.0, gate_id="G-SERVICE"),
    ]

    # ---------------------------------------------------------------- tank farm
    # Bund 100: class B flammables (gasoline, hexane), shell-to-shell >= 0.6 D, shell to bund
    # wall 12 m (>= half the tank height). Bund 200: diesel (class C), >= 0.4 D.
    tanks = [
        # id, name, substance, centre, D, H, bund
        ("TK-101", "Gasoline tank 101", "gasoline", (56, 544), 28.0, 18.0, "BD-100"),
        ("TK-102", "Gasoline tank 102", "gasoline", (101, 544), 28.0, 18.0, "BD-100"),
        ("TK-103", "Hexane tank 103", "hexane", (56, 502), 22.0, 16.0, "BD-100"),
        ("TK-104", "Hexane tank 104", "hexane", (101, 502), 22.0, 16.0, "BD-100"),
        ("TK-201", "Diesel tank 201", "diesel", (177, 543), 30.0, 18.0, "BD-200"),
        ("TK-202", "Diesel tank 202", "diesel", (222, 543), 30.0, 18.0, "BD-200"),
        ("TK-203", "Diesel tank 203", "diesel", (177, 501), 24.0, 16.0, "BD-200"),
        ("TK-204", "Diesel tank 204", "diesel", (222, 501), 24.0, 16.0, "BD-200"),
    ]
    s.equipment("BD-100", "Bund 100 (gasoline, hexane)", "bund", rect(30, 478, 127, 570), 2.0, bund_wall_height_m=2.0)
    s.equipment("BD-200", "Bund 200 (diesel)", "bund", rect(150, 476, 249, 570), 2.0, bund_wall_height_m=2.0)
    for tid, name, sub, c, d, h, bund in tanks:
        v = cylinder_volume(d, h)
        s.equipment(tid, name, "atmospheric_tank", Point(c), h, diameter_m=d, volume_m3=round(v, 0), bund_id=bund)
        s.inventory(tid, sub, v * TANK_FILL * DENSITY[sub], "liquid", 298.15, 101_325.0)
    # tank pumps in a row south of the bunds, under the tank farm pipe rack
    for pid, x, bund_sub in [("P-101", 50, "gasoline"), ("P-102", 62, "gasoline"), ("P-103", 95, "hexane"),
                             ("P-104", 107, "hexane"), ("P-201", 171, "diesel"), ("P-202", 183, "diesel"),
                             ("P-203", 216, "diesel"), ("P-204", 228, "diesel")]:
        s.equipment(pid, f"Tank pump {pid[2:]} ({bund_sub})", "pump", Point(x, 445), 1.5, diameter_m=2.0)
    s.equipment("PR-100", "Tank farm pipe rack", "pipe_rack", LineString([(40, 432), (325, 432), (325, 272)]), 6.0,
                width_m=6.0)
    s.building("B-FOAM", "Foam station", "other", rect(275, 500, 320, 535), 6.0, occupied=False)

    # ---------------------------------------------------------------- LPG spheres
    # two 14 m spheres, shell gap 24 m (>= 1 D), inside a 0.6 m kerb with 6 m clearance.
    d_sp = 14.0
    for sid, c in [("SP-401", (62, 190)), ("SP-402", (100, 190))]:
        v = sphere_volume(d_sp)
        s.equipment(sid, f"LPG sphere {sid[3:]}", "pressurised_sphere", Point(c), 22.0, diameter_m=d_sp,
                    volume_m3=round(v, 0), bund_id="BD-400", design_pressure_pa=1.77e6)
        s.inventory(sid, "propane", v * TANK_FILL * DENSITY["propane"], "liquefied_gas", 298.15, 9.5e5)
    s.equipment("BD-400", "LPG sphere kerb", "bund", rect(49, 177, 113, 203), 0.6, bund_wall_height_m=0.6)
    s.equipment("P-401", "LPG transfer pump 401", "pump", Point(78, 163), 1.5, diameter_m=2.0)
    s.equipment("P-402", "LPG transfer pump 402", "pump", Point(88, 163), 1.5, diameter_m=2.0)
    s.equipment("PR-400", "LPG pipe rack", "pipe_rack", LineString([(83, 156), (325, 156)]), 5.0, width_m=4.0)

    # ---------------------------------------------------------------- truck loading bay
    s.equipment("LB-501", "Truck loading bay (4 liquid arms, 2 LPG arms)", "loading_bay", rect(190, 40, 310, 110), 8.0)
    s.inventory("LB-501", "gasoline", 34.0 * 0.9 * DENSITY["gasoline"], "liquid")  # one road tanker being filled
    s.equipment("PR-300", "Loading line rack", "pipe_rack", LineString([(325, 272), (325, 75), (310, 75)]), 5.0,
                width_m=4.0)
    s.building("B-LOADCTL", "Loading control booth", "other", rect(270, 125, 300, 140), 4.0)

    # ---------------------------------------------------------------- chlorine store, cooling water
    s.building("B-CL2", "Chlorine drum store", "drum_store", rect(60, 296, 92, 316), 7.0, air_changes_per_h=4.0)
    s.equipment("DS-701", "Chlorine drums (20 x 1 t) on racks", "drum_store", rect(63, 299, 89, 313), 1.2)
    s.inventory("DS-701", "chlorine", 20 * 1000.0, "liquefied_gas", 293.15, 6.8e5)
    s.equipment("SC-701", "Chlorine caustic scrubber", "column", Point(100, 306), 8.0, diameter_m=1.6)
    s.building("B-CT", "Cooling tower", "other", rect(170, 290, 300, 345), 15.0, occupied=False)

    # ---------------------------------------------------------------- process units
    s.equipment("PR-200", "Main pipe rack", "pipe_rack", LineString([(325, 272), (735, 272)]), 8.0, width_m=8.0)
    units = [("U-1", "Unit 1 naphtha hydrotreater", 352, 464, 408),
             ("U-2", "Unit 2 hexane fractionation", 487, 598, 543),
             ("U-3", "Unit 3 gas separation / LPG recovery", 622, 737, 680)]
    for uid, name, x0, x1, xr in units:
        s.equipment(uid, name, "process_unit", rect(x0, 290, x1, 455), 25.0)
        s.equipment(f"PR-{uid}", f"{name} pipe rack", "pipe_rack", LineString([(xr, 276), (xr, 450)]), 7.0, width_m=6.0)
    # unit 1: sour naphtha hydrotreater with amine treating (H2S)
    s.equipment("C-1101", "Stripper C-1101", "column", Point(380, 420), 40.0, diameter_m=3.0)
    s.equipment("C-1102", "Amine absorber C-1102", "column", Point(380, 380), 30.0, diameter_m=2.2)
    s.equipment("V-1102", "Acid gas knock-out drum V-1102", "pressure_vessel", Point(377, 340), 6.0, diameter_m=2.0)
    s.equipment("R-1101", "Hydrotreating reactor R-1101", "pressure_vessel", Point(440, 420), 18.0, diameter_m=3.5)
    s.equipment("V-1101", "HP separator V-1101", "pressure_vessel", Point(440, 375), 8.0, diameter_m=3.0)
    s.inventory("C-1101", "hexane", 18_000, "liquid", 423.15, 8.0e5)
    s.inventory("R-1101", "hexane", 12_000, "gas", 573.15, 3.2e6)
    s.inventory("V-1101", "hexane", 9_000, "liquid", 318.15, 3.0e6)
    s.inventory("V-1102", "hydrogen_sulfide", 400, "gas", 318.15, 6.0e5)  # acid gas incl. connected lines
    # unit 2: hexane solvent fractionation
    s.equipment("C-2101", "Fractionator C-2101", "column", Point(515, 420), 45.0, diameter_m=4.0)
    s.equipment("C-2102", "Rerun column C-2102", "column", Point(515, 365), 35.0, diameter_m=3.0)
    s.equipment("V-2101", "Reflux drum V-2101", "pressure_vessel", Point(570, 420), 5.0, diameter_m=2.5)
    s.equipment("V-2102", "Product drum V-2102", "pressure_vessel", Point(570, 365), 5.0, diameter_m=2.5)
    s.inventory("C-2101", "hexane", 35_000, "liquid", 368.15, 2.0e5)
    s.inventory("C-2102", "hexane", 20_000, "liquid", 353.15, 1.5e5)
    s.inventory("V-2101", "hexane", 8_000, "liquid", 313.15, 1.5e5)
    s.inventory("V-2102", "hexane", 10_000, "liquid", 308.15, 3.0e5)
    # unit 3: gas separation (chilled by the ammonia refrigeration), LPG to the spheres
    s.equipment("C-3101", "Demethaniser C-3101", "column", Point(650, 420), 35.0, diameter_m=2.5)
    s.equipment("C-3102", "Depropaniser C-3102", "column", Point(650, 365), 40.0, diameter_m=3.0)
    s.equipment("V-3101", "Fuel gas drum V-3101", "pressure_vessel", Point(712, 420), 6.0, diameter_m=3.0)
    s.equipment("V-3102", "Propane product drum V-3102", "pressure_vessel", Point(712, 370), 5.0, diameter_m=3.0)
    s.building("B-K301", "Compressor house K-301", "process", rect(695, 300, 730, 330), 12.0, air_changes_per_h=12.0)
    s.inventory("C-3101", "methane", 2_500, "gas", 243.15, 3.0e6)
    s.inventory("C-3102", "propane", 15_000, "liquefied_gas", 328.15, 1.8e6)
    s.inventory("V-3101", "methane", 400, "gas", 303.15, 1.0e6)
    s.inventory("V-3102", "propane", 20_000, "liquefied_gas", 303.15, 1.1e6)
    pumps = [("P-1101", (396, 400)), ("P-1102", (396, 360)), ("P-1103", (424, 398)),
             ("P-2101", (531, 420)), ("P-2102", (531, 380)), ("P-2103", (557, 395)),
             ("P-3101", (666, 420)), ("P-3102", (666, 380)), ("P-3103", (694, 395))]
    for pid, xy in pumps:
        s.equipment(pid, f"Process pump {pid}", "pump", Point(xy), 1.5, diameter_m=2.0)

    # ---------------------------------------------------------------- ammonia refrigeration
    s.equipment("RU-601", "Ammonia refrigeration skid (condensers, receiver)", "refrigeration_unit",
                rect(360, 500, 400, 560), 6.0)
    s.equipment("V-601", "Ammonia receiver V-601", "pressure_vessel", Point(380, 530), 3.0, diameter_m=2.4,
                design_pressure_pa=2.1e6)
    s.inventory("V-601", "ammonia", 8_000, "liquefied_gas", 303.15, 1.15e6)
    s.building("B-NH3", "Ammonia compressor house", "process", rect(410, 505, 445, 545), 8.0, air_changes_per_h=12.0)

    # ---------------------------------------------------------------- south-centre: control, lab, workshops
    s.building("B-CCR", "Central control room (blast resistant)", "control_room", rect(560, 175, 620, 225), 6.0,
               air_changes_per_h=0.3)
    s.building("B-LAB", "Laboratory", "laboratory", rect(640, 175, 710, 225), 8.0, floors=2, air_changes_per_h=6.0)
    s.building("B-WS", "Maintenance workshop", "workshop", rect(360, 160, 450, 225), 10.0)
    s.building("B-SUB2", "Process substation", "substation", rect(470, 170, 520, 215), 8.0, floors=2, occupied=False)
    s.building("B-WH", "Warehouse", "warehouse", rect(360, 30, 460, 110), 9.0, air_changes_per_h=0.5)
    s.building("B-STORES", "Maintenance stores", "warehouse", rect(480, 40, 560, 100), 7.0, air_changes_per_h=0.5)
    s.building("B-CONTR", "Contractor office and training centre", "other", rect(600, 40, 700, 100), 12.0, floors=3)

    # ---------------------------------------------------------------- admin (south-east, by the main gate)
    s.building("B-GATE", "Gatehouse", "gatehouse", rect(752, 20, 768, 32), 4.0)
    s.building("B-FIRE", "Fire station", "fire_station", rect(755, 45, 805, 95), 9.0, floors=2)
    s.building("B-CANTEEN", "Canteen", "canteen", rect(815, 90, 875, 120), 8.0, floors=2)
    s.building("B-ADMIN", "Administration building", "admin", rect(765, 150, 875, 205), 16.0, floors=4)

    # ---------------------------------------------------------------- utilities (east)
    s.building("B-SUB1", "Main substation 110 kV", "substation", rect(760, 270, 820, 320), 8.0, floors=2,
               occupied=False)
    s.building("B-UTIL", "Boiler and air compressor house", "other", rect(760, 400, 840, 450), 12.0)
    s.building("B-FWP", "Fire water pump house", "other", rect(850, 400, 880, 440), 6.0, occupied=False)
    s.building("B-WWT", "Waste water treatment blower house", "other", rect(760, 490, 800, 520), 6.0)

    # ---------------------------------------------------------------- gas and flame detectors
    # Tank farm: one per gasoline/hexane tank on the inside of the bund, 3 m off the shell on
    # the nozzle side; two at the diesel bund manifold; one per pump pair.
    for tid, name, sub, (cx, cy), d, h, bund in tanks[:4]:
        s.gas_detector(f"GD-TF-{tid[3:]}", sub, (cx, cy - d / 2 - 3))
    s.gas_detector("GD-TF-201", "diesel", (177, 481))
    s.gas_detector("GD-TF-202", "diesel", (222, 481))
    for n, (x, sub) in enumerate([(56, "gasoline"), (101, "hexane"), (177, "diesel"), (222, "diesel")], start=1):
        s.gas_detector(f"GD-TF-P{n}", sub, (x, 440))
    # LPG: north and south of each sphere inside the kerb (bottom connections), pumps, ESD manifold.
    s.gas_detector("GD-LPG-01", "propane", (62, 180))
    s.gas_detector("GD-LPG-02", "propane", (62, 200))
    s.gas_detector("GD-LPG-03", "propane", (100, 180))
    s.gas_detector("GD-LPG-04", "propane", (100, 200))
    s.gas_detector("GD-LPG-05", "propane", (83, 159))
    s.gas_detector("GD-LPG-06", "propane", (120, 190))
    # loading bay: at each loading arm
    for n, (xy, sub) in enumerate([((205, 80), "gasoline"), ((225, 80), "gasoline"), ((275, 80), "gasoline"),
                                   ((295, 80), "gasoline"), ((205, 52), "propane"), ((295, 52), "propane")], start=1):
        s.gas_detector(f"GD-LB-{n:02d}", sub, xy)
    # unit 1: hexane at the pumps, reactor and separator; H2S at the sour equipment
    for n, xy in enumerate([(396, 405), (396, 355), (440, 414), (440, 368)], start=1):
        s.gas_detector(f"GD-U1-{n:02d}", "hexane", xy)
    for n, xy in enumerate([(377, 335), (384, 375), (384, 414), (400, 342)], start=1):
        s.gas_detector(f"GD-HS-{n:02d}", "hydrogen_sulfide", xy)
    # unit 2: hexane at pumps, column bottoms and drums
    for n, xy in enumerate([(531, 425), (531, 375), (557, 400), (515, 357), (570, 415)], start=1):
        s.gas_detector(f"GD-U2-{n:02d}", "hexane", xy)
    # unit 3: propane low at pumps and product drum, methane high at the fuel gas drum and compressors
    for n, xy in enumerate([(666, 425), (666, 375), (694, 390), (712, 364)], start=1):
        s.gas_detector(f"GD-U3-{n:02d}", "propane", xy)
    s.gas_detector("GD-U3-05", "methane", (712, 426))
    s.gas_detector("GD-U3-06", "methane", (712, 315))  # inside compressor house K-301, above the machines
    # chlorine: three inside the store at floor level, four around it
    for n, xy in enumerate([(68, 306), (76, 306), (84, 306), (76, 292), (55, 306), (76, 320), (104, 300)], start=1):
        s.gas_detector(f"GD-CL-{n:02d}", "chlorine", xy)
    # ammonia: high, at the receiver and condensers, inside the compressor house, at its door
    for n, (xy, hgt) in enumerate([((380, 536), 2.5), ((390, 515), 2.5), ((420, 525), 3.0), ((435, 525), 3.0),
                                   ((428, 500), 2.5)], start=1):
        s.gas_detector(f"GD-NH-{n:02d}", "ammonia", xy, height_m=hgt)
    # flame detectors (UV/IR) looking at the LPG spheres, the loading bay, tank pumps, compressors
    s.flame_detector("FD-LPG-01", (81, 172))
    s.flame_detector("FD-LPG-02", (81, 208))
    s.flame_detector("FD-LB-01", (195, 105), 6.0)
    s.flame_detector("FD-LB-02", (305, 105), 6.0)
    s.flame_detector("FD-TF-01", (133, 450))
    s.flame_detector("FD-U3-01", (700, 336), 6.0)
    # weather station on a 10 m mast in the open north yard
    s.sensors.append(dict(id="MET-01", type="weather", unit="met", position=[720, 570], height_m=10.0,
                          range_min=0.0, range_max=60.0, period_s=10.0,
                          measures=["wind_speed", "wind_direction", "sigma_theta", "temperature", "solar_radiation",
                                    "delta_t"]))

    # ---------------------------------------------------------------- emergency resources
    s.resource("FS-1", "fire_station", (780, 70))
    s.resource("FE-1", "fire_engine", (770, 60), station_id="FS-1", flow_l_min=4800)   # foam tender, 80 L/s
    s.resource("FE-2", "fire_engine", (790, 60), station_id="FS-1", flow_l_min=3600)   # water tender, 60 L/s
    s.resource("FOAM-1", "foam_store", (297, 517), count=1)
    for n, xy in enumerate([(22, 524), (133, 545), (145, 500), (255, 524), (45, 190), (120, 205),
                            (470, 300), (615, 430)], start=1):
        s.resource(f"MON-{n:02d}", "monitor", xy, flow_l_min=3000)
    s.resource("SCBA-CCR", "scba_store", (590, 170), count=6)
    s.resource("SCBA-FIRE", "scba_store", (780, 100), count=12)
    s.resource("SCBA-CL2", "scba_store", (110, 290), count=4)
    s.resource("SCBA-NH3", "scba_store", (455, 495), count=4)
    s.resource("FA-ADMIN", "first_aid", (820, 145), count=1)
    s.resource("FA-CCR", "first_aid", (600, 170), count=1)
    s.resource("FA-WS", "first_aid", (405, 155), count=1)

    # ---------------------------------------------------------------- shifts (12 h, head-count per area)
    day = {"A-ADMIN": 95, "A-CONTROL": 30, "A-WORKSHOP": 55, "A-PU1": 14, "A-PU2": 14, "A-PU3": 14,
           "A-TANKFARM": 8, "A-LPG": 4, "A-LOADING": 14, "A-CL2": 3, "A-REFRIG": 3, "A-UTILITIES": 8,
           "A-NORTHYARD": 6}
    night = {"A-ADMIN": 18, "A-CONTROL": 12, "A-WORKSHOP": 6, "A-PU1": 8, "A-PU2": 8, "A-PU3": 8,
             "A-TANKFARM": 4, "A-LPG": 2, "A-LOADING": 8, "A-CL2": 1, "A-REFRIG": 2, "A-UTILITIES": 5}
    shifts = [dict(name="day", start="08:00", end="20:00", headcount=day),
              dict(name="night", start="20:00", end="08:00", headcount=night)]

    # ---------------------------------------------------------------- ignition sources (delayed ignition, QRA)
    # Probabilities of igniting a cloud that covers the source: TNO Purple Book CPR 18E ch. 4 [PUB-mem] for
    # furnaces, boilers and vehicles; presence fractions and the workshop's and substation's values [ILLUSTRATIVE].
    ignition = [
        dict(id="F-1101", kind="fired_heater", probability=0.9, position=[420.0, 310.0],
             note="unit 1 charge heater (outdoor furnace, Purple Book 0.9 [PUB-mem])"),
        dict(id="F-2101", kind="fired_heater", probability=0.9, position=[560.0, 305.0],
             note="unit 2 reboiler furnace (outdoor furnace, Purple Book 0.9 [PUB-mem])"),
        dict(id="IG-UTIL", kind="boiler", probability=0.45, building="B-UTIL",
             note="boilers in the boiler house (Purple Book 0.45 [PUB-mem])"),
        dict(id="IG-LOAD", kind="road", probability=0.4, presence_fraction=0.1, road="R-LOAD",
             note="tank trucks: 0.4 per vehicle (Purple Book [PUB-mem]); a truck on the route 10 % of the time [ILLUSTRATIVE]"),
        dict(id="IG-MAIN", kind="road", probability=0.4, presence_fraction=0.05, road="R-MAIN",
             note="site traffic on the main avenue, 5 % of the time [ILLUSTRATIVE]"),
        dict(id="IG-WS", kind="hot_work_area", probability=0.5, presence_fraction=0.3, building="B-WS",
             note="welding and grinding in the maintenance workshop [ILLUSTRATIVE]"),
        dict(id="IG-SUB2", kind="electrical", probability=0.1, building="B-SUB2",
             note="process substation, non-Ex electrical equipment [ILLUSTRATIVE]"),
    ]

    derive(s)
    return s, {"shifts": shifts, "ignition_sources": ignition}


# ----------------------------------------------------------------------------- derived features


def _obstacles(s: Site, skip: set[str] = frozenset()) -> list[tuple[str, Any]]:
    """Footprints that roads and walkways must stay clear of: buildings and round equipment."""
    out = [(p["id"], g) for p, g in s.layers["buildings"] if p["id"] not in skip]
    for p, g in s.layers["equipment"]:
        if g.geom_type == "Point" and p["id"] not in skip:
            out.append((p["id"], g.buffer(p.get("diameter_m", 1.0) / 2.0)))
    return out


def area_of(s: Site, xy) -> str | None:
    pt = Point(xy)
    for p, g in s.layers["areas"]:
        if g.covers(pt):
            return p["id"]
    return None


def _walkway_path(building: Polygon, road: LineString) -> LineString | None:
    """Straight path from the middle of the building side facing ``road`` to the road centreline:
    perpendicular to the road where the building faces it, else from the nearest corner."""
    c = building.centroid
    q = road.interpolate(road.project(c))
    if abs(c.distance(q) - road.distance(c)) < 1e-6 and 0 < road.project(c) < road.length:
        a = LineString([c, q]).difference(building)
        if a.geom_type == "LineString" and a.length > 0.5:
            start = min(a.coords, key=lambda xy: Point(xy).distance(building))
            return LineString([tuple(round(v, 1) for v in start), (round(q.x, 1), round(q.y, 1))])
    a, b = nearest_points(building, road)
    if a.distance(b) < 0.5:
        return None
    return LineString([(round(a.x, 1), round(a.y, 1)), (round(b.x, 1), round(b.y, 1))])


def add_walkways(s: Site) -> None:
    """A 1.8 m walkway from every building to the nearest road it can reach without crossing
    anything, plus stairs over the bund walls and operator routes through the units."""
    roads = [(p, g) for p, g in s.layers["roads"] if p["kind"] == "road"]
    for bp, bg in list(s.layers["buildings"]):
        obstacles = _obstacles(s, {bp["id"]})
        options = sorted(roads, key=lambda r: bg.distance(r[1]))
        for rp, rg in options:
            path = _walkway_path(bg, rg)
            if path is None or any(path.buffer(0.9).intersection(g).area > 0.01 for _, g in obstacles):
                continue
            s.road(f"W-{bp['id'][2:]}", f"Walkway to {bp['name']}", list(path.coords), 1.8, kind="walkway")
            break
        else:
            raise RuntimeError(f"no clear walkway from building {bp['id']}")
    # stairs over the bund walls from the tank farm roads, kerb access at the LPG spheres
    s.road("ST-100", "Bund 100 access stair", [(79, 460), (79, 478)], 1.5, kind="stair")
    s.road("ST-200", "Bund 200 access stair", [(200, 460), (200, 476)], 1.5, kind="stair")
    s.road("ST-400", "LPG kerb access", [(150, 190), (113, 190)], 1.5, kind="stair")
    s.road("W-RU601", "Walkway to ammonia refrigeration skid", [(380, 480), (380, 500)], 1.8, kind="walkway")
    # operator routes through the process units, beside the unit racks, spine to north road
    for x in (416, 551, 688):
        s.road(f"W-OP{x}", "Operator route through process unit", [(x, 250), (x, 480)], 1.8, kind="walkway")
    # muster point paths
    s.road("W-MPS", "Path to main gate muster point", [(845, 12), (845, 30)], 2.0, kind="walkway")
    s.road("W-MPN", "Path to north gate muster point", [(610, 545), (635, 545)], 2.0, kind="walkway")
    s.road("W-MPE", "Path to east gate muster point", [(850, 380), (850, 365)], 2.0, kind="walkway")


def add_fences(s: Site) -> None:
    """The perimeter fence along the boundary, with a gap of the gate width at every gate."""
    ring = LineString([(0, 0), (SITE_W, 0), (SITE_W, SITE_H), (0, SITE_H), (0, 0)])
    total = ring.length
    cuts = sorted((ring.project(g), p["width_m"] / 2.0) for p, g in s.layers["gates"])
    # start just after the first gate so the pieces do not wrap around the start of the ring
    pieces = []
    for i, (d, half) in enumerate(cuts):
        nd, nhalf = cuts[(i + 1) % len(cuts)]
        start = d + half
        end = nd - nhalf if i + 1 < len(cuts) else nd - nhalf + total
        if end <= total:
            line = substring(ring, start, end)
        else:
            a = substring(ring, start, total)
            b = substring(ring, 0, end - total)
            line = LineString(list(a.coords) + list(b.coords)[1:])
        pieces.append(line)
    names = {0: "south-centre", 1: "south-east and east", 2: "east and north-east", 3: "north, west and south-west"}
    for i, line in enumerate(pieces):
        coords = [(round(x, 1), round(y, 1)) for x, y in line.coords]
        s.add("fences", LineString(coords), id=f"F-{i + 1}", name=f"Perimeter fence ({names.get(i, i)})", height_m=2.5)


def add_hydrants(s: Site) -> None:
    """Hydrants 1.5 m off the road edge, every 60 m along roads in storage, process and loading
    areas and every 100 m elsewhere (GB 50160 style), on the inner side of the ring road, never in
    a building or equipment footprint, and at least 40 m apart."""
    blocked = [g for _, g in _obstacles(s)]
    blocked += [g for p, g in s.layers["equipment"] if g.geom_type == "Polygon"]
    blocked += [g.buffer(p["width_m"] / 2.0) for p, g in s.layers["equipment"] if g.geom_type == "LineString"]
    roads = [(p, g) for p, g in s.layers["roads"] if p["kind"] == "road"]
    road_bodies = [g.buffer(p["width_m"] / 2.0 + 0.5) for p, g in roads]
    hazardous = {p["id"] for p, g in s.layers["areas"] if p["kind"] in ("storage", "process", "logistics")}
    inner = BOUNDARY.buffer(-3.0)
    centre = BOUNDARY.centroid
    placed: list[Point] = []

    def fits(q: Point) -> bool:
        return (inner.contains(q) and all(b.distance(q) >= 2.0 for b in blocked)
                and not any(rb.contains(q) for rb in road_bodies))

    for rp, rg in roads:
        length, d, side = rg.length, 15.0, 1
        while d < length - 10.0:
            p = rg.interpolate(d)
            p1, p2 = rg.interpolate(max(d - 1, 0)), rg.interpolate(min(d + 1, length))
            tx, ty = p2.x - p1.x, p2.y - p1.y
            n = math.hypot(tx, ty) or 1.0
            off = rp["width_m"] / 2.0 + 1.5
            cands = [Point(round(p.x - sgn * off * ty / n, 1), round(p.y + sgn * off * tx / n, 1)) for sgn in (side, -side)]
            if rp["id"].startswith("R-RING"):
                cands = [min(cands, key=lambda q: q.distance(centre))]
            hazard = area_of(s, (p.x, p.y)) in hazardous
            for q in cands:
                if fits(q) and all(q.distance(o) >= 40.0 for o in placed):
                    placed.append(q)
                    break
            d += 60.0 if hazard else 100.0
            side = -side
    for n, q in enumerate(placed, start=1):
        s.resource(f"HY-{n:02d}", "hydrant", (q.x, q.y), flow_l_min=900)


def derive(s: Site) -> None:
    add_walkways(s)
    add_fences(s)
    add_hydrants(s)
    for p, g in s.layers["equipment"]:
        aid = area_of(s, g.representative_point().coords[0] if g.geom_type != "Point" else g.coords[0])
        if aid:
            p["area_id"] = aid
    for sen in s.sensors:
        sen["area_id"] = area_of(s, sen["position"])


# ----------------------------------------------------------------------------- checks


def check(s: Site, shifts: list[dict]) -> list[str]:
    """Layout rules a reviewer would check on the drawing; returns the problems found."""
    bad: list[str] = []
    site = BOUNDARY.buffer(0.01)
    eq = {p["id"]: (p, g) for p, g in s.layers["equipment"]}

    def footprint(p, g):
        if g.geom_type == "Point":
            return g.buffer(p.get("diameter_m", 1.0) / 2.0)
        if g.geom_type == "LineString":
            return g.buffer(p.get("width_m", 1.0) / 2.0, cap_style="flat")
        return g

    for layer in ("buildings", "equipment", "roads", "gates", "areas"):
        for p, g in s.layers[layer]:
            if not site.contains(footprint(p, g) if layer == "equipment" else g):
                bad.append(f"{layer} {p['id']} outside the boundary")
    for sen in s.sensors + s.muster_points + s.resources:
        if not BOUNDARY.contains(Point(sen["position"])):
            bad.append(f"{sen['id']} outside the boundary")
    # overlaps between buildings and round equipment (tanks, spheres, columns, vessels, pumps)
    solids = _obstacles(s)
    for i, (a, ga) in enumerate(solids):
        for b, gb in solids[i + 1:]:
            if ga.intersection(gb).area > 0.01:
                bad.append(f"{a} overlaps {b}")
    # roads (with their width) must not pass through buildings or round equipment; walkways may
    # touch the building they serve
    for p, g in s.layers["roads"]:
        body = g.buffer(p["width_m"] / 2.0, cap_style="flat")
        for oid, og in solids:
            if body.intersection(og).area > 0.5:
                bad.append(f"road {p['id']} passes through {oid}")
        for bp, bg in eq.values():
            if bg.geom_type == "Polygon" and bp["kind"] in ("bund",) and body.intersection(bg).area > 0.5 \
                    and p["kind"] == "road":
                bad.append(f"road {p['id']} passes through bund {bp['id']}")
    # one connected road/walkway network
    lines = [g for _, g in s.layers["roads"]]
    comp = list(range(len(lines)))

    def root(i):
        while comp[i] != i:
            comp[i] = comp[comp[i]]
            i = comp[i]
        return i

    for i in range(len(lines)):
        for j in range(i + 1, len(lines)):
            if lines[i].distance(lines[j]) < 0.05:
                comp[root(i)] = root(j)
    n_comp = len({root(i) for i in range(len(lines))})
    if n_comp != 1:
        bad.append(f"road network has {n_comp} connected components")
    network = shapely.union_all(lines)
    for p, g in s.layers["buildings"]:
        if g.distance(network) > 0.1:
            bad.append(f"building {p['id']} not connected to a road or walkway")
    for p, g in s.layers["gates"]:
        if g.distance(network) > 0.1:
            bad.append(f"gate {p['id']} not on a road")
        for fp, fg in s.layers["fences"]:
            if fg.distance(g) < p["width_m"] / 2.0 - 0.1:
                bad.append(f"gate {p['id']} is blocked by fence {fp['id']}")
    for m in s.muster_points:
        if Point(m["position"]).distance(network) > m["radius_m"] + 1.0:
            bad.append(f"muster point {m['id']} not reachable")
    gate_ids = {p["id"] for p, _ in s.layers["gates"]}
    for m in s.assembly_points:
        if m["gate_id"] not in gate_ids:
            bad.append(f"assembly point {m['id']}: unknown gate {m['gate_id']}")
        if site.contains(Point(m["position"])):
            bad.append(f"assembly point {m['id']} inside the site (an off-site point is outside it)")
    # tanks inside their bunds, shell spacing, bund capacity >= largest tank
    by_bund: dict[str, list] = {}
    for p, g in eq.values():
        if p.get("bund_id"):
            by_bund.setdefault(p["bund_id"], []).append((p, g))
    for bund_id, members in by_bund.items():
        bp, bg = eq[bund_id]
        for p, g in members:
            fp = footprint(p, g)
            if not bg.contains(fp):
                bad.append(f"{p['id']} not inside bund {bund_id}")
            elif bg.exterior.distance(fp) < min(p["height_m"] / 2.0, 6.0) - 0.01:
                bad.append(f"{p['id']} too close to the wall of {bund_id}")
        for i, (pa, ga) in enumerate(members):
            for pb, gb in members[i + 1:]:
                gap = ga.distance(gb) - (pa["diameter_m"] + pb["diameter_m"]) / 2.0
                need = 0.4 * max(pa["diameter_m"], pb["diameter_m"])
                if gap < need - 0.01:
                    bad.append(f"{pa['id']} and {pb['id']} only {gap:.1f} m apart (need {need:.1f})")
        if bp["kind"] == "bund" and all(p["kind"] == "atmospheric_tank" for p, _ in members):
            largest = max(members, key=lambda m: m[0]["volume_m3"])
            others = sum(footprint(p, g).area for p, g in members if p is not largest[0])
            cap = (bg.area - others) * bp["bund_wall_height_m"]
            if cap < largest[0]["volume_m3"]:
                bad.append(f"bund {bund_id} holds {cap:.0f} m3 < largest tank {largest[0]['volume_m3']:.0f} m3")
    # people
    day = max(sum(sh["headcount"].values()) for sh in shifts)
    if sum(m["capacity"] for m in s.muster_points) <= day:
        bad.append("muster capacity below the day shift")
    inv_ids = {i["equipment_id"] for i in s.inventories}
    for p, g in eq.values():
        if p["kind"] in ("atmospheric_tank", "pressurised_sphere", "drum_store") and p["id"] not in inv_ids:
            bad.append(f"{p['id']} has no inventory")
    return bad


# ----------------------------------------------------------------------------- writing


def _round_geom(geom):
    return shapely.transform(geom, lambda xy: xy.round(1))


def _feature(props: dict, geom) -> dict:
    g = mapping(_round_geom(geom))
    g = json.loads(json.dumps(g))  # tuples -> lists
    return {"type": "Feature", "properties": props, "geometry": g}


def dump_geojson(features: list[dict]) -> str:
    text = json.dumps({"type": "FeatureCollection", "features": features}, indent=1, ensure_ascii=False)
    # one coordinate pair per line: "[\n  12.0,\n  34.5\n ]" -> "[12.0, 34.5]"
    return re.sub(r"\[\s+(-?[\d.eE+-]+),\s+(-?[\d.eE+-]+)\s+\]", r"[\1, \2]", text) + "\n"


def _clean(v):
    if isinstance(v, float):
        return round(v, 3) if abs(v) < 1e4 else float(round(v))
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    return v


def dump_yaml(meta: dict, one_line: tuple[str, ...]) -> str:
    """YAML with the items of the long lists (sensors, resources...) one per line, flow style."""
    out = []
    for key, value in meta.items():
        if key in one_line:
            out.append(f"{key}:")
            for item in value:
                line = yaml.safe_dump(item, sort_keys=False, default_flow_style=True, width=10_000).strip()
                out.append(f"- {line}")
        else:
            flow = None if isinstance(value, (dict, list)) else False
            out.append(yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=flow, width=110,
                                      allow_unicode=True).rstrip())
    return "\n".join(out) + "\n"


def write(s: Site, extra: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for layer, feats in s.layers.items():
        (out / f"{layer}.geojson").write_text(dump_geojson([_feature(p, g) for p, g in feats]), encoding="utf-8")
    for sen in s.sensors:
        sen["position"] = [round(v, 1) for v in sen["position"]]
    meta = {
        "schema_version": 1,
        "id": "demo_plant",
        "name": "SafeTwin Demo Chemical Plant (Nanjing Jiangbei)",
        "description": (
            "Fictional 900 m x 600 m chemical site in the Nanjing Jiangbei New Materials Science Park: "
            "tank farm (8 atmospheric tanks of gasoline, hexane and diesel in two bunds), two LPG spheres, "
            "a chlorine drum store, an ammonia refrigeration unit, three process units (sour naphtha "
            "hydrotreater, hexane fractionation, gas separation), truck loading, offices, workshops and a "
            "fire station. Prevailing winds are E-NE (winter) and SE (summer), so offices and muster points "
            "are on the east and south-east side, upwind of the storage and process areas."),
        "crs": CRS,
        "origin": {"easting": ORIGIN[0], "northing": ORIGIN[1]},
        "site_boundary": [[0.0, 0.0], [SITE_W, 0.0], [SITE_W, SITE_H], [0.0, SITE_H], [0.0, 0.0]],
        "weather_station": "MET-01",
        "inventories": s.inventories,
        "sensors": s.sensors,
        "muster_points": s.muster_points,
        "assembly_points": s.assembly_points,
        "resources": s.resources,
        "shifts": extra["shifts"],
        "ignition_sources": extra["ignition_sources"],
    }
    meta = _clean(meta)
    header = (
        "# SafeTwin demo plant -- GENERATED FILE, do not edit by hand.\n"
        "# Generated by tools/build_demo_plant.py; to change the plant, edit that script and run\n"
        f"#     .venv/bin/{SCRIPT}\n"
        "# Local frame: x east, y north, metres from the origin (the site's south-west corner), in the CRS below.\n"
        "# Units: mass kg, temperature K, pressure Pa (absolute), heights m; detector units as given per sensor.\n"
    )
    body = dump_yaml(meta, one_line=("inventories", "sensors", "muster_points", "assembly_points", "resources",
                                    "ignition_sources"))
    (out / "plant.yaml").write_text(header + body, encoding="utf-8")
    (out / "README.md").write_text(readme(s, extra), encoding="utf-8")


def readme(s: Site, extra: dict) -> str:
    kinds: dict[str, int] = {}
    for sen in s.sensors:
        key = f"{sen['type']} ({sen['gas']})" if sen.get("gas") else sen["type"]
        kinds[key] = kinds.get(key, 0) + 1
    n_gas = sum(1 for x in s.sensors if x["type"] in ("flammable_gas", "toxic_gas"))
    hyd = sum(1 for r in s.resources if r["kind"] == "hydrant")
    mon = sum(1 for r in s.resources if r["kind"] == "monitor")
    shift_lines = "\n".join(
        f"| {sh['name']} | {sh['start']}-{sh['end']} | {sum(sh['headcount'].values())} | "
        + ", ".join(f"{k} {v}" for k, v in sh["headcount"].items()) + " |" for sh in extra["shifts"])
    det_lines = "\n".join(f"| {k} | {v} |" for k, v in sorted(kinds.items()))
    inv_lines = "\n".join(
        f"| {i['equipment_id']} | {i['substance']} | {i['mass_kg'] / 1000:,.1f} | {i['phase']} | "
        f"{i['pressure_pa'] / 1e5:.1f} | {i['temperature_k'] - 273.15:.0f} |" for i in s.inventories)
    mp_lines = "\n".join(f"| {m['id']} | {m['name']} | {m['position'][0]:.0f}, {m['position'][1]:.0f} | {m['capacity']} |"
                         for m in s.muster_points)
    oa_lines = "\n".join(f"| {m['id']} | {m['name']} | {m['position'][0]:.0f}, {m['position'][1]:.0f} | {m['capacity']} | "
                         f"{m['gate_id']} |" for m in s.assembly_points)
    ign_lines = "| id | kind | where | P ignition | presence | note |\n|---|---|---|---|---|---|\n" + "\n".join(
        f"| {g['id']} | {g['kind']} | {g.get('building') or g.get('road') or g.get('equipment') or g['position']} | "
        f"{g['probability']:g} | {g.get('presence_fraction', 1.0):g} | {g['note']} |" for g in extra["ignition_sources"])
    return f"""# Demo plant: SafeTwin Demo Chemical Plant (Nanjing Jiangbei)

**Generated** by `tools/build_demo_plant.py` -- edit the script, not these files, and run
`.venv/bin/python tools/build_demo_plant.py` (add `--png map.png` for a map).

A fictional but realistic 900 m x 600 m (54 ha) chemical site in the Nanjing Jiangbei New Materials
Science Park, on the north bank of the Yangtze. CRS `{CRS}` (WGS 84 / UTM 50N); the local frame's origin
(the south-west corner of the site) is at E {ORIGIN[0]:.0f}, N {ORIGIN[1]:.0f} (about 118.82 E, 32.26 N).
Local coordinates are metres, x east, y north.

## Layout
```
        x=0                   x=340                                      x=745        x=900
 y=600  +---------------------+----------------------- G-NORTH ----------+------------+
        | TANK FARM           | NH3 refrig.   | north yard: MP-N, MET-01 | waste water|
        | bund 100: gasoline, |  (A-REFRIG)   |                          | boilers,   |
        |   hexane            +---------------+------------+-------------+ fire water |
        | bund 200: diesel    | UNIT 1        | UNIT 2     | UNIT 3      |            |
        | pumps, foam station | sour naphtha  | hexane     | gas sep.,   +--- G-EAST  |
 y=380  +---------------------+ hydrotreater  | fraction.  | LPG recov.  | MP-E       |
        | Cl2 drum store,     | (H2S)         |            | K-301       | 110 kV sub.|
        | cooling tower       |============= main pipe rack =============|            |
 y=250  +=============== central avenue (east-west spine) ===============+============+
        | LPG     | truck     | workshop, process sub.| control room, lab| admin      |
        | spheres | loading   +-----------------------+------------------+ canteen    |
        |         | bay       | warehouse, stores, contractor centre     | fire st.   |
 y=0    +---------+-G-SERVICE-+------------------------------------------G-MAIN- MP-S +
        x=0       x=150       x=340                                      x=745        x=900
```
* **Storage in the west**, downwind of the offices for the prevailing E-NE/SE winds: the tank farm
  (north-west), the LPG spheres and the truck loading bay (south-west, with its own truck gate), the
  chlorine drum store (west-centre, beside the cooling tower it doses).
* **Process in the centre**, north of the central avenue: three units, each with a rack feeding the
  main east-west pipe rack; the ammonia refrigeration unit north of unit 1 chills unit 3.
* **People in the south and east**: control room, laboratory, workshop and warehouses south of the
  avenue; administration, canteen, fire station and gatehouse by the main gate (south-east).
* **Roads**: a 7 m ring road inside the fence, 8 m spines (central avenue, west avenue, main gate
  avenue), 6 m fire roads around the bunds and between the units; 1.8 m walkways from every
  building to the nearest road, stairs over the bund walls. All roads and walkways form one network.
* **Fence** along the whole boundary with gaps at four gates: main gate (south-east), north and east
  emergency gates, and the truck gate (south-west).

## Hazardous inventories
| equipment | substance | mass (t) | phase | p (bar abs) | T (C) |
|---|---|---|---|---|---|
{inv_lines}

Tanks: bund 100 holds two 28 m x 18 m gasoline tanks and two 22 m x 16 m hexane tanks (shell gaps
>= 0.6 D), bund 200 two 30 m x 18 m and two 24 m x 16 m diesel tanks (>= 0.4 D); 2 m bund walls,
each bund holds more than its largest tank. LPG spheres are 14 m, 24 m apart, in a 0.6 m kerb.

## Detectors ({n_gas} fixed gas detectors)
| type (gas) | count |
|---|---|
{det_lines}

* Flammable detectors (%LEL; alarms 10 / 25 / 50 %LEL = warning / high / high-high) sit 0.3-0.5 m
  above grade next to leak sources: inside the bunds on the nozzle side of each gasoline/hexane tank,
  at the diesel bund manifold, at every pump pair, under the LPG spheres, at each loading arm and at
  the pumps, column bottoms and drums of the units. Methane detectors are high (2.5 m).
* Chlorine (ppm; 0.5 / 1 / 2) 0.3 m above the floor: three inside the drum store, four around it.
* Ammonia (ppm; 25 / 35 / 70) high, 2.5-3 m: at the receiver, the condensers, inside the compressor house.
* H2S (ppm; 10 / 15 / 30) 0.6 m in unit 1 (amine absorber, acid-gas drum, stripper).
* Toxic alarm levels: warning at the 8-h TWA, high at the STEL, high-high at twice the STEL.
* Flame detectors at the LPG spheres, the loading bay, the tank pumps and compressor K-301.
* Weather station `MET-01` on a 10 m mast in the open north yard (`weather_station` in plant.yaml).

## Ignition sources (delayed ignition in the QRA)
{ign_lines}

## Emergency resources and muster points
Fire station with two engines (foam tender 4800 L/min, water tender 3600 L/min) by the main gate;
{hyd} hydrants along the roads (<= 60 m apart in storage, process and loading areas, <= 100 m elsewhere);
{mon} fire monitors at the bunds, the spheres and the units; a foam store at the tank farm; SCBA at
the control room, fire station, chlorine store and ammonia unit; first aid at admin, control room
and workshop.

| id | name | x, y (m) | capacity |
|---|---|---|---|
{mp_lines}

The three muster points are on three sides of the site, each next to a gate and 70 m or more from
process equipment, so one of them is upwind or crosswind of any release.

Off-site assembly points (plant.yaml `assembly_points`), each 200 m beyond a gate and reached
through it; the recommendations use them only when no on-site muster point is clean (a west wind
at the chlorine store puts all three muster points downwind), and people there count as mustered.

| id | name | x, y (m) | capacity | gate |
|---|---|---|---|---|
{oa_lines}

## People (12 h shifts)
| shift | hours | total | head-count per area |
|---|---|---|---|
{shift_lines}
"""


# ----------------------------------------------------------------------------- map


def render_png(s: Site, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle

    fig, ax = plt.subplots(figsize=(18, 12.5))
    colours = {"storage": "#fde2c8", "process": "#f8d0d0", "logistics": "#fff3b0", "office": "#d6ecff",
               "workshop": "#e4e4f4", "utilities": "#dff2d8", "other": "#eeeeee"}
    for p, g in s.layers["areas"]:
        ax.fill(*g.exterior.xy, color=colours[p["kind"]], zorder=0)
        c = g.representative_point()
        ax.text(c.x, c.y - 8 if p["id"] != "A-WORKSHOP" else 20, p["id"], fontsize=7, color="#777", ha="center")
    for p, g in s.layers["roads"]:
        ax.plot(*g.xy, color="#999" if p["kind"] == "road" else "#2a7", lw=p["width_m"] * 0.55,
                solid_capstyle="butt", zorder=1)
    for p, g in s.layers["equipment"]:
        if p["kind"] == "bund":
            ax.plot(*g.exterior.xy, color="#a0522d", lw=1.5, zorder=2)
        elif p["kind"] in ("process_unit", "loading_bay", "refrigeration_unit", "drum_store"):
            ax.fill(*g.exterior.xy, facecolor="none", edgecolor="#c33", lw=1.0, hatch="//", zorder=2)
        elif p["kind"] == "pipe_rack":
            ax.plot(*g.xy, color="#a37", lw=p["width_m"] * 0.5, alpha=0.7, zorder=2)
        else:
            r = p.get("diameter_m", 1.0) / 2.0
            col = {"atmospheric_tank": "#e69138", "pressurised_sphere": "#3d85c6", "column": "#666",
                   "pressure_vessel": "#888", "pump": "#333"}.get(p["kind"], "#999")
            ax.add_patch(Circle(g.coords[0], r, color=col, zorder=3))
            if p["kind"] in ("atmospheric_tank", "pressurised_sphere"):
                ax.text(*g.coords[0], p["id"], fontsize=6, ha="center", va="center", color="w", zorder=4)
    for p, g in s.layers["buildings"]:
        ax.fill(*g.exterior.xy, color="#5b6f8a", zorder=3)
        c = g.centroid
        ax.text(c.x, c.y, p["id"][2:], fontsize=5.5, ha="center", va="center", color="w", zorder=4)
    for p, g in s.layers["fences"]:
        ax.plot(*g.xy, color="k", lw=2.0, zorder=5)
    for p, g in s.layers["gates"]:
        ax.plot(g.x, g.y, marker="s", ms=9, color="#0a0" if p["kind"] != "main" else "#06c", zorder=6)
        ax.text(g.x, g.y + (12 if g.y < 300 else -16), p["id"], fontsize=7, ha="center", zorder=6)
    colour_gas = {"chlorine": "#9acd32", "ammonia": "#8a2be2", "hydrogen_sulfide": "#ff8c00"}
    for sen in s.sensors:
        x, y = sen["position"]
        if sen["type"] == "flammable_gas":
            ax.plot(x, y, "^", color="#d00", ms=4, zorder=7)
        elif sen["type"] == "toxic_gas":
            ax.plot(x, y, "D", color=colour_gas[sen["gas"]], ms=4, zorder=7)
        elif sen["type"] == "flame":
            ax.plot(x, y, "*", color="#f0f", ms=7, zorder=7)
        else:
            ax.plot(x, y, "P", color="#00a", ms=9, zorder=7)
    for r in s.resources:
        x, y = r["position"]
        m = {"hydrant": ("o", "#e00", 3), "monitor": ("s", "#e00", 4), "scba_store": ("h", "#008", 6),
             "first_aid": ("+", "#0a0", 8), "fire_station": ("X", "#e00", 9), "fire_engine": ("x", "#e00", 6),
             "foam_store": ("p", "#e60", 7)}[r["kind"]]
        ax.plot(x, y, m[0], color=m[1], ms=m[2], zorder=7)
    for m in s.muster_points:
        ax.add_patch(Circle(m["position"], m["radius_m"], color="#0b0", alpha=0.45, zorder=6))
        ax.text(m["position"][0], m["position"][1], f"{m['id']}\n{m['capacity']}", fontsize=7, ha="center",
                va="center", zorder=7)
    for m in s.assembly_points:
        ax.add_patch(Circle(m["position"], m["radius_m"], color="#0b0", alpha=0.25, zorder=6))
        ax.text(m["position"][0], m["position"][1], f"{m['id']}\nvia {m['gate_id']}", fontsize=7, ha="center",
                va="center", zorder=7)
    xs = [0.0, SITE_W] + [m["position"][0] for m in s.assembly_points]
    ys = [0.0, SITE_H] + [m["position"][1] for m in s.assembly_points]
    ax.set_xlim(min(xs) - 40, max(xs) + 40)
    ax.set_ylim(min(ys) - 40, max(ys) + 40)
    ax.set_aspect("equal")
    ax.grid(True, lw=0.3, alpha=0.5)
    ax.set_title("SafeTwin demo plant (local frame, m): ^ flammable, diamond toxic (green Cl2, purple NH3, "
                 "orange H2S), * flame, o hydrant, green circles muster points")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=PLANT_DIR, help="plant folder to write (default: %(default)s)")
    ap.add_argument("--png", type=Path, default=None, help="also render a map of the plant to this PNG file")
    ap.add_argument("--no-write", action="store_true", help="only build and check the layout")
    args = ap.parse_args(argv)
    site, extra = build()
    problems = check(site, extra["shifts"])
    if problems:
        print("layout check failed:\n  " + "\n  ".join(problems))
        return 1
    if not args.no_write:
        write(site, extra, args.out)
        print(f"wrote {args.out}")
    if args.png:
        render_png(site, args.png)
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
