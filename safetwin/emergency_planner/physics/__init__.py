"""Consequence-model physics of SafeTwin: plain typed numpy code, no I/O.

Modules (one job each):

* :mod:`.substances` — property data with sources; AEGL per duration, ERPG, IDLH, probits; ppm ↔ mg/m³.
* :mod:`.source_terms` — gas/liquid discharge, flashing, blowdown, pool spreading and evaporation.
* :mod:`.stability` — Pasquill class (Pasquill–Turner key, Turner NRI, SRDT, σθ, Golder), wind power law.
* :mod:`.sigmas` — σy/σz sets (Briggs rural/urban, ISC3 rural, CCPS puff) and turbulence-based σy.
* :mod:`.dispersion` — Gaussian plume and puffs, puff train under a wind history, fast grid kernels.
* :mod:`.effects` — toxic/flammable thresholds, toxic load and probits along paths, thermal probits.
* :mod:`.fire` — pool fire (solid flame, point source) and API 521 jet fire.
* :mod:`.fireball` — BLEVE fireball (CCPS / Yellow Book): size, duration, SEP, view factor, dose.
* :mod:`.blast` — Sachs scaling, the TNT curve, vessel-burst and BLEVE blast, :class:`BlastWave`.
* :mod:`.overpressure` — Green Book probits (people, buildings), equipment escalation by overpressure.
* :mod:`.flammable_cloud` — cloud input type, flammable mass between LFL and UFL.
* :mod:`.flash_fire` — LFL / ½ LFL envelope of a cloud.
* :mod:`.congestion` — congestion and confinement of a plant region from footprints and heights.
* :mod:`.vce` — vapour cloud explosion: TNO multi-energy (GAME, Kinsella) and Baker–Strehlow–Tang.
* :mod:`.flame_blast` — the constant-velocity flame blast solver behind the detonation curve.
* :mod:`.domino` — escalation between equipment over time; cellular area spread.
* :mod:`.zones` — fields → shapely zones per risk level → GeoJSON.
* :mod:`.consequence` — ``compute_consequence_zones(release, weather, grid)``, the single entry point.
* :mod:`.grid`, :mod:`.metrics` — plant-frame grid; model-evaluation scores.

Conventions (DESIGN.md): SI units, concentrations in mg/m³ (ppm at 25 °C, 1 atm), plant frame x east /
y north / z up (m), wind direction = FROM, degrees clockwise from north; levels RED/ORANGE/YELLOW/BLUE.
"""
