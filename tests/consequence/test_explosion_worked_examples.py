"""Published worked examples of explosion blast, reproduced from their inputs.

* CCPS, *Chemical Hazards Engineering Fundamentals* (CHEF) Guide, AIChE/CCPS, ch. 13 "Explosions",
  p. 222 (https://www.aiche.org/sites/default/files/html/ccps/2979346/new/files/basic-html/page222.html):
  "Estimate the distance to 1 psi overpressure for a runaway reaction representing a deflagration
  or detonation. Use an enthalpy of reaction of 1 × 10⁶ kJ": 1 × 10⁶ kJ / 4600 kJ/kg = 217 kg TNT;
  1 psi at scaled distance Z = 18 m/kg^(1/3) on the TNT chart; X = 18 · 217^(1/3) = 108 m.
  SafeTwin's TNT curve (Kingery–Bulmash surface burst, Swisdak 1994, ``physics.blast``) gives
  109.0 m: +1.0 %.

No published worked example of the multi-energy or Baker–Strehlow–Tang method with its numbers was
found (searched 2026-12-08: Crowl & Louvar, CCPS CHEF Guide ch. 13, TNO Yellow Book ch. 5 — the
CHEF Guide gives the BST chart and its 2E ground-reflection convention, which ``physics.vce`` uses,
but no worked BST figure); those two methods are checked by hand calculation and against their
physical limits in tests/physics/test_vce.py, not against a published answer.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from safetwin.emergency_planner.physics.blast import tnt_surface_burst

PSI_PA = 6894.757


def test_ccps_chef_guide_tnt_worked_example_within_5_percent() -> None:
    energy_kj = 1.0e6
    tnt_kg = energy_kj / 4600.0            # the example's TNT energy (kJ/kg), not SafeTwin's 4686
    assert tnt_kg == pytest.approx(217.0, abs=0.5)
    published_m = 108.0

    def excess(r_m: float) -> float:
        return float(tnt_surface_burst(np.array([r_m]), tnt_kg)[0][0]) - PSI_PA

    distance = brentq(excess, 10.0, 1000.0, xtol=1e-6)
    print(f"\nCHEF Guide p. 222: 1 psi at {distance:.1f} m (published {published_m:.0f} m, "
          f"{100 * (distance / published_m - 1):+.1f} %), Z = {distance / tnt_kg ** (1 / 3):.2f} (chart 18)")
    assert distance == pytest.approx(published_m, rel=0.05)
    assert distance / tnt_kg ** (1 / 3) == pytest.approx(18.0, rel=0.05)
    # the curve falls monotonically through the level (a single crossing)
    r = np.linspace(20.0, 500.0, 200)
    assert np.all(np.diff(tnt_surface_burst(r, tnt_kg)[0]) < 0)
