"""Numba fast marching that restarts from a frozen part of an earlier solution (incremental re-plans).

:func:`march` is the first-order fast marching method (Sethian 1996, "A fast marching level set
method for monotonically advancing fronts", PNAS 93(4):1591-1595) written to give the same values
as scikit-fmm's first-order ``travel_time`` marcher — the same upwind quadratic, the same fallback
when its discriminant is negative, cells of equal value frozen together — but started from any
set of *frozen* cells whose times are already known, not from a level set.

Why a restart is exact (the re-plan's region of influence). Fast marching accepts cells in
increasing order of time, and a cell's value depends only on its own speed and on the values of
the cells accepted before it (the start cells next to the goals are frozen at their start times,
:func:`start_times`). If the speed changed on a set ``D`` of cells (start cells whose start time
changed included), let ``m`` be the smallest time on ``D`` and its 4-neighbours, before or
after the change. Until the march reaches ``m`` no cell of ``D`` has an accepted neighbour, so
every cell with an earlier time ``< m`` is accepted with the same value as before: those cells are
frozen and only the rest is marched again (:func:`restart`). The cells farther (in time) from the
goals than the changed cells are the ones re-solved: a hazard far from the goals costs a re-march
of the band beyond it only. The test ``tests/evacuation/test_replan.py`` checks the values against
full scikit-fmm solves.
"""
from __future__ import annotations

import numba
import numpy as np

__all__ = ["march", "restart", "start_times"]

_FAR, _NARROW, _FROZEN, _MASK = 0, 1, 2, 3


@numba.njit(cache=True, nogil=True)
def _update(T, flag, speed, j, i, inv_h2):
    """First-order upwind update of cell (j, i) from its frozen neighbours (scikit-fmm's rule:
    the smaller frozen neighbour per axis, the larger root; the vertex of the parabola when the
    discriminant is negative)."""
    ny, nx = T.shape
    a = 0.0
    b = 0.0
    c = 0.0
    for axis in range(2):
        value = np.inf
        for step in (-1, 1):
            jj = j + step if axis == 0 else j
            ii = i + step if axis == 1 else i
            if 0 <= jj < ny and 0 <= ii < nx and flag[jj, ii] == _FROZEN:
                if abs(T[jj, ii]) < abs(value):
                    value = T[jj, ii]
        if value < np.inf:
            a += inv_h2
            b -= inv_h2 * 2.0 * value
            c += inv_h2 * value * value
    c -= 1.0 / (speed[j, i] * speed[j, i])
    det = b * b - 4.0 * a * c
    if det >= 0.0:
        return (-b + np.sqrt(det)) / 2.0 / a
    return -b / (2.0 * a)


@numba.njit(cache=True, nogil=True)
def _sift_up(hv, hc, where, k):
    while k > 0:
        parent = (k - 1) // 2
        if hv[parent] <= hv[k]:
            break
        hv[parent], hv[k] = hv[k], hv[parent]
        hc[parent], hc[k] = hc[k], hc[parent]
        where[hc[k]] = k
        where[hc[parent]] = parent
        k = parent


@numba.njit(cache=True, nogil=True)
def _sift_down(hv, hc, where, k, size):
    while True:
        left = 2 * k + 1
        if left >= size:
            break
        small = left
        if left + 1 < size and hv[left + 1] < hv[left]:
            small = left + 1
        if hv[k] <= hv[small]:
            break
        hv[small], hv[k] = hv[k], hv[small]
        hc[small], hc[k] = hc[k], hc[small]
        where[hc[k]] = k
        where[hc[small]] = small
        k = small


@numba.njit(cache=True, nogil=True)
def march(T: np.ndarray, frozen: np.ndarray, speed: np.ndarray, passable: np.ndarray, h: float) -> None:
    """Fast marching in place: ``T`` (s·m/m, travel time at unit free speed, i.e. m) keeps its
    values on ``frozen`` cells and gets the first-order travel time from them on every other
    ``passable`` cell reachable through passable cells (``inf`` elsewhere). ``speed`` is the
    navigation speed factor per cell (> 0 on passable cells), ``h`` the cell side (m)."""
    ny, nx = T.shape
    n = ny * nx
    flag = np.empty((ny, nx), np.int8)
    for j in range(ny):
        for i in range(nx):
            if not passable[j, i] or speed[j, i] < 2.220446049250313e-16:
                flag[j, i] = _MASK
                T[j, i] = np.inf
            elif frozen[j, i]:
                flag[j, i] = _FROZEN
            else:
                flag[j, i] = _FAR
                T[j, i] = np.inf
    inv_h2 = 1.0 / (h * h)
    hv = np.empty(n)
    hc = np.empty(n, np.int64)
    where = np.full(n, -1, np.int64)
    size = 0
    # the narrow band: far cells next to a frozen cell
    for j in range(ny):
        for i in range(nx):
            if flag[j, i] != _FAR:
                continue
            near = ((j > 0 and flag[j - 1, i] == _FROZEN) or (j < ny - 1 and flag[j + 1, i] == _FROZEN)
                    or (i > 0 and flag[j, i - 1] == _FROZEN) or (i < nx - 1 and flag[j, i + 1] == _FROZEN))
            if near:
                d = _update(T, flag, speed, j, i, inv_h2)
                flag[j, i] = _NARROW
                T[j, i] = d
                cell = j * nx + i
                hv[size] = abs(d)
                hc[size] = cell
                where[cell] = size
                size += 1
                _sift_up(hv, hc, where, size - 1)
    batch = np.empty(n, np.int64)
    while size > 0:
        value = hv[0]
        nb = 0
        # freeze every cell at the smallest value together, then update their neighbours
        while size > 0 and hv[0] == value:
            cell = hc[0]
            size -= 1
            where[cell] = -1
            if size > 0:
                hv[0] = hv[size]
                hc[0] = hc[size]
                where[hc[0]] = 0
                _sift_down(hv, hc, where, 0, size)
            flag[cell // nx, cell % nx] = _FROZEN
            batch[nb] = cell
            nb += 1
        for q in range(nb):
            cj = batch[q] // nx
            ci = batch[q] % nx
            for axis in range(2):
                for step in (-1, 1):
                    j = cj + step if axis == 0 else cj
                    i = ci + step if axis == 1 else ci
                    if not (0 <= j < ny and 0 <= i < nx):
                        continue
                    f = flag[j, i]
                    if f == _FROZEN or f == _MASK:
                        continue
                    d = _update(T, flag, speed, j, i, inv_h2)
                    if d == 0.0:
                        continue
                    T[j, i] = d
                    cell = j * nx + i
                    if f == _NARROW:
                        k = where[cell]
                        old = hv[k]
                        hv[k] = abs(d)
                        if abs(d) < old:
                            _sift_up(hv, hc, where, k)
                        else:
                            _sift_down(hv, hc, where, k, size)
                    else:
                        flag[j, i] = _NARROW
                        hv[size] = abs(d)
                        hc[size] = cell
                        where[cell] = size
                        size += 1
                        _sift_up(hv, hc, where, size - 1)


def _neighbours(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: whether a 4-neighbour along x, along y is in ``mask``."""
    along_x = np.zeros_like(mask)
    along_x[:, 1:] |= mask[:, :-1]
    along_x[:, :-1] |= mask[:, 1:]
    along_y = np.zeros_like(mask)
    along_y[1:, :] |= mask[:-1, :]
    along_y[:-1, :] |= mask[1:, :]
    return along_x, along_y


def start_times(target: np.ndarray, passable: np.ndarray, speed: np.ndarray, h: float) -> np.ndarray:
    """The times the march starts from (NaN elsewhere), scikit-fmm's initialisation for the level
    set -1 on ``target``, +1 elsewhere: every passable cell with a passable 4-neighbour on the other
    side is ``(h / 2) / sqrt(k) / speed`` from the front, ``k`` the number of axes (1 or 2) on
    which it has one."""
    inside_x, inside_y = _neighbours(target & passable)
    outside_x, outside_y = _neighbours(~target & passable)
    cross_x = np.where(target, outside_x, inside_x) & passable
    cross_y = np.where(target, outside_y, inside_y) & passable
    k = cross_x.astype(np.int8) + cross_y.astype(np.int8)
    with np.errstate(divide="ignore"):
        return np.where(k > 0, 0.5 * h / np.sqrt(np.maximum(k, 1)) / speed, np.nan)


def restart(T_old: np.ndarray, start_old: np.ndarray, start_new: np.ndarray,
            changed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frozen cells and their times for re-marching a field whose speed changed on ``changed``
    cells and whose start times went from ``start_old`` to ``start_new`` (:func:`start_times`):
    the new start cells, and the cells earlier (``T_old``) than every changed cell or changed start
    cell and their 4-neighbours, before or after the change (see the module docstring)."""
    moved = changed | (np.isnan(start_old) != np.isnan(start_new))
    moved |= ~np.isnan(start_new) & (start_old != start_new)
    near_x, near_y = _neighbours(moved)
    near = moved | near_x | near_y
    # the new start times count too: a cell that starts anew is frozen from the start
    m = float(np.min(np.where(near, np.fmin(T_old, start_new), np.inf))) if near.any() else np.inf
    starts = ~np.isnan(start_new)
    frozen = starts | (T_old < m)
    return frozen, np.where(starts, start_new, np.where(frozen, T_old, np.inf))
