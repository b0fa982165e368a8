"""Parameter data classes of the evacuation model (SI units throughout).

Every number the model uses is a field of one of these frozen data classes, with its unit in
the name or the docstring, so a run is fully described by ``(geometry, population, params)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["LocomotionParams", "NavigationParams", "BehaviourParams", "WatchdogParams", "OutputParams",
           "EvacuationParams"]


@dataclass(frozen=True)
class LocomotionParams:
    """Collision-free speed model (Tordeux, Chraibi & Seyfried 2016, "Collision-free speed model
    for pedestrian dynamics", Traffic and Granular Flow '15, arXiv:1512.05597).

    Velocity of agent i is ``V_i(s_i) * e_i`` with

    * ``e_i = normalise(e0_i + sum_j R(|x_i - x_j|) n_ij + sum_walls R_w(d_iw) n_iw [+ K_i])`` where
      ``e0_i`` is the desired direction (``-grad T`` of the navigation field),
      ``R(d) = a exp((l_ij - d) / D)`` with ``l_ij = r_i + r_j``, ``R_w(d) = a_w exp((r_i - d) / D_w)``;
    * ``V_i(s) = min(v0_i, max(0, (s - l) / T_i))`` where ``s`` is the distance to the nearest
      neighbour j that is ahead (``e_i . (x_j - x_i) >= 0``) and in the agent's lane
      (``|e_i^perp . (x_j - x_i)| <= l_ij``), ``l`` the contact distance ``r_i + r_j``.

    ``K_i`` is SafeTwin's addition for counter-flow (NIST TN 1822 verification 2.8): for an oncoming
    neighbour ahead in the lane, a sideways push to the right of strength
    ``a_counter exp((l_ij - d) / D_counter)`` breaks the head-on symmetry that makes the plain
    model deadlock; it is zero in unidirectional flow.

    Wall contact is excluded by construction: after each move an agent closer than its radius to a
    wall segment is projected back to distance ``r_i`` (no penetration, RiMEA test 6).
    Local density limit (SafeTwin's addition, ``density_radius_m``): the free speed is capped by
    Weidmann's speed-density relation at the density a person sees ahead (see the field).

    Defaults: JuPedSim's CFSM strengths and wall range (a = 8, a_w = 5, D_w = 0.02 m) and its
    default time gap 1.0 s; radius 0.10 m, neighbour range D = 0.15 m and the density disc
    1.8 m calibrated together against Weidmann's fundamental diagram (RiMEA test 4, 0.5-4 /m²)
    and the Seyfried et al. (2009) bottleneck flow (see docs/verification.md). The radius is the
    hard-core contact distance of the speed function, smaller than a body's half-width.
    """

    radius_m: float = 0.10
    time_gap_s: float = 1.0
    strength_neighbour: float = 8.0
    range_neighbour_m: float = 0.15
    strength_wall: float = 5.0
    range_wall_m: float = 0.02
    strength_counterflow: float = 1.0
    range_counterflow_m: float = 0.5
    lane_half_width_m: float = 0.0
    """Half the width of the lane in which a neighbour ahead sets the spacing: a neighbour counts
    when ``|e_i^perp . (x_j - x_i)| <= max(l_ij, 2 lane_half_width)``. 0 = the plain model (the
    lane is the contact distance)."""
    density_radius_m: float = 1.8
    """Local density limit (0 = off): the people within this distance *ahead* (the 120-degree
    sector around the desired direction), plus the person, give a local density
    rho_i = (n + 1) / (pi R² / 3), and the free speed is capped at
    ``v0_i max(density_min_fraction, 1 - exp(-gamma (1/rho_i - 1/rho_max)))`` — Weidmann's (1993)
    speed-density relation with the person's own free speed in place of Weidmann's 1.34 m/s.
    The sector is not clipped at walls, so in passages narrower than it the density reads low
    and the limit binds less: bottleneck flows exceed the corridor capacity, as measured
    (Seyfried et al. 2009 vs Weidmann)."""
    density_gamma_m2: float = 1.913
    jam_density_per_m2: float = 5.4
    density_min_fraction: float = 0.05
    wall_cutoff_m: float = 0.6
    """Walls farther than this from the agent centre are ignored (repulsion is < 1e-9 there)."""
    narrow_passage_m: float = 0.9
    """Single file in narrow passages (0 = off): where the walls on both sides of a person (wall
    points within 45 degrees of square to the desired direction) are less than this apart, the
    person steers towards the passage's centre line, adding ``strength_centre_line x (d_left -
    d_right) / (d_left + d_right)`` across the desired direction (0 on the centre line). The
    neighbours' repulsion still pushes people apart sideways, so a crowd pressing into the
    passage walks staggered (the zipper of Seyfried et al. 2009) while people in free flow form
    one file (RiMEA 4.1.1 test 16). 0.9 m: two shoulder widths."""
    strength_centre_line: float = 2.0


@dataclass(frozen=True)
class NavigationParams:
    """Fast-marching travel-time fields (scikit-fmm) on a raster of the walkable area.

    ``cell_m=None`` picks ``max(0.1, min(0.25, sqrt(area / 6e5)), sqrt(area / 2e6))``: 0.1 m for
    rooms, at most 0.25 m (five cells across a 1.25 m door) until a field would exceed 2 M cells.
    Near walls the navigation speed is lowered linearly from 1 at ``wall_clearance_m`` to
    ``wall_speed_factor`` at the wall, so paths keep off walls and corners like real walkers.
    With a hazard, fields are recomputed every ``replan_interval_s`` (and whenever exits close or
    blockages appear); agents re-plan immediately because they follow the field gradient.
    """

    cell_m: float | None = None
    wall_clearance_m: float = 0.4
    wall_speed_factor: float = 0.5
    replan_interval_s: float = 10.0
    hazard_reference_speed_m_s: float = 1.2
    """Speed used to estimate *when* a cell is crossed (see navigation.hazard_speed_field)."""
    tau_refresh_s: float = 15.0
    """Re-solve the crowd-front arrival time used for hazard timing at most this often (s)."""
    replan_cost_rtol: float = 0.01
    """Skip re-solving the goal fields when no cell's hazard cost changed by more than this; with
    ``incremental_replan`` only the cells that did take the new cost (every travel time stays
    within this, relative, of a full solve with the latest cost)."""
    incremental_replan: bool = True
    """Re-plan incrementally: on a cost change, re-march each goal field only from the nearest
    changed cell outwards (``navigation.NavigationFields``, exact for the installed cost); False
    re-solves every field on the whole raster with the whole new cost (the reference)."""
    max_cost_factor: float = 1e3
    """Cost factors at or above this make a cell impassable."""
    crowd_cost_per_density: float = 0.5
    """Dynamic navigation field (Hartmann 2010, "Adaptive pedestrian dynamics based on
    geodesics", New J. Phys. 12:043032: the crowd density enters the speed of the eikonal
    equation): every ``crowd_cost_interval_s`` the cost of a cell is multiplied by
    ``1 + crowd_cost_per_density x max(0, rho - crowd_cost_free_density)`` with rho the density
    of the moving people (p/m²) smoothed with a Gaussian of ``crowd_cost_sigma_m``, so crowds use
    the width of a bend and route around a queue, while people in free flow keep their lines.
    0 = off; skipped on rasters above ``crowd_cost_max_cells`` cells (site-scale rasters, where a
    re-solve costs seconds)."""
    crowd_cost_interval_s: float = 3.0
    crowd_cost_sigma_m: float = 1.0
    crowd_cost_free_density: float = 1.5
    crowd_cost_max_cells: int = 1_000_000
    route_choice: str = "quickest"
    """Exit choice of the people without an assigned goal: ``"nearest"`` (shortest travel time,
    chosen anew at every step by following the field to all open goals) or ``"quickest"``: the
    quickest-path choice of Kemloh Wagoum, Seyfried & Holl (2012, "Modeling the dynamic route
    choice of pedestrians to assess the criticality of building evacuation", Advances in Complex
    Systems 15(7)) in its queue form: the expected time to pass goal g is
    ``max(T_g(x) / v, Q_g(x) / J_g)`` — walking time, or the time for the ``Q_g`` people heading
    to g and closer to it than this person to pass at the goal's flow ``J_g`` (measured over the
    last ``flow_window_s``, ``exit_flow_p_s`` until enough arrivals were seen). Re-evaluated
    every ``route_interval_s``; a person switches only when the other goal is quicker by
    ``max(switch_margin_s, switch_margin_rel x current)`` (hysteresis: no flip-flopping)."""
    route_interval_s: float = 2.0
    exit_flow_p_s: float = 1.3
    """Prior flow of a goal (persons/s): one 1 m door at the SFPE capacity 1.3 p/(m s)."""
    flow_window_s: float = 10.0
    switch_margin_s: float = 5.0
    switch_margin_rel: float = 0.15


@dataclass(frozen=True)
class BehaviourParams:
    """Social behaviour of the people (agent methods of :class:`~.model.Person`, applied in bulk).

    * **Groups** (``Population.groups``, NIST TN 1822 verification 2.9): the members of a group
      start moving together (when the last of them is ready), choose the same exit, walk at the
      free speed of their slowest moving member, and a member more than ``group_max_gap_m`` ahead
      of the group's rearmost (by remaining route length) waits for them. Groups that move at the
      pace of their slowest member and keep close: Moussaïd et al. 2010, "The walking behaviour
      of pedestrian social groups and its impact on crowd dynamics", PLoS ONE 5(4):e10047; the
      wait rule is SafeTwin's.
    * **Affiliation** (``Population.familiar_goals``, verification 3.3): people prefer the exit
      they know (usually the way they came in; Sime 1985, "Movement toward the familiar: person
      and place affiliation in a fire entrapment setting", Environment and Behavior 17(6):697-724):
      in the exit choice the familiar goal's expected time is multiplied by
      ``familiar_cost_factor`` (< 1).
    * **Social influence** (verification 3.2): a person choosing an exit for the first time sees
      the exits the people within ``social_radius_m`` are already heading for and follows them:
      each goal's expected time is multiplied by ``1 - social_weight x share`` (share = fraction
      of the decided people seen who head for it). Exit choice influenced by others: Nilsson &
      Johansson 2009, "Social influence during the initial phase of a fire evacuation",
      Fire Safety Journal 44(1):71-79; Lovreglio, Fonzone & dell'Olio 2016, "A mixed logit model
      for predicting exit choice during building evacuations", Transportation Research Part A
      92:59-75 (the herding term). The multiplicative form is SafeTwin's. Walls do not hide
      people (the radius is a plain distance).

    Affiliation and social influence act in the quickest-exit choice
    (``NavigationParams.route_choice = "quickest"``).
    """

    group_max_gap_m: float = 2.0
    familiar_cost_factor: float = 0.5
    social_radius_m: float = 5.0
    social_weight: float = 0.5


@dataclass(frozen=True)
class WatchdogParams:
    """No-progress watchdog: an agent has progressed in a window when its remaining route length
    (the navigation field) fell by at least ``min_progress_m``. If no agent progressed and none
    arrived during ``window_s`` while agents are still moving, the run is declared deadlocked and
    stopped; the stuck agents are listed in the result."""

    window_s: float = 30.0
    min_progress_m: float = 0.5
    stop_on_deadlock: bool = True


@dataclass(frozen=True)
class OutputParams:
    trajectory_interval_s: float | None = 0.5
    """Record positions of all not-yet-finished agents at this interval (None = off)."""
    density_cell_m: float = 1.0
    """Cell size of the density map (persons per m² averaged over the recorded frames)."""
    hotspot_density_per_m2: float = 2.0
    """A density-map cell is a congestion hot spot when its peak density reaches this value."""
    agent_records: bool = False
    """Also record every person (position, state, target, dose per channel) in Mesa's
    DataCollector at each trajectory frame (``model.datacollector.get_agent_vars_dataframe()``).
    Off by default: it costs a Python call per person and frame."""


@dataclass(frozen=True)
class EvacuationParams:
    """All knobs of a run. ``dt_s`` is the locomotion time step; ``t_max_s`` caps the run."""

    dt_s: float = 0.05
    t_max_s: float = 1800.0
    alarm_time_s: float = 0.0
    exposure_interval_s: float = 0.5
    """Doses are integrated with this step (concentration callables are evaluated this often)."""
    locomotion: LocomotionParams = field(default_factory=LocomotionParams)
    navigation: NavigationParams = field(default_factory=NavigationParams)
    behaviour: BehaviourParams = field(default_factory=BehaviourParams)
    watchdog: WatchdogParams = field(default_factory=WatchdogParams)
    output: OutputParams = field(default_factory=OutputParams)
    seed: int | None = 0
    threads: int | None = None
    """Numba threads for the locomotion kernel. None = all of Numba's threads once at least
    ``parallel_min_agents`` people are in the simulation, else 1. The model reads nothing about the
    machine: on shared, busy cores (where a parallel region is 2-3x slower than one thread) the
    caller passes 1 — the command line decides from the load average, ``safetwin.app.machine``."""
    parallel_min_agents: int = 3000
