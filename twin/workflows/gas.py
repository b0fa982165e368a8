"""Gas-test pass rule: age ≤ max age and concentration within the pack's limits.

Flammables are judged in absolute %vol by the gas's LEL (GB 30871 5.3.2: LEL ≥ 4 % → ≤ 0.5 %vol,
else ≤ 0.2 %vol) or as a fraction of LEL (OSHA 1910.146: 10 % LFL). Oxygen in %vol; toxics in
mg/m³ (ppm converted at 25 °C, 1 atm: mg/m³ = ppm · M / 24.45).

>>> from .rulepack import load_pack
>>> judge(load_pack("gb30871_2022"), "methane", 8.0, "%LEL")   # 0.4 %vol ≤ 0.5
(True, 'methane 0.4 %vol ≤ 0.5 %vol (LEL 5 %vol; 5.3.2 a)', '5.3.2 a')
"""
from __future__ import annotations

from datetime import datetime, timedelta

from .errors import GuardFailed
from .rulepack import RulePack, gas_constants

MOLAR_VOLUME_L = 24.45  # L/mol at 25 °C, 1 atm


def _const(gas: str) -> dict[str, float]:
    table = gas_constants()
    c = table.get(gas) or table.get(gas.lower()) or table.get(gas.upper())
    if c is None:
        raise GuardFailed(f"unknown gas {gas!r}; known: {sorted(table)}", "unknown_gas")
    return c


def to_vol_percent(gas: str, value: float, unit: str) -> float:
    """Convert a concentration to %vol."""
    if unit == "%vol":
        return value
    if unit == "ppm":
        return value / 1e4
    if unit == "%LEL":
        lel = _const(gas).get("lel_vol")
        if lel is None:
            raise GuardFailed(f"{gas} has no LEL; a %LEL reading makes no sense", "bad_unit")
        return value / 100.0 * lel
    if unit == "mg/m3":
        return value * MOLAR_VOLUME_L / _const(gas)["mw"] / 1e4
    raise GuardFailed(f"unknown unit {unit!r}", "bad_unit")


def to_mg_m3(gas: str, value: float, unit: str) -> float:
    """Convert a concentration to mg/m³ (25 °C, 1 atm)."""
    if unit == "mg/m3":
        return value
    return to_vol_percent(gas, value, unit) * 1e4 * _const(gas)["mw"] / MOLAR_VOLUME_L


def judge(pack: RulePack, gas: str, value: float, unit: str) -> tuple[bool, str, str]:
    """Judge one concentration against the pack: ``(passed, explanation, clause)``."""
    rules = pack.gas_test
    if gas in ("O2", "oxygen"):
        v = to_vol_percent("O2", value, unit)
        ok = rules.oxygen_vol.min <= v <= rules.oxygen_vol.max
        return ok, f"O2 {v:g} %vol {'within' if ok else 'outside'} {rules.oxygen_vol.min:g}–{rules.oxygen_vol.max:g} %vol", rules.oxygen_vol.clause
    toxic = rules.toxic_limits_mg_m3.get(gas)
    if toxic is not None:
        mg = to_mg_m3(gas, value, unit)
        ok = mg <= toxic
        return ok, f"{gas} {mg:.3g} mg/m3 {'≤' if ok else '>'} {toxic:g} mg/m3", "toxic limit"
    lel = _const(gas).get("lel_vol")
    if lel is None:
        raise GuardFailed(f"no limit for {gas!r} in pack {pack.id}", "no_limit")
    v = round(to_vol_percent(gas, value, unit), 6)
    for lim in rules.flammable_limits:
        if lim.lel_fraction is not None:
            limit = lim.lel_fraction * lel
        elif lim.lel_min_vol is not None and lel >= lim.lel_min_vol and lim.limit_vol is not None:
            limit = lim.limit_vol
        else:
            continue
        ok = v <= limit
        return ok, f"{gas} {v:g} %vol {'≤' if ok else '>'} {limit:g} %vol (LEL {lel:g} %vol; {lim.clause})", lim.clause
    raise GuardFailed(f"pack {pack.id} has no flammable limit for LEL {lel}", "no_limit")


def fresh(sampled_at: datetime, now: datetime, max_age_min: float) -> bool:
    """True when a sample is not older than ``max_age_min`` and not from the future (1 min skew allowed)."""
    age = now - sampled_at
    return timedelta(minutes=-1) <= age <= timedelta(minutes=max_age_min)
