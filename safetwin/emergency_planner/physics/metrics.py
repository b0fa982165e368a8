"""Model-evaluation statistics (Chang & Hanna 2004) for paired observations and predictions."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EvaluationScores:
    """FAC2 (fraction within a factor 2), MG = exp(mean ln(Co/Cp)), VG = exp(mean ln²(Co/Cp)),
    FB = (mean Co − mean Cp)/(½(mean Co + mean Cp)), NMSE = mean((Co−Cp)²)/(mean Co·mean Cp).

    MG > 1 and FB > 0 mean the model under-predicts.
    """

    n: int
    fac2: float
    mg: float
    vg: float
    fb: float
    nmse: float


def evaluation_scores(observed: np.ndarray, predicted: np.ndarray) -> EvaluationScores:
    """Scores for strictly positive paired arrays (pairs with a non-positive value are dropped).

    >>> s = evaluation_scores(np.array([1.0, 2.0]), np.array([1.0, 8.0]))
    >>> s.fac2, round(s.mg, 3)
    (0.5, 0.5)
    """
    co = np.asarray(observed, dtype=float).ravel()
    cp = np.asarray(predicted, dtype=float).ravel()
    if co.shape != cp.shape:
        raise ValueError("observed and predicted must have the same size")
    ok = (co > 0) & (cp > 0) & np.isfinite(co) & np.isfinite(cp)
    co, cp = co[ok], cp[ok]
    if co.size == 0:
        raise ValueError("no valid pairs")
    ratio = cp / co
    lr = np.log(co / cp)
    return EvaluationScores(
        n=int(co.size),
        fac2=float(np.mean((ratio >= 0.5) & (ratio <= 2.0))),
        mg=float(np.exp(lr.mean())),
        vg=float(np.exp((lr**2).mean())),
        fb=float((co.mean() - cp.mean()) / (0.5 * (co.mean() + cp.mean()))),
        nmse=float(np.mean((co - cp) ** 2) / (co.mean() * cp.mean())),
    )
