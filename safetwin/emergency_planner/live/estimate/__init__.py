"""Source estimation from live detector readings: where is the leak, and how big is it?

:func:`estimate_source` inverts the forward model of :mod:`..kernel` (the steady limit of the
planner's puff train, switched on at the release start) over a set of hypotheses
(:mod:`.hypotheses`)

* every candidate **equipment** item (by default: every item of the plant whose inventory is a
  substance one of the alarming detectors responds to), at the centroid the planner uses for
  releases there, and
* a **grid of free points** (``params.grid_spacing_m``, default 10 m) over the plant, for each
  candidate substance group (substances that the detectors cannot tell apart share one fit),

each for a few release heights (``params.release_heights_m``). The rate Q is a continuous
parameter: the model is linear in Q, and the best ``ln Q`` per hypothesis is found by a decade
scan and a Gauss–Newton/IRLS iteration (a numba loop over the hypotheses) on a robust likelihood
(:mod:`.rate_fit`):

* readings are averaged in ``bin_s`` bins over the last ``window_s`` seconds, per detector
  (:mod:`.binning`);
* residuals are taken in ``asinh(v / c_k)`` space, with ``c_k = noise_frac × span`` of the
  detector (:mod:`.detectors`): linear (absolute noise) near zero, logarithmic (relative model
  error, ``log_sigma``) for large readings, so a detector reading ~0 rules out locations whose
  plume would cover it;
* Student-t (ν = ``student_nu``) errors make a faulty detector an outlier, not a disaster;
* the release start t0 of each hypothesis is the latest start consistent with the detectors
  that have risen (``t_rise − x/u``), so detectors the plume front has not reached yet are not
  expected to read anything (:mod:`.release_start`);
* only the (hypothesis, detector, bin) triples a capped rate can make matter are evaluated
  (:mod:`.group_fit`).

Hypotheses are scored by a Laplace approximation of their marginal likelihood (the rate
integrated out under a flat prior in ``ln Q``) times a prior that puts ``params.prior_equipment``
of the mass on the candidate equipment (:mod:`.evidence`). The result, :class:`SourceEstimate`,
carries the best equipment or point, the rate, the posterior over the equipment, the radius
around the best location that holds 90 % of the posterior, and the 5–95 % interval of the rate
(:mod:`.summary`).

:func:`predict_plume` (:mod:`.prediction`) turns an estimate into a concentration function
``c(x, y, t)`` (mg/m³) for the hazard-aware routing: a puff train from the estimated source under
the current wind.

Example (a noise-free synthetic case on the demo plant)::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.emergency_planner.live.observations import WindInput
    >>> from safetwin.emergency_planner.live.replay import synthetic_observations
    >>> plant = load_plant(bundled_plant_path("demo_plant"))
    >>> wind = WindInput(3.5, 100.0, "D")
    >>> obs = synthetic_observations(plant, "propane", (712.0, 370.0), 5.0, wind, t_end_s=90.0)
    >>> est = estimate_source(obs, plant, wind)
    >>> est.equipment_id, round(est.rate_kg_s, 1)
    ('V-3102', 5.0)
"""
from .estimator import estimate_source
from .hypotheses import candidate_equipment
from .prediction import predict_plume
from .records import EstimationError, EstimationParams, SourceEstimate

__all__ = [
           "EstimationError",
           "EstimationParams",
           "SourceEstimate",
           "candidate_equipment",
           "estimate_source",
           "predict_plume",
]
