"""Numba kernels of the collision-free speed model (the hot path; no Python per agent).

All agents are updated synchronously (Jacobi): velocities are computed from the positions at the
start of the step, then all positions are moved. Neighbour search uses a uniform cell list whose
cell side is at least the interaction reach, so the 3 x 3 block of cells around an agent holds
every neighbour that can influence it.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True)
def build_cell_list(pos, in_physics, x0, y0, cw, ch, ncx, ncy, cell_of, start, count, items, order):
    """Bucket the people in the simulation into cells, O(N) per call.

    ``start``/``count`` (one entry per cell) persist between calls: only the cells occupied at the
    previous call are reset, so the cost does not grow with the number of (mostly empty) cells.
    People of cell c are ``items[start[c] : start[c] + count[c]]``; empty cells have count 0.
    Cells are laid out in ``items`` in the order in which ``order`` (a permutation of the people)
    first meets them: with the people sorted by cell (:func:`sort_by_cell`), neighbouring cells
    sit close together in memory."""
    n = pos.shape[0]
    for i in range(n):
        c = cell_of[i]
        if c >= 0:
            count[c] = 0
            start[c] = -1
    for i in range(n):
        if not in_physics[i]:
            cell_of[i] = -1
            continue
        cx = int((pos[i, 0] - x0) / cw)
        cy = int((pos[i, 1] - y0) / ch)
        cx = min(max(cx, 0), ncx - 1)
        cy = min(max(cy, 0), ncy - 1)
        c = cy * ncx + cx
        cell_of[i] = c
        count[c] += 1
    offset = 0
    for k in range(n):
        c = cell_of[order[k]]
        if c >= 0 and start[c] < 0:
            start[c] = offset
            offset += count[c]
            count[c] = 0
    for k in range(n):
        i = order[k]
        c = cell_of[i]
        if c >= 0:
            items[start[c] + count[c]] = i
            count[c] += 1


@njit(cache=True)
def sort_by_cell(cell_of, order):
    """``order`` := the people sorted by their cell (row-major), those outside the simulation
    (cell -1) first. People processed in this order touch neighbouring cells and neighbours one
    after another (cache locality); the order only changes the speed, never the result."""
    order[:] = np.argsort(cell_of, kind="mergesort")


@njit(inline="always")
def _closest_on_segment(px, py, ax, ay, bx, by):
    vx = bx - ax
    vy = by - ay
    L2 = vx * vx + vy * vy
    t = ((px - ax) * vx + (py - ay) * vy) / L2
    if t < 0.0:
        t = 0.0
    elif t > 1.0:
        t = 1.0
    return ax + t * vx, ay + t * vy


#: agents per block of the parallel loop (each block owns one candidate buffer)
_BLOCK = 64
#: candidate buffer length; a person with more neighbours in the repulsion disc falls back to the
#: full spacing search
_MAXCAND = 128


@njit(parallel=True, fastmath=True, cache=True)
def cfsm_step(pos, heading_old, mobile, v0, radius, tgap, field_idx,
              dirs, gx0, gy0, gh, gnx, gny,
              cstart, ccount, citems, cx0, cy0, cw, ch, ncx, ncy, period, reach, rep_cut, lmax,
              segs, wstart, witems, wx0, wy0, wcell, wnx, wny, wcut,
              a, D, aw, Dw, ac, Dc, lane_half, dens_r, dens_gamma, dens_rho_max, dens_floor, narrow_w, k_centre,
              dt, goal_grid, goal_open, target, zone_factor, order,
              newpos, speed, heading_new, arrived_goal):
    """One synchronous step of everybody (see the module docstring); positions in m, dt in s.

    The neighbours in the repulsion disc (radius ``rep_cut``) are found once, from the cells the
    disc overlaps, and kept as candidates: the spacing ahead along the resulting direction is
    taken from them, and the cell rings beyond the disc are searched only when the spacing that
    can still lower the person's speed (free speed x time gap) reaches past the disc. People are
    processed in ``order`` (see :func:`sort_by_cell`)."""
    n = pos.shape[0]
    rep2 = rep_cut * rep_cut
    cmin = min(cw, ch)
    spacing_inside = rep_cut - lmax  # a spacing up to this is decided by the candidates alone
    lane2 = 2.0 * lane_half
    nblk = (n + _BLOCK - 1) // _BLOCK
    for b in prange(nblk):
        cand_j = np.empty(_MAXCAND, np.int64)
        cand_dx = np.empty(_MAXCAND, np.float64)
        cand_dy = np.empty(_MAXCAND, np.float64)
        cand_d = np.empty(_MAXCAND, np.float64)
        for k in range(b * _BLOCK, min(n, (b + 1) * _BLOCK)):
            i = order[k]
            arrived_goal[i] = -1
            px = pos[i, 0]
            py = pos[i, 1]
            if not mobile[i]:
                newpos[i, 0] = px
                newpos[i, 1] = py
                speed[i] = 0.0
                heading_new[i, 0] = heading_old[i, 0]
                heading_new[i, 1] = heading_old[i, 1]
                continue
            ri = radius[i]
            # --- desired direction: bilinear sample of the navigation field -------------------
            f = field_idx[i]
            fx = (px - gx0) / gh - 0.5
            fy = (py - gy0) / gh - 0.5
            if fx < 0.0:
                fx = 0.0
            if fy < 0.0:
                fy = 0.0
            if fx > gnx - 1.000001:
                fx = gnx - 1.000001
            if fy > gny - 1.000001:
                fy = gny - 1.000001
            ii = int(fx)
            jj = int(fy)
            u = fx - ii
            v = fy - jj
            i1 = min(ii + 1, gnx - 1)
            j1 = min(jj + 1, gny - 1)
            e0x = ((1 - u) * (1 - v) * dirs[f, jj, ii, 0] + u * (1 - v) * dirs[f, jj, i1, 0]
                   + (1 - u) * v * dirs[f, j1, ii, 0] + u * v * dirs[f, j1, i1, 0])
            e0y = ((1 - u) * (1 - v) * dirs[f, jj, ii, 1] + u * (1 - v) * dirs[f, jj, i1, 1]
                   + (1 - u) * v * dirs[f, j1, ii, 1] + u * v * dirs[f, j1, i1, 1])
            nrm = math.sqrt(e0x * e0x + e0y * e0y)
            if nrm > 1e-9:
                e0x /= nrm
                e0y /= nrm
            else:
                e0x = heading_old[i, 0]
                e0y = heading_old[i, 1]
            # --- neighbour repulsion and counter-flow deflection; candidates for the spacing ------
            ex = e0x
            ey = e0y
            kx = min(max(int((px - cx0) / cw), 0), ncx - 1)
            ky = min(max(int((py - cy0) / ch), 0), ncy - 1)
            # the cells the repulsion disc overlaps
            ylo = min(max(int(math.floor((py - rep_cut - cy0) / ch)), 0), ncy - 1)
            yhi = min(max(int(math.floor((py + rep_cut - cy0) / ch)), 0), ncy - 1)
            xlo = int(math.floor((px - rep_cut - cx0) / cw))
            xhi = int(math.floor((px + rep_cut - cx0) / cw))
            if period > 0.0:
                if xhi - xlo + 1 > ncx:
                    xlo = 0
                    xhi = ncx - 1
            else:
                xlo = min(max(xlo, 0), ncx - 1)
                xhi = min(max(xhi, 0), ncx - 1)
            n_ahead = 0
            nc = 0
            overflow = False
            for cyy in range(ylo, yhi + 1):
                for cxr in range(xlo, xhi + 1):
                    cxx = cxr
                    if period > 0.0:
                        cxx = cxr % ncx
                    c = cyy * ncx + cxx
                    for q in range(cstart[c], cstart[c] + ccount[c]):
                        j = citems[q]
                        if j == i:
                            continue
                        dx = pos[j, 0] - px
                        dy = pos[j, 1] - py
                        if period > 0.0:
                            dx -= period * math.floor(dx / period + 0.5)
                        d2 = dx * dx + dy * dy
                        if d2 > rep2 or d2 < 1e-18:
                            continue
                        d = math.sqrt(d2)
                        if nc < cand_j.shape[0]:
                            cand_j[nc] = j
                            cand_dx[nc] = dx
                            cand_dy[nc] = dy
                            cand_d[nc] = d
                            nc += 1
                        else:
                            overflow = True
                        if d < dens_r and e0x * dx + e0y * dy >= 0.5 * d:  # within 60 degrees of the way
                            n_ahead += 1
                        contact = ri + radius[j]
                        R = a * math.exp((contact - d) / D)
                        ex -= R * dx / d
                        ey -= R * dy / d
                        if ac > 0.0:
                            along = e0x * dx + e0y * dy
                            if along > 0.0 and mobile[j] and heading_old[j, 0] * e0x + heading_old[j, 1] * e0y < -0.2:
                                perp = -e0y * dx + e0x * dy
                                if abs(perp) < 2.0 * contact:
                                    K = ac * math.exp((contact - d) / Dc)
                                    # deflect to the right of the desired direction
                                    ex += K * e0y
                                    ey -= K * e0x
            # --- wall repulsion; the walls beside the person (narrow passages) -------------------
            dl = 1e30  # nearest wall point to the left of the desired direction (m)
            dr = 1e30  # ... to the right
            wx = int((px - wx0) / wcell)
            wy = int((py - wy0) / wcell)
            if wx >= 0 and wx < wnx and wy >= 0 and wy < wny:
                wc = wy * wnx + wx
                for q in range(wstart[wc], wstart[wc + 1]):
                    s = witems[q]
                    qx, qy = _closest_on_segment(px, py, segs[s, 0], segs[s, 1], segs[s, 2], segs[s, 3])
                    dx = px - qx
                    dy = py - qy
                    d = math.sqrt(dx * dx + dy * dy)
                    if d < 1e-12:
                        continue
                    if narrow_w > 0.0 and d < narrow_w:
                        side = e0y * dx - e0x * dy  # e0 x (wall point - person): > 0 on the left
                        if abs(e0x * dx + e0y * dy) <= abs(side):  # beside, not ahead or behind
                            if side > 0.0:
                                dl = min(dl, d)
                            else:
                                dr = min(dr, d)
                    if d > wcut:
                        continue
                    R = aw * math.exp((ri - d) / Dw)
                    ex += R * dx / d
                    ey += R * dy / d
            if dl + dr < narrow_w:
                # single file: steer to the centre line of the passage (0 on it, +-k_centre at a wall)
                pull = k_centre * (dl - dr) / (dl + dr)
                ex -= pull * e0y
                ey += pull * e0x
            nrm = math.sqrt(ex * ex + ey * ey)
            if nrm > 1e-12:
                ex /= nrm
                ey /= nrm
            else:
                ex = e0x
                ey = e0y
            # --- free speed -----------------------------------------------------------------------
            # in a speed zone (stairs, ramps ...): the zone factor at the agent's cell
            vfree = v0[i]
            zi = int((px - gx0) / gh)
            zj = int((py - gy0) / gh)
            if zi >= 0 and zi < gnx and zj >= 0 and zj < gny:
                vfree *= zone_factor[zj, zi]
            # local density ahead (people in the 120-degree sector of radius dens_r ahead, per m²) limits
            # the free speed by Weidmann's speed-density relation, scaled to the person's free speed
            if dens_r > 0.0 and n_ahead > 0:
                rho = (n_ahead + 1.0) / (math.pi * dens_r * dens_r / 3.0)  # + the person themself
                lim = 1.0 - math.exp(-dens_gamma * (1.0 / rho - 1.0 / dens_rho_max))
                if lim < dens_floor:
                    lim = dens_floor
                if lim < 1.0:
                    vfree *= lim
            # --- spacing to the nearest neighbour ahead in the lane ----------------------------
            # a spacing at or above `need` leaves the speed at vfree: it need not be known exactly
            need = vfree * tgap[i]
            smin = 1e30
            for q in range(nc):
                dx = cand_dx[q]
                dy = cand_dy[q]
                if ex * dx + ey * dy < 0.0:
                    continue
                contact = ri + radius[cand_j[q]]
                perp = -ey * dx + ex * dy
                if abs(perp) > max(contact, lane2):
                    continue
                sp = cand_d[q] - contact
                if sp < smin:
                    smin = sp
            if overflow or min(smin, need) > spacing_inside:
                # ring search over the cell list, stopping once no unvisited cell can hold a closer one
                rmax = int(math.ceil(reach / cw))
                for ring in range(rmax + 1):
                    for dyc in range(-ring, ring + 1):
                        cyy = ky + dyc
                        if cyy < 0 or cyy >= ncy:
                            continue
                        step_x = 1 if (dyc == -ring or dyc == ring) else 2 * ring
                        if step_x == 0:
                            step_x = 1
                        for dxc in range(-ring, ring + 1, step_x):
                            cxx = kx + dxc
                            if period > 0.0:
                                cxx = cxx % ncx
                            elif cxx < 0 or cxx >= ncx:
                                continue
                            c = cyy * ncx + cxx
                            for q in range(cstart[c], cstart[c] + ccount[c]):
                                j = citems[q]
                                if j == i:
                                    continue
                                dx = pos[j, 0] - px
                                dy = pos[j, 1] - py
                                if period > 0.0:
                                    dx -= period * math.floor(dx / period + 0.5)
                                along = ex * dx + ey * dy
                                if along < 0.0:
                                    continue
                                contact = ri + radius[j]
                                perp = -ey * dx + ex * dy
                                if abs(perp) > max(contact, lane2):
                                    continue
                                sp = math.sqrt(dx * dx + dy * dy) - contact
                                if sp < smin:
                                    smin = sp
                    # every unvisited cell is at least ring*cmin away: stop when nothing closer matters
                    if (min(smin, need) + lmax) <= ring * cmin:
                        break
            vi = smin / tgap[i]
            if vi > vfree:
                vi = vfree
            if vi < 0.0:
                vi = 0.0
            nx_ = px + dt * vi * ex
            ny_ = py + dt * vi * ey
            # --- no wall penetration: project back to distance r from every wall ---------------
            for _it in range(3):
                wx = int((nx_ - wx0) / wcell)
                wy = int((ny_ - wy0) / wcell)
                if wx < 0 or wx >= wnx or wy < 0 or wy >= wny:
                    break
                wc = wy * wnx + wx
                moved = False
                for q in range(wstart[wc], wstart[wc + 1]):
                    s = witems[q]
                    qx, qy = _closest_on_segment(nx_, ny_, segs[s, 0], segs[s, 1], segs[s, 2], segs[s, 3])
                    dx = nx_ - qx
                    dy = ny_ - qy
                    d = math.sqrt(dx * dx + dy * dy)
                    if d < ri:
                        if d > 1e-12:
                            # which side is inside: the side the agent came from
                            ox = px - qx
                            oy = py - qy
                            if ox * dx + oy * dy < 0.0:
                                dx = -dx
                                dy = -dy
                            nx_ = qx + dx / d * ri
                            ny_ = qy + dy / d * ri
                        else:
                            nx_ = px
                            ny_ = py
                        moved = True
                if not moved:
                    break
            if period > 0.0:
                nx_ = cx0 + (nx_ - cx0) - period * math.floor((nx_ - cx0) / period)
            newpos[i, 0] = nx_
            newpos[i, 1] = ny_
            ddx = nx_ - px
            ddy = ny_ - py
            if period > 0.0:
                ddx -= period * math.floor(ddx / period + 0.5)
            speed[i] = math.sqrt(ddx * ddx + ddy * ddy) / dt
            heading_new[i, 0] = ex
            heading_new[i, 1] = ey
            # --- arrival: goal raster lookup ---------------------------------------------------------
            gi = int((nx_ - gx0) / gh)
            gj = int((ny_ - gy0) / gh)
            if gi >= 0 and gi < gnx and gj >= 0 and gj < gny:
                g = goal_grid[gj, gi]
                if g >= 0 and goal_open[g]:
                    if target[i] < 0 or target[i] == g:
                        arrived_goal[i] = g


@njit(cache=True)
def upwind_descent(T, h, out):
    """Unit vectors of steepest descent of T (inf = not walkable) with upwind one-sided
    differences (the same stencil as first-order fast marching); zero at local minima."""
    ny, nx = T.shape
    for j in range(ny):
        for i in range(nx):
            c = T[j, i]
            out[j, i, 0] = 0.0
            out[j, i, 1] = 0.0
            if not np.isfinite(c):
                continue
            left = T[j, i - 1] if i > 0 else np.inf
            right = T[j, i + 1] if i < nx - 1 else np.inf
            down = T[j - 1, i] if j > 0 else np.inf
            up = T[j + 1, i] if j < ny - 1 else np.inf
            gx = 0.0
            gy = 0.0
            if left < right:
                if left < c:
                    gx = -(c - left) / h
            elif right < c:
                gx = (c - right) / h
            if down < up:
                if down < c:
                    gy = -(c - down) / h
            elif up < c:
                gy = (c - up) / h
            n = math.sqrt(gx * gx + gy * gy)
            if n > 0.0:
                out[j, i, 0] = gx / n
                out[j, i, 1] = gy / n
