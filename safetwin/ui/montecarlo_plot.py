"""Convergence plot of a Monte Carlo run (PNG, matplotlib from the ``ui`` extra): per metric, the
running mean over the first k draws with its confidence band (Student t) and the running P5, P50
and P95 (:func:`safetwin.emergency_planner.montecarlo.convergence`). Where the band is still wide
or the percentiles still move, more draws are needed.

Example::

    >>> from safetwin.emergency_planner.montecarlo import run_montecarlo   # doctest: +SKIP
    >>> res = run_montecarlo("h2s_confined_space", 40, seed=1)            # doctest: +SKIP
    >>> convergence_png(res, "var/mc/convergence.png")                     # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from safetwin.emergency_planner.montecarlo import PERCENTILES, convergence
from safetwin.errors import require_extra

__all__ = ["convergence_png", "DEFAULT_METRICS"]

#: metrics drawn by default (seconds, seconds, people)
DEFAULT_METRICS = ("rset_s", "rset_after_alarm_s", "alarm_s", "expected_harm")


def convergence_png(result: Any, path: str | Path, metrics: tuple[str, ...] = DEFAULT_METRICS, *,
                    dpi: int = 110) -> Path:
    """Write the convergence plot of ``result`` (a :class:`~safetwin.emergency_planner.montecarlo.MonteCarloResult`)
    for ``metrics`` to ``path`` (PNG); metrics without any value are left out. Returns the path."""
    matplotlib = require_extra("matplotlib", extra="ui", purpose="the Monte Carlo convergence plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conf = float(result.summary.get("confidence", 0.95))
    series = [(m, convergence(result.values(m), conf)) for m in metrics]
    series = [(m, c) for m, c in series if c["k"].size]
    fig, axes = plt.subplots(len(series) or 1, 1, figsize=(8, 2.6 * max(len(series), 1)), sharex=True, squeeze=False)
    for ax, (m, c) in zip(axes[:, 0], series):
        ax.fill_between(c["k"], c["mean_low"], c["mean_high"], color="#1f5fa8", alpha=0.18,
                        label=f"mean, {conf:.0%} interval")
        ax.plot(c["k"], c["mean"], color="#1f5fa8", lw=2, label="running mean")
        for p, style in zip(PERCENTILES, (":", "--", ":")):
            ax.plot(c["k"], c[f"p{p}"], color="#555", ls=style, lw=1.2, label=f"P{p}")
        ax.set_ylabel(m)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("draws")
    axes[0, 0].legend(loc="upper right", fontsize=8, ncol=3)
    axes[0, 0].set_title(f"{result.scenario}: convergence over {result.summary.get('n_finished', 0)} draws "
                         f"(seed {result.seed}, people {'varied' if result.summary.get('vary_people') else 'fixed'})")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out
