"""The gridded plume equals the point formula at every node.

``plume_field`` interpolates a 1-D table of the downwind-dependent parts of the Gaussian plume and
falls back to the point formula where the table does not resolve them; these tests compare every
node of 1 200 random fields (sources inside and outside the grid and on nodes, any wind direction,
every stability class, every sigma set including the piecewise ISC3 curves and σθ sigmas, elevated
releases and receptors, mixing lids, odd grid spacings) with :func:`plume_concentration`.

Equality means: relative error ≤ 1e-5 where the exact value exceeds ``NEGLIGIBLE_MG_M3``
(1e-30 mg/m³), and below that bound where the exact value is. The only nodes left out lie on the
crosswind line through the source (|downwind distance| < 1e-6 m), where the formula itself is
singular (a node at x = +1e-16 m is "downwind", one at x = 0 is not).
"""
from __future__ import annotations

import numpy as np
import pytest

from safetwin.emergency_planner.physics.dispersion import NEGLIGIBLE_MG_M3, plume_concentration, plume_field
from safetwin.emergency_planner.physics.grid import GridSpec, to_wind_frame
from safetwin.emergency_planner.physics.sigmas import PasquillSigmas, TurbulenceSigmas

RTOL = 1e-5
N_CASES = 1200


def _random_case(rng: np.random.Generator) -> dict:
    spacing = float(rng.choice([1.0, 2.0, 5.0, 10.0, 20.0, 50.0]))
    nx, ny = (int(n) for n in rng.integers(20, 120, size=2))
    grid = GridSpec(rng.uniform(-3000, 0), rng.uniform(-3000, 0), spacing * rng.uniform(0.5, 1.5),
                    spacing * rng.uniform(0.5, 1.5), nx, ny)
    if rng.random() < 0.3:  # a source on a node
        src = (float(grid.x_m[rng.integers(nx)]), float(grid.y_m[rng.integers(ny)]))
    else:  # anywhere, including outside the grid
        src = (rng.uniform(grid.x_min_m - 200, grid.x_max_m + 200), rng.uniform(grid.y_min_m - 200, grid.y_max_m + 200))
    wind_from = rng.uniform(0, 360) if rng.random() < 0.8 else float(rng.choice([0, 45, 90, 180, 270, 315]))
    cls = str(rng.choice(list("ABCDEF")))
    kind = int(rng.integers(5))
    if kind == 0:
        sig = PasquillSigmas(cls, "briggs_rural")
    elif kind == 1:
        sig = PasquillSigmas(cls, "briggs_urban")
    elif kind == 2:
        sig = PasquillSigmas(cls, "isc3_rural", averaging_time_s=float(rng.choice([60.0, 600.0, 3600.0])))
    elif kind == 3:
        sig = TurbulenceSigmas(rng.uniform(2, 30), cls, rng.uniform(0.5, 8), lateral=str(rng.choice(["draxler", "irwin"])))
    else:
        sig = PasquillSigmas(cls, "ccps_puff")
    return dict(grid=grid, src=src, wind_from=wind_from, sigmas=sig, u=rng.uniform(0.5, 10), rate=10 ** rng.uniform(-3, 3),
                h=float(rng.choice([0.0, rng.uniform(0, 50)])), z=float(rng.choice([0.0, 1.5, rng.uniform(0, 30)])),
                zi=None if rng.random() < 0.6 else rng.uniform(50, 2000))


def _compare(case: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = case["grid"]
    field = plume_field(g, source_xy_m=case["src"], wind_from_deg=case["wind_from"], rate_kg_s=case["rate"],
                        wind_speed_m_s=case["u"], sigmas=case["sigmas"], release_height_m=case["h"],
                        receptor_height_m=case["z"], mixing_height_m=case["zi"]).concentration_mg_m3
    X, Y = g.mesh()
    xd, yc = to_wind_frame(X, Y, case["src"][0], case["src"][1], case["wind_from"])
    exact = plume_concentration(xd, yc, case["z"], rate_kg_s=case["rate"], wind_speed_m_s=case["u"],
                                sigmas=case["sigmas"], release_height_m=case["h"], mixing_height_m=case["zi"]) * 1e6
    return field, exact, np.abs(xd) >= 1e-6


def test_random_fields_equal_the_point_formula_at_every_node() -> None:
    rng = np.random.default_rng(20261207)
    failures = []
    n_nodes = n_above = 0
    for k in range(N_CASES):
        case = _random_case(rng)
        field, exact, checked = _compare(case)
        bad = checked & (np.abs(field - exact) > RTOL * exact + NEGLIGIBLE_MG_M3)
        n_nodes += int(checked.sum())
        n_above += int((exact > NEGLIGIBLE_MG_M3).sum())
        if bad.any():
            j, i = np.argwhere(bad)[0]
            failures.append(f"case {k} ({case['sigmas'].name}, from {case['wind_from']:.1f}°): node {j},{i} "
                            f"grid {field[j, i]:.6g} exact {exact[j, i]:.6g}")
    assert not failures, f"{len(failures)} of {N_CASES} fields differ:\n" + "\n".join(failures[:10])
    assert n_above > 0.05 * n_nodes  # the cases are not vacuous: many nodes carry a real concentration


def test_far_off_axis_cells_are_zero_near_the_source() -> None:
    """The case that drew the ammonia RED zone in nine pieces: 1.1e15 mg/m³ at a node 30 m downwind
    and 1 253 m crosswind (exact: 0), field maximum 1.1e29."""
    g = GridSpec.around(0, 0, 2000, 20)
    f = plume_field(g, source_xy_m=(0, 0), wind_from_deg=300, rate_kg_s=4.5, wind_speed_m_s=1.0,
                    sigmas=PasquillSigmas("F"), release_height_m=1.0).concentration_mg_m3
    X, Y = g.mesh()
    xd, yc = to_wind_frame(X, Y, 0, 0, 300)
    exact = plume_concentration(xd, yc, 0.0, rate_kg_s=4.5, wind_speed_m_s=1.0, sigmas=PasquillSigmas("F"),
                                release_height_m=1.0) * 1e6
    assert f.max() == pytest.approx(exact.max(), rel=RTOL)
    far = (np.abs(yc) > 1000) & (xd < 100)
    assert far.any() and np.all(f[far] <= NEGLIGIBLE_MG_M3)
