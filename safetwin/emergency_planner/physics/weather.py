"""The one weather description of SafeTwin's consequence models.

:class:`Weather` holds the wind measured at ``wind_height_m`` (10 m by default, the synoptic
height), its FROM direction, the Pasquill class (or the time, position and cloud cover to derive
it), optionally the measured standard deviation of the wind azimuth σθ, the mixing height, air
temperature and humidity, and the surface roughness of the site. Every consequence model takes
its wind, sigmas and ambient state from here, with one rule each:

* **wind profile** — power law ``u(z) = u_ref·(z/z_ref)^p`` with the ISC3 rural or urban exponents
  for the class (EPA-454/B-95-003b); the site counts as urban when its roughness is ≥ 0.5 m
  (the urban/suburban boundary of the Davenport–Wieringa roughness classes);
* **transport speed of a passive plume** — the wind at the release height, but not below
  :data:`TRANSPORT_HEIGHT_FLOOR_M` (a near-ground plume is carried by the wind through its depth,
  not by the wind at the nozzle: Prairie Grass, released at 0.46 m, is modelled best with the 2 m
  wind, see docs/consequence.md), and not below :data:`MIN_WIND_SPEED_M_S` (ALOHA's floor);
* **stability** — the Pasquill class given, or from a measured Monin–Obukhov length (Golder 1972
  at the site's roughness), or from time, position and cloud cover (Pasquill–Turner key); a
  measured length also goes to the dense-gas engine as it is (SLAB takes ``1/L``, Ermak 1990);
* **sigmas** — the measured σθ when given (σy = σθ·x·f_y, Draxler 1976, with σz from the
  Pasquill class), the Pasquill–Gifford set of the terrain otherwise; σy scaled to the averaging
  time by ``(t/600 s)^0.2``.

>>> w = Weather(3.0, 270.0, "D")
>>> round(w.transport_speed_m_s(release_height_m=1.0), 3)   # u(2 m) = 3·0.2^0.15
2.357
>>> w.sigmas(averaging_time_s=600.0).name
'briggs_rural:D'
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

import numpy as np

from .sigmas import SIGMA_REFERENCE_AVERAGING_S, PasquillSigmas, SigmaModel, SigmaSet, TurbulenceSigmas, averaging_time_factor
from .stability import golder_class_from_L, pasquill_class_from_weather, resolve_class, wind_speed_at_height

TRANSPORT_HEIGHT_FLOOR_M = 2.0
"""Lowest height (m) at which the transport wind of a passive plume is taken."""
MIN_WIND_SPEED_M_S = 1.0
"""Lowest transport wind speed (m/s) the Gaussian models accept (ALOHA's lower limit)."""
URBAN_ROUGHNESS_M = 0.5
"""Roughness length (m) from which the site is treated as urban (power-law exponents, sigma set)."""
DEFAULT_ROUGHNESS_M = 0.1
"""Roughness length (m) of an industrial site of scattered low buildings and open yards when the
plant does not give one (Wieringa 1992 class "rough": 0.1 m)."""


@dataclass(frozen=True)
class Weather:
    """Weather at the plant (SI units; wind direction = where the wind blows FROM, degrees from north).

    ``stability`` may be a Pasquill class or key ("D", "A-B"); when ``None`` it is derived from
    the wind, ``time`` (UTC-aware), position and cloud cover (Pasquill–Turner key).
    ``obukhov_length_m`` (measured, e.g. by a sonic anemometer; m, negative when unstable) gives the
    class when ``stability`` is ``None`` and the dense-gas engine's stability.
    ``sigma_theta_deg`` (measured σθ over ``sigma_theta_period_s``) switches the lateral spread to
    the turbulence form. ``relative_humidity`` is a fraction 0–1. ``terrain`` overrides the
    rural/urban choice that otherwise follows ``roughness_m``.
    """

    wind_speed_m_s: float
    wind_from_deg: float
    stability: str | None = "D"
    wind_height_m: float = 10.0
    cloud_fraction: float = 0.5
    time: datetime | None = None
    latitude_deg: float | None = None
    longitude_deg: float | None = None
    temperature_k: float = 293.15
    relative_humidity: float = 0.5
    mixing_height_m: float | None = None
    terrain: Literal["rural", "urban"] | None = None
    roughness_m: float = DEFAULT_ROUGHNESS_M
    sigma_theta_deg: float | None = None
    sigma_theta_period_s: float = SIGMA_REFERENCE_AVERAGING_S
    pressure_pa: float = 101325.0
    obukhov_length_m: float | None = None

    def __post_init__(self) -> None:
        if not (np.isfinite(self.wind_speed_m_s) and self.wind_speed_m_s >= 0):
            raise ValueError(f"Weather.wind_speed_m_s must be finite and >= 0, got {self.wind_speed_m_s}")
        if not (self.wind_height_m > 0 and self.roughness_m > 0 and self.temperature_k > 0):
            raise ValueError("Weather: wind_height_m, roughness_m and temperature_k must be positive")
        if not 0.0 <= self.relative_humidity <= 1.0:
            raise ValueError(f"Weather.relative_humidity is a fraction 0..1, got {self.relative_humidity}")
        if self.obukhov_length_m is not None and (self.obukhov_length_m == 0 or np.isnan(self.obukhov_length_m)):
            raise ValueError(f"Weather.obukhov_length_m must be non-zero (inf for neutral), got {self.obukhov_length_m}")
        if self.sigma_theta_deg is not None and not self.sigma_theta_deg > 0:
            raise ValueError(f"Weather.sigma_theta_deg must be positive, got {self.sigma_theta_deg}")

    # -- stability and terrain -------------------------------------------------------------------
    def pasquill_class(self) -> str:
        """One Pasquill letter (given, from the measured Obukhov length, or from the Pasquill–Turner key)."""
        if self.stability is not None:
            return resolve_class(self.stability)
        if self.obukhov_length_m is not None:
            return golder_class_from_L(self.obukhov_length_m, self.roughness_m)
        if self.time is None or self.latitude_deg is None or self.longitude_deg is None:
            raise ValueError("Weather needs a stability class, an Obukhov length, or time + latitude + longitude "
                             "to derive one")
        return pasquill_class_from_weather(self.wind_speed_m_s, self.time, self.latitude_deg, self.longitude_deg,
                                           self.cloud_fraction)

    @property
    def land_use(self) -> Literal["rural", "urban"]:
        """Rural or urban: ``terrain`` when given, else from the roughness length."""
        if self.terrain is not None:
            return self.terrain
        return "urban" if self.roughness_m >= URBAN_ROUGHNESS_M else "rural"

    # -- wind -------------------------------------------------------------------------------------
    def wind_speed_at(self, height_m: float, *, min_speed_m_s: float = 0.0) -> float:
        """Wind speed (m/s) at ``height_m`` from the power-law profile (floored at ``min_speed_m_s``)."""
        return float(wind_speed_at_height(self.wind_speed_m_s, max(height_m, 0.1), self.pasquill_class(),
                                          z_ref_m=self.wind_height_m, terrain=self.land_use,
                                          min_speed_m_s=min_speed_m_s))

    def transport_speed_m_s(self, *, release_height_m: float) -> float:
        """Speed (m/s) that carries a passive plume released at ``release_height_m`` (see module docstring)."""
        return self.wind_speed_at(max(release_height_m, TRANSPORT_HEIGHT_FLOOR_M), min_speed_m_s=MIN_WIND_SPEED_M_S)

    def with_wind(self, *, wind_speed_m_s: float | None = None, wind_from_deg: float | None = None) -> Weather:
        """The same weather with another wind (a wind history is a sequence of these)."""
        return replace(self, wind_speed_m_s=self.wind_speed_m_s if wind_speed_m_s is None else wind_speed_m_s,
                       wind_from_deg=self.wind_from_deg if wind_from_deg is None else wind_from_deg)

    # -- dispersion coefficients -------------------------------------------------------------------
    def sigma_set(self) -> SigmaSet:
        """Pasquill–Gifford set for the terrain: Briggs rural or urban."""
        return "briggs_urban" if self.land_use == "urban" else "briggs_rural"

    def sigmas(self, *, averaging_time_s: float = SIGMA_REFERENCE_AVERAGING_S, release_height_m: float = 0.0,
               sigma_set: SigmaSet | None = None) -> SigmaModel:
        """Sigma model for a passive plume averaged over ``averaging_time_s``: σθ-based when σθ is
        measured, the terrain's Pasquill–Gifford set (or ``sigma_set``) otherwise."""
        cls = self.pasquill_class()
        vertical = sigma_set or self.sigma_set()
        if self.sigma_theta_deg is None:
            return PasquillSigmas(cls, vertical, averaging_time_s=averaging_time_s)
        base = TurbulenceSigmas(self.sigma_theta_deg, cls,
                                wind_speed_m_s=self.transport_speed_m_s(release_height_m=release_height_m),
                                vertical_set=vertical)
        if abs(averaging_time_s - self.sigma_theta_period_s) < 1e-9:
            return base
        return AveragedSigmas(base, averaging_time_factor(averaging_time_s, reference_s=self.sigma_theta_period_s))


@dataclass(frozen=True)
class AveragedSigmas:
    """A sigma model whose σy is multiplied by ``factor`` (averaging time other than the measured one)."""

    base: SigmaModel
    factor: float

    @property
    def name(self) -> str:
        return f"{self.base.name}*{self.factor:.3g}"

    def __call__(self, x_m: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        sy, sz = self.base(np.asarray(x_m, dtype=float))
        return sy * self.factor, sz


__all__ = ["Weather", "AveragedSigmas", "TRANSPORT_HEIGHT_FLOOR_M", "MIN_WIND_SPEED_M_S", "URBAN_ROUGHNESS_M",
           "DEFAULT_ROUGHNESS_M"]
