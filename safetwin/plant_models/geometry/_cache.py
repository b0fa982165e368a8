"""Caches of derived plant geometry: per plant object (weakly held) and per shapely geometry."""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

import shapely
from shapely.geometry.base import BaseGeometry

T = TypeVar("T")

_lock = threading.Lock()
# id(plant) -> (weak reference to the plant, {key: value})
_per_plant: dict[int, tuple[weakref.ref, dict[Hashable, Any]]] = {}


def per_plant(plant: Any, key: Hashable, build: Callable[[], T]) -> T:
    """``build()`` once per ``(plant, key)``; forgotten when the plant object is garbage-collected.

    A plant is treated as immutable after loading (what every caller of this module assumes)."""
    pid = id(plant)
    with _lock:
        entry = _per_plant.get(pid)
        if entry is None or entry[0]() is not plant:
            def forget(_ref: weakref.ref, pid: int = pid) -> None:
                _per_plant.pop(pid, None)
            entry = (weakref.ref(plant, forget), {})
            _per_plant[pid] = entry
        values = entry[1]
        if key in values:
            return values[key]
    value = build()
    with _lock:
        return values.setdefault(key, value)


def geometry_key(geometries: BaseGeometry | Sequence[BaseGeometry] | None) -> bytes:
    """A hashable key of one geometry or a sequence of them (their WKB)."""
    if geometries is None:
        return b""
    if isinstance(geometries, BaseGeometry):
        return shapely.to_wkb(geometries)
    return b"|".join(shapely.to_wkb(g) for g in geometries)


class LRU:
    """A small thread-safe least-recently-used cache (``maxsize`` entries)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: Hashable, build: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = build()
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
