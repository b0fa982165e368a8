"""Quantitative risk assessment (QRA) of a plant.

Purple Book (TNO CPR 18E, 1999) style: loss-of-containment events with generic frequencies →
event trees (jet/pool/flash fire, fireball, toxic cloud) → lethality fields per weather class in a
canonical downwind frame, rotated over the wind rose by index arithmetic → individual risk on the
plant grid, societal risk (F-N, PLL) from the on-site shifts and off-site population, contours
1e-4 … 1e-8 /y, criteria (GB 36894 default; Bevi, UK HSE). The case sweep runs on Dask.

Modules: :mod:`.config` (data + plant override), :mod:`.scenarios`, :mod:`.lethality`,
:mod:`.polar`, :mod:`.population`, :mod:`.tasks`, :mod:`.executor`, :mod:`.risk`,
:mod:`.engine` (``run_qra``), :mod:`.report`, :mod:`.cli` (typer ``app``).
"""
from .engine import QraResult, run_qra

__all__ = ["QraResult", "run_qra"]
