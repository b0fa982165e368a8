"""Overpressure effects: Green Book probits by hand, equipment escalation against the reference values."""
from __future__ import annotations

import numpy as np
import pytest

from safetwin.emergency_planner.physics.effects import probit_to_probability
from safetwin.emergency_planner.physics.overpressure import (
    EQUIPMENT_THRESHOLD_PA, OVERPRESSURE_LEVELS_PA, body_displacement_probit, building_damage_probit,
    eardrum_rupture_probit, equipment_escalation_probability, head_impact_probit, lung_damage_probit,
    people_lethality_outdoors, reflected_overpressure_pa)


def test_green_book_probits_by_hand() -> None:
    ps, i = 2.0e5, 2000.0
    assert float(head_impact_probit(ps, i)) == pytest.approx(5 - 8.49 * np.log(2430 / ps + 4e8 / (ps * i)))
    assert float(body_displacement_probit(ps, i)) == pytest.approx(5 - 2.44 * np.log(7380 / ps + 1.3e9 / (ps * i)))
    p_bar, i_bar = ps / 101325.0, i / (101325.0**0.5 * 70.0 ** (1 / 3))
    assert float(lung_damage_probit(ps, i)) == pytest.approx(5 - 5.74 * np.log(4.2 / p_bar + 1.3 / i_bar))
    assert float(eardrum_rupture_probit(ps)) == pytest.approx(-12.6 + 1.524 * np.log(ps))
    v = (17500 / ps) ** 8.4 + (290 / i) ** 9.3
    assert float(building_damage_probit(ps, i, "major")) == pytest.approx(5 - 0.26 * np.log(v))


def test_probits_are_monotone_and_ordered() -> None:
    ps = np.geomspace(1e3, 1e6, 50)
    i = ps * 0.01
    for f in (head_impact_probit, body_displacement_probit, lung_damage_probit):
        assert np.all(np.diff(f(ps, i)) > 0)
    minor, major, collapse = (probit_to_probability(building_damage_probit(ps, i, lv))
                              for lv in ("minor", "major", "collapse"))
    # nested, except within 1e-2 near P = 1 where the Green Book forms cross (0.9962 vs 0.9971 at 91 kPa)
    assert np.all(minor >= major - 1e-2) and np.all(major >= collapse - 1e-2)
    # a reflected exposure is worse than side-on
    assert np.all(lung_damage_probit(ps, i, exposure="reflected") > lung_damage_probit(ps, i))
    assert np.all(reflected_overpressure_pa(ps) > 2 * ps - 1e-9)
    p = people_lethality_outdoors(ps, i)
    assert p[0] < 1e-6 and p[-1] > 0.99
    with pytest.raises(ValueError):
        building_damage_probit(1e4, 100.0, "total")  # type: ignore[arg-type]


def test_equipment_escalation_reference_values() -> None:
    """[CALC] Cozzani et al. 2005 escalation probits at 30 kPa: atmospheric 0.884, pressurised 0.0025, elongated 0.311,
    auxiliary 0.376; nothing below the Cozzani et al. (2005) thresholds."""
    for kind, p in (("atmospheric", 0.884), ("pressurised", 0.0025), ("elongated", 0.311), ("auxiliary", 0.376)):
        got = float(equipment_escalation_probability(30e3, kind))  # type: ignore[arg-type]
        if 30e3 >= EQUIPMENT_THRESHOLD_PA[kind]:
            assert got == pytest.approx(p, rel=0.03)
        else:
            assert got == 0.0
        assert float(equipment_escalation_probability(EQUIPMENT_THRESHOLD_PA[kind] * 0.99, kind)) == 0.0  # type: ignore[arg-type]


def test_aloha_levels_in_pascal() -> None:
    assert OVERPRESSURE_LEVELS_PA["RED"] == pytest.approx(55158, rel=1e-4)
    assert OVERPRESSURE_LEVELS_PA["ORANGE"] == pytest.approx(24132, rel=1e-4)
    assert OVERPRESSURE_LEVELS_PA["YELLOW"] == pytest.approx(6895, rel=1e-4)
