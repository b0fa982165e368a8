"""A detector past its calibration due time is a suspect voter: shown, but it cannot declare an incident."""
from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from safetwin.emergency_planner.live import LiveIncidentMonitor
from safetwin.emergency_planner.live.replay import decode_readings
from safetwin.live_bridge.scenario_replay import ScenarioReplay
from safetwin.plant_models.loader import bundled_plant_path, load_plant
from safetwin.plant_models.schema import PlantMeta
from safetwin.twin.alarms import AlarmRules
from safetwin.twin.sensor_health import assess_sensors
from safetwin.twin.state import TwinState

T0 = 1.75e9


def _run(suspect_ids: set[str], until_s: float = 300.0):
    """Replay the chlorine drum leak (no detector faults) with ``suspect_ids`` past calibration."""
    rp = ScenarioReplay("chlorine_drum_leak_wind_shift", seed=3, fault_rate_per_h=0.0, site="cal", start_ts=T0,
                        people=0)
    state = TwinState(rp.plant)
    for sid in suspect_ids:
        state.set_calibration_due(sid, T0 - 86400.0)        # lapsed a day before the release
    rules = AlarmRules(state)
    mon = LiveIncidentMonitor(state, rp.wind_at, origin_ts=T0, every_s=5.0).attach()

    def feed(messages) -> None:
        for sid, ts, v, q in sorted(decode_readings(messages), key=lambda r: r[1]):
            quality = "fault" if v is None or q == "bad" else None
            value = math.nan if v is None else float(v)
            state.apply_reading(sid, value, ts, quality=quality)
            rules.evaluate(sid, None if v is None else value, ts,
                           quality or ("ok" if state.reading(sid).quality == "ok" else "out_of_range"))
        mon.poll()

    feed(rp.start_messages())
    t = 0.0
    while t < until_s and not mon.declared:
        t += 1.0
        feed(rp.advance(t))
    return state, mon


def test_plant_file_calibration_due_must_be_timezone_aware(tmp_path):
    """``calibration_due`` in plant.yaml loads as an aware datetime; a naive one is refused, naming the field."""
    meta = load_plant(bundled_plant_path("small_plant")).meta.model_dump()
    meta["sensors"][0]["calibration_due"] = "2025-01-01T00:00:00Z"
    assert PlantMeta.model_validate(meta).sensors[0].calibration_due == datetime(2025, 1, 1, tzinfo=timezone.utc)
    meta["sensors"][0]["calibration_due"] = "2025-01-01T00:00:00"
    with pytest.raises(ValueError, match="calibration_due"):
        PlantMeta.model_validate(meta)


def test_twin_takes_the_plant_files_due_time_and_the_register_can_move_it():
    plant = load_plant(bundled_plant_path("small_plant"))
    sid = plant.meta.sensors[0].id
    plant.meta.sensors[0].calibration_due = datetime(2025, 1, 1, tzinfo=timezone.utc)
    state = TwinState(plant)
    assert state.calibration_due(sid) == datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp()
    state.apply_reading(sid, 1.0, ts=datetime(2025, 2, 1, tzinfo=timezone.utc).timestamp())
    h = assess_sensors(state, now_ts=datetime(2025, 2, 1, tzinfo=timezone.utc).timestamp())[sid]
    assert (h.status, h.votes) == ("suspect", False) and "calibration overdue by 31.0 d" in h.reason
    state.set_calibration_due(sid, datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp())   # recalibrated
    assert assess_sensors(state, now_ts=datetime(2025, 2, 1, tzinfo=timezone.utc).timestamp())[sid].votes


def test_suspect_detectors_are_excluded_from_incident_voting():
    """The leak is declared with every detector calibrated; with every gas detector but one of those
    that agreed past calibration, the same leak is not declared: the suspect heads keep their
    readings but are judged ``suspect`` (with the reason) and never vote."""
    _, mon = _run(set())
    assert mon.declared
    verdict = next(u.declaration for u in mon.history if u.declared)
    explained = sorted(verdict.explained)        # a fixed order, whatever the hash seed
    assert len(explained) >= 2
    keep = explained[0]
    gas_ids = {s.id for s in load_plant(bundled_plant_path("demo_plant")).meta.sensors
               if s.type.value in ("toxic_gas", "flammable_gas")}
    suspect = gas_ids - {keep}
    state, mon2 = _run(suspect)
    assert not mon2.declared, [u.declaration.summary() for u in mon2.history if u.declared][:1]
    # the monitor judges every head's health on each estimate; suspect heads are left out of the voters
    for sid in explained[1:]:
        h = mon2.health[sid]
        assert (h.status, h.votes) == ("suspect", False) and "calibration overdue" in h.reason
    assert state.reading(explained[1]).value > 0                  # their readings are still shown
    assert all(sid not in u.declaration.voters for u in mon2.history if u.declaration for sid in explained[1:])
