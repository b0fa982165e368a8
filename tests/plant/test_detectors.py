"""The one concentration → detector-unit conversion, against hand-computed readings.

Hand computations use 24.45 L/mol (25 °C, 1 atm) and the molar masses and lower flammable limits
(NFPA 497) of the substance table: chlorine 70.906 g/mol; methane 16.04246 g/mol, LFL 5.0 %vol;
propane 44.09562 g/mol, LFL 2.1 %vol.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from safetwin.emergency_planner.live.observations import response_factor as estimator_factor
from safetwin.plant_models.detectors import clean_air_reading, detector_reading, responds, response_factor
from safetwin.plant_models.schema import Sensor
from safetwin.substances import get_substance

CL2, CH4, C3H8, NH3 = (get_substance(n) for n in ("chlorine", "methane", "propane", "ammonia"))


def head(kind: str, unit: str, gas: str | None = None) -> Sensor:
    return Sensor(id="X", type=kind, unit=unit, gas=gas, position=(0.0, 0.0))


def test_ppm_and_mg_m3_heads_read_their_own_gas():
    # 100 mg/m³ chlorine = 100 · 24.45 / 70.906 = 34.4823 ppm
    assert float(detector_reading(head("toxic_gas", "ppm", "chlorine"), CL2, 100.0)) == pytest.approx(34.4823, abs=1e-4)
    assert float(detector_reading(head("toxic_gas", "mg/m3", "Cl2"), CL2, 100.0)) == 100.0
    # any of the gas's names; another gas is not seen
    assert float(detector_reading(head("toxic_gas", "ppm", "液氯"), CL2, 100.0)) == pytest.approx(34.4823, abs=1e-4)
    assert float(detector_reading(head("toxic_gas", "ppm", "chlorine"), NH3, 100.0)) == 0.0
    assert not responds(head("toxic_gas", "ppm", "no such gas"), CL2)
    # a head without a declared gas reads every gas
    assert responds(head("toxic_gas", "ppm"), NH3)


def test_lel_heads_read_every_flammable_gas():
    # methane: LFL = 50 000 ppm = 50 000 · 16.04246 / 24.45 = 32 806.7 mg/m³; 3 280.67 mg/m³ = 10 %LEL
    lel = head("flammable_gas", "%LEL", "methane")
    assert float(detector_reading(lel, CH4, 3280.67)) == pytest.approx(10.0, abs=1e-4)
    # propane seen by a methane-calibrated head: LFL 21 000 ppm = 37 873.5 mg/m³; 18 936.8 mg/m³ = 50 %LEL
    assert float(detector_reading(lel, C3H8, 18936.77)) == pytest.approx(50.0, abs=1e-4)
    assert float(detector_reading(lel, CL2, 1e4)) == 0.0          # chlorine does not burn


def test_vol_percent_gas_head_and_oxygen_head():
    # 10 %vol methane = 100 000 ppm = 100 000 · 16.04246 / 24.45 = 65 613.3 mg/m³
    c = 1e5 * 16.04246 / 24.45
    assert float(detector_reading(head("flammable_gas", "%vol", "methane"), CH4, c)) == pytest.approx(10.0)
    # an oxygen head reads 20.9 · (1 − 0.1) = 18.81 %vol, and 20.9 in clean air
    o2 = head("oxygen", "%vol")
    assert clean_air_reading(o2) == 20.9
    assert float(detector_reading(o2, CH4, c)) == pytest.approx(18.81)
    assert float(detector_reading(o2, CH4, 0.0)) == 20.9
    # two gases add their volume fractions: 5 %vol methane + 5 %vol propane → 18.81
    c_ch4, c_c3h8 = 5e4 * 16.04246 / 24.45, 5e4 * 44.09562 / 24.45
    both = clean_air_reading(o2) + response_factor(o2, CH4) * c_ch4 + response_factor(o2, C3H8) * c_c3h8
    assert both == pytest.approx(18.81)
    # beyond pure gas the head reads 0, never negative
    assert float(detector_reading(o2, CH4, 2 * c * 10)) == 0.0


def test_sensors_that_read_no_concentration():
    for kind, unit in (("flame", "binary"), ("heat", "degC"), ("weather", "met"), ("oxygen", "ppm")):
        assert response_factor(head(kind, unit), CH4) == 0.0
        assert clean_air_reading(head(kind, unit)) == 0.0
    assert np.all(detector_reading(head("flame", "binary"), CH4, np.array([0.0, 1e6])) == 0.0)


def test_the_estimator_uses_the_same_conversion(demo_plant):
    for sensor in demo_plant.sensors.values():
        for sub in (CL2, C3H8, get_substance("hydrogen sulfide"), NH3):
            expect = response_factor(sensor, sub) if sensor.unit in ("ppm", "%LEL", "mg/m3") and \
                sensor.type.value in ("toxic_gas", "flammable_gas") else 0.0
            assert estimator_factor(sensor, sub) == expect


@pytest.mark.parametrize("module", ["safetwin.live_bridge.simulator", "safetwin.scenarios.loader"])
def test_module_does_not_load_the_planner(module):
    """The simulated plant gets its plume from the caller; the scenario loader resolves substances
    in the substance table: neither loads the emergency planner."""
    code = (f"import sys, {module}; bad = sorted(m for m in sys.modules if m.startswith('safetwin.emergency_planner'));"
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
