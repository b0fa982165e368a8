"""Gas-test pass rule: age ≤ max age and every hazard of the gas within the pack's limits.

A gas is judged by what it is, looked up in the one substance table (:mod:`safetwin.substances`,
aliases included, so ``NH3``, ``ammonia`` and ``液氨`` are the same gas):

* flammable (it has an LEL): in absolute %vol by its LEL (GB 30871-2022 5.3.2: LEL ≥ 4 %vol →
  ≤ 0.5 %vol, else ≤ 0.2 %vol) or as a fraction of its LEL (OSHA 1910.146: 10 % LFL);
* toxic: in mg/m³ against the first limit of the pack's basis (GB pack: MAC, else PC-TWA of
  GBZ 2.1-2019, as GB 30871-2022 6.4 b asks); ppm converted at 25 °C, 1 atm (mg/m³ = ppm · M / 24.45).
  Acutely toxic and carcinogenic gases (Cl2, NH3, H2S, CO, SO2, HCN, benzene) in every test; gases
  with chronic limits only (hexane, gasoline, LPG) in the permit types the pack names (confined space);
* a gas that is both (ammonia, H2S, CO, HCN, benzene …) passes only when it passes both;
* oxygen by its own %vol range;
* an acutely toxic gas for which the pack has no limit is refused, never judged by flammability alone.

>>> from .rulepack import load_pack
>>> gb = load_pack("gb30871_2022")
>>> judge(gb, "methane", 8.0, "%LEL")   # 0.4 %vol ≤ 0.5
(True, 'methane 0.4 %vol ≤ 0.5 %vol (LEL 5 %vol; 5.3.2 a)', '5.3.2 a')
>>> judge(gb, "ammonia", 200.0, "ppm")[:2]   # 139 mg/m³ against PC-TWA 20; flammability alone would pass
(False, 'ammonia 139 mg/m3 > 20 mg/m3 (GBZ 2.1-2019 PC-TWA; 6.4 b); ammonia 0.02 %vol ≤ 0.5 %vol (LEL 15 %vol; 5.3.2 a)')
>>> judge(gb, "hexane", 5.0, "%LEL", "hot_work")[0], judge(gb, "hexane", 5.0, "%LEL", "confined_space")[0]
(True, False)
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from safetwin.substances import (
    ALWAYS_TOXIC, LIMITS, MOLAR_VOLUME_L_25C, UnknownSubstance, canonical_name, get_substance, is_oxygen,
)

from .domain import GasReading
from .errors import GuardFailed
from .rulepack import RulePack

CONCENTRATION_UNITS = ("%LEL", "%vol", "ppm", "mg/m3")
OXYGEN_MOLAR_MASS_G_MOL = 32.00


def resolve_gas(gas: str) -> str:
    """The canonical substance name of a gas (``"O2"`` for oxygen); :class:`GuardFailed` ``unknown_gas``
    with the closest known names otherwise."""
    if is_oxygen(gas):
        return "O2"
    try:
        return canonical_name(gas)
    except UnknownSubstance as e:
        raise GuardFailed(str(e.args[0]), "unknown_gas") from None


def _molar_mass_g_mol(name: str) -> float:
    return OXYGEN_MOLAR_MASS_G_MOL if name == "O2" else get_substance(name).molar_mass_g_mol


def _lel_vol(name: str) -> float | None:
    if name == "O2":
        return None
    lfl = get_substance(name).lfl_vol_frac
    return None if lfl is None else lfl * 100.0


def to_vol_percent(gas: str, value: float, unit: str) -> float:
    """Convert a concentration to %vol (25 °C, 1 atm)."""
    name = resolve_gas(gas)
    if unit == "%vol":
        return value
    if unit == "ppm":
        return value / 1e4
    if unit == "%LEL":
        lel = _lel_vol(name)
        if lel is None:
            raise GuardFailed(f"{gas} has no LEL; a %LEL reading makes no sense", "bad_unit")
        return value / 100.0 * lel
    if unit == "mg/m3":
        return value * MOLAR_VOLUME_L_25C / _molar_mass_g_mol(name) / 1e4
    raise GuardFailed(f"unknown unit {unit!r}; use one of {', '.join(CONCENTRATION_UNITS)}", "bad_unit")


def to_mg_m3(gas: str, value: float, unit: str) -> float:
    """Convert a concentration to mg/m³ (25 °C, 1 atm)."""
    if unit == "mg/m3":
        return value
    return to_vol_percent(gas, value, unit) * 1e4 * _molar_mass_g_mol(resolve_gas(gas)) / MOLAR_VOLUME_L_25C


def toxic_limit(pack: RulePack, name: str, permit_type: str | None = None) -> tuple[float, str] | None:
    """The pack's toxic pass limit (mg/m³) for a canonical substance name in a test for a permit
    type, with its label; None when the test does not judge this gas as toxic."""
    rules = pack.gas_test
    if name in rules.toxic_limits_mg_m3:
        return rules.toxic_limits_mg_m3[name], f"{pack.id} site limit"
    basis = rules.occupational_limits
    if basis is None or not (name in ALWAYS_TOXIC or permit_type in basis.every_limited_gas_for):
        return None
    limits = LIMITS[basis.table].get(name)
    found = limits.pass_limit(tuple(basis.basis)) if limits is not None else None
    if found is None:
        return None
    value, kind = found
    return value, f"{basis.table} {kind}" + (f"; {basis.clause}" if basis.clause else "")


def _judge_flammable(pack: RulePack, name: str, value: float, unit: str) -> tuple[bool, str, str]:
    lel = _lel_vol(name)
    assert lel is not None
    v = round(to_vol_percent(name, value, unit), 6)
    for lim in pack.gas_test.flammable_limits:
        if lim.lel_fraction is not None:
            limit = lim.lel_fraction * lel
        elif lim.lel_min_vol is not None and lel >= lim.lel_min_vol and lim.limit_vol is not None:
            limit = lim.limit_vol
        else:
            continue
        ok = v <= limit
        return ok, f"{name} {v:g} %vol {'≤' if ok else '>'} {limit:g} %vol (LEL {lel:g} %vol; {lim.clause})", lim.clause
    raise GuardFailed(f"pack {pack.id} has no flammable limit for LEL {lel:g} %vol", "no_limit")


def judge(pack: RulePack, gas: str, value: float, unit: str, permit_type: str | None = None) -> tuple[bool, str, str]:
    """Judge one concentration taken for a permit of ``permit_type`` against the pack:
    ``(passed, explanation, clause)``.

    Every hazard of the gas is judged; the test passes only when all pass. Raises
    :class:`GuardFailed` for an unknown gas or unit, a unit that does not fit the gas (%LEL of
    chlorine) and a gas the pack cannot judge."""
    if unit not in CONCENTRATION_UNITS:
        raise GuardFailed(f"unit {unit!r} is not a concentration; use one of {', '.join(CONCENTRATION_UNITS)}", "bad_unit")
    if value < 0:
        raise GuardFailed(f"a concentration cannot be negative ({value:g} {unit})", "bad_value")
    name = resolve_gas(gas)
    rules = pack.gas_test
    if name == "O2":
        v = to_vol_percent("O2", value, unit)
        ok = rules.oxygen_vol.min <= v <= rules.oxygen_vol.max
        return (ok, f"O2 {v:g} %vol {'within' if ok else 'outside'} {rules.oxygen_vol.min:g}–{rules.oxygen_vol.max:g} %vol",
                rules.oxygen_vol.clause)
    verdicts: list[tuple[bool, str, str]] = []
    limit = toxic_limit(pack, name, permit_type)
    if limit is not None:
        mg = to_mg_m3(name, value, unit)
        ok = mg <= limit[0]
        verdicts.append((ok, f"{name} {mg:.3g} mg/m3 {'≤' if ok else '>'} {limit[0]:g} mg/m3 ({limit[1]})", limit[1]))
    elif name in ALWAYS_TOXIC:
        raise GuardFailed(f"pack {pack.id} has no occupational limit for {name}, which is toxic: "
                          "add one to the pack's toxic_limits_mg_m3", "no_limit")
    if _lel_vol(name) is not None:
        verdicts.append(_judge_flammable(pack, name, value, unit))
    if not verdicts:
        raise GuardFailed(f"pack {pack.id} has no limit for {name}", "no_limit")
    return (all(v[0] for v in verdicts), "; ".join(v[1] for v in verdicts),
            "; ".join(dict.fromkeys(v[2] for v in verdicts if v[2])))


def judge_readings(pack: RulePack, readings: Iterable[tuple[str, float, str]],
                   permit_type: str | None = None) -> tuple[bool, str, list[GasReading]]:
    """Judge every ``(gas, value, unit)`` of one test (a multi-gas instrument reads several at
    once): ``(passed, explanation, judged readings)``; the test passes only when all pass. The
    gas of each judged reading is its canonical name (``NH3`` → ``ammonia``). A gas read twice in
    one test is refused (which value would count?).

    >>> from .rulepack import load_pack
    >>> ok, why, judged = judge_readings(load_pack("gb30871_2022"), [("O2", 20.9, "%vol"), ("CH4", 4.0, "%LEL"),
    ...                                                               ("H2S", 12.0, "ppm")])
    >>> ok, [(r.gas, r.passed) for r in judged]
    (False, [('O2', True), ('methane', True), ('hydrogen sulfide', False)])
    """
    judged: list[GasReading] = []
    for gas, value, unit in readings:
        name = resolve_gas(gas)
        if any(r.gas == name for r in judged):
            raise GuardFailed(f"{name} is read twice in one test; give each gas once", "duplicate_gas")
        ok, why, clause = judge(pack, name, float(value), unit, permit_type)
        judged.append(GasReading(gas=name, value=float(value), unit=unit, passed=ok, reason=why,  # type: ignore[arg-type]
                                 limit_rule=clause))
    if not judged:
        raise GuardFailed("a gas test needs at least one reading", "incomplete")
    return all(r.passed for r in judged), "; ".join(r.reason for r in judged), judged


def fresh(sampled_at: datetime, now: datetime, max_age_min: float) -> bool:
    """True when a sample is not older than ``max_age_min`` and not from the future (1 min skew allowed)."""
    age = now - sampled_at
    return timedelta(minutes=-1) <= age <= timedelta(minutes=max_age_min)
