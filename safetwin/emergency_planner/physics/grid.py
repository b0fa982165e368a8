"""Regular grid in the local plant frame (x east, y north, metres)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GridSpec:
    """Regular grid of nodes ``x = x_min_m + i·dx_m`` (i < nx), ``y = y_min_m + j·dy_m`` (j < ny).

    Fields on the grid are arrays of shape ``(ny, nx)`` (row = y index, column = x index).

    >>> g = GridSpec(x_min_m=-100, y_min_m=-50, dx_m=10, dy_m=10, nx=21, ny=11)
    >>> float(g.x_m[-1]), float(g.y_m[-1])
    (100.0, 50.0)
    """

    x_min_m: float
    y_min_m: float
    dx_m: float
    dy_m: float
    nx: int
    ny: int

    def __post_init__(self) -> None:
        if self.nx < 2 or self.ny < 2:
            raise ValueError(f"grid needs at least 2×2 nodes, got nx={self.nx}, ny={self.ny}")
        if not (self.dx_m > 0 and self.dy_m > 0):
            raise ValueError(f"grid spacing must be positive, got dx={self.dx_m}, dy={self.dy_m}")

    @classmethod
    def around(cls, x_c_m: float, y_c_m: float, half_width_m: float, spacing_m: float) -> GridSpec:
        """Square grid centred on (x_c, y_c) reaching ±half_width (m) with the given spacing (m)."""
        n = int(round(2 * half_width_m / spacing_m)) + 1
        return cls(x_c_m - half_width_m, y_c_m - half_width_m, spacing_m, spacing_m, n, n)

    @property
    def x_m(self) -> np.ndarray:
        """Node x coordinates, shape (nx,)."""
        return self.x_min_m + self.dx_m * np.arange(self.nx, dtype=float)

    @property
    def y_m(self) -> np.ndarray:
        """Node y coordinates, shape (ny,)."""
        return self.y_min_m + self.dy_m * np.arange(self.ny, dtype=float)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny, self.nx)

    @property
    def x_max_m(self) -> float:
        return self.x_min_m + self.dx_m * (self.nx - 1)

    @property
    def y_max_m(self) -> float:
        return self.y_min_m + self.dy_m * (self.ny - 1)

    def mesh(self) -> tuple[np.ndarray, np.ndarray]:
        """``(X, Y)`` node coordinates, each of shape (ny, nx)."""
        return np.meshgrid(self.x_m, self.y_m)

    @property
    def cell_area_m2(self) -> float:
        return self.dx_m * self.dy_m


def downwind_unit(wind_from_deg: float) -> tuple[float, float]:
    """Unit vector (east, north) the wind blows TOWARDS, for a wind FROM ``wind_from_deg``.

    Meteorological convention: 0° = from north, clockwise. Downwind = (−sin θ, −cos θ).
    """
    th = np.deg2rad(wind_from_deg)
    return float(-np.sin(th)), float(-np.cos(th))


def to_wind_frame(x_m: np.ndarray, y_m: np.ndarray, x0_m: float, y0_m: float,
                  wind_from_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Plant-frame points → (downwind distance, crosswind offset) from the source (m).

    The crosswind axis points to the left of the downwind direction.
    """
    ex, ey = downwind_unit(wind_from_deg)
    dx = np.asarray(x_m, dtype=float) - x0_m
    dy = np.asarray(y_m, dtype=float) - y0_m
    return dx * ex + dy * ey, -dx * ey + dy * ex
