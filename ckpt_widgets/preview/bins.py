"""Histogram counts on equal-width bins, exactly ``np.histogram``'s, at a few operations
per value.

A bin number is computed as ``int((x - lo) * scale)`` in float64. Rounding can put a
value lying within a rounding error of an edge in the wrong bin; but the computation is
monotone in ``x``, so it errs only between the edge's true first value (the smallest
value of the dtype at or above the edge, which ``np.histogram`` puts in the upper bin)
and the computed one. Both are found once per edge, by bisection over the ordered
values of the dtype; where they differ, the values between them are counted and moved
to the right bin. No value is looked at twice.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

_CHUNK = 1 << 16  # values per block: the block's float64 bin positions stay in cache
_MAX_MOVES = 8


class Binning:
    """Counting values of one dtype (float32 or float64) on fixed equal-width ``edges``
    (float64, spanning every value counted; the last bin is closed, as in numpy).

    Falls back to ``np.histogram`` where the edges are too close together or too far
    apart for float64 positions, or where many edges would need moves (float64 values,
    whose spacing is the positions' rounding error).
    """

    def __init__(self, edges: np.ndarray, dtype: np.dtype):
        import numpy as np

        self.edges = np.asarray(edges, np.float64)
        self.dtype = np.dtype(dtype)
        self.bins = len(self.edges) - 1
        span = self.edges[-1] - self.edges[0]
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            self.scale = np.float64(self.bins / span)
            # A few float64 roundings below the first edge: a value on an edge is then
            # computed in the upper bin, as numpy counts it, despite the rounding.
            self.origin = np.float64(self.edges[0] - 4 * np.finfo(np.float64).eps * span)
        self.moves = _moves(self) if math.isfinite(self.scale) else None
        if self.moves is not None and len(self.moves) > _MAX_MOVES:
            self.moves = None  # float64 values: np.histogram is faster than many moves

    def counts(self, values: np.ndarray) -> np.ndarray:
        """Counts of the finite flat ``values`` (of :attr:`dtype`) per bin."""
        import numpy as np

        if self.moves is None:
            return np.histogram(values, self.edges)[0]
        tally = _Tally(self.bins + 1)  # the largest values may compute as bin ``bins``
        moved = [0] * len(self.moves)
        n = min(values.size, _CHUNK)
        position, number = np.empty(n, np.float64), np.empty(n, np.int32)
        for start in range(0, values.size, _CHUNK):
            chunk = values[start : start + _CHUNK]
            tally.add(self.numbers(chunk, position[: chunk.size], number[: chunk.size]))
            for m, (_, first, last, _) in enumerate(self.moves):
                moved[m] += int(np.count_nonzero((chunk >= first) & (chunk < last)))
        out = tally.result()
        out[-2] += out[-1]  # the last bin is closed, as in numpy
        out = out[:-1]
        for (k, _, _, up), count in zip(self.moves, moved):  # values computed one bin off
            out[k - 1 : k + 1] += (-count, count) if up else (count, -count)
        return out

    def numbers(self, x: np.ndarray, v: np.ndarray, i: np.ndarray) -> np.ndarray:
        """The computed bin numbers of ``x`` into ``i`` (int32; ``v``: float64 scratch):
        ``bins`` for the largest values (the closed last bin), never more."""
        import numpy as np

        np.copyto(v, x)  # then in place: faster than a subtraction that converts
        v -= self.origin
        v *= self.scale
        np.copyto(i, v, casting="unsafe")  # truncation: v >= 0
        return i


def counts(a: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(a, edges)[0]`` for finite float32/float64 ``a`` within equal-width
    float64 ``edges``."""
    return Binning(edges, a.dtype).counts(a.reshape(-1))


# -- where the computed bins differ from the true ones --------------------------------------


def _moves(b: Binning) -> list[tuple[int, Any, Any, bool]] | None:
    """For each inner edge ``k`` whose computed first value differs from the true one:
    ``(k, first, last, up)``: the values in ``[first, last)`` belong to bin ``k`` (``up``)
    or ``k - 1`` and were computed in the other. None when the bins are so narrow that a
    value could be off by more than one bin."""
    import numpy as np

    domain = _domain(b)
    if domain is None:
        return None
    inner = np.arange(1, b.bins)
    true = _first(b, domain, lambda x: x >= b.edges[inner])
    scratch_v, scratch_i = np.empty(inner.size, np.float64), np.empty(inner.size, np.int32)
    computed = _first(b, domain, lambda x: b.numbers(x, scratch_v, scratch_i) >= inner)
    if true is None or computed is None:
        return None
    low, high = np.minimum(true, computed), np.maximum(true, computed)
    if np.any(high[:-1] > low[1:]):  # one edge's difference reaches into the next bin
        return None
    return [
        (k, _values(b, lo), _values(b, hi), bool(t < c))
        for k, lo, hi, t, c in zip(inner.tolist(), low, high, true, computed)
        if t != c
    ]


def _domain(b: Binning) -> tuple[int, int] | None:
    """Keys (see :func:`_keys`) of the largest value of the dtype at or below the first
    edge (-0.0 rather than 0.0) and of the smallest at or above the last; None if either
    is not finite."""
    import numpy as np

    kind = b.dtype.type
    bottom, top = kind(b.edges[0]), kind(b.edges[-1])
    if bottom > b.edges[0]:
        bottom = np.nextafter(bottom, kind(-np.inf))
    if bottom == 0:
        bottom = kind(-0.0)
    if top < b.edges[-1]:
        top = np.nextafter(top, kind(np.inf))
    if not (np.isfinite(bottom) and np.isfinite(top)):
        return None
    keys = _keys(np.array([bottom, top], b.dtype))
    return int(keys[0]), int(keys[1])


def _first(b: Binning, domain: tuple[int, int], test: Any) -> np.ndarray | None:
    """Per inner edge, the smallest key in ``domain`` whose value passes ``test`` (a
    vectorised test, monotone in the value, true at the domain's end); None if it is not."""
    import numpy as np

    n = b.bins - 1
    lo, hi = np.full(n, domain[0], np.int64), np.full(n, domain[1], np.int64)
    if not np.all(test(_values(b, hi))):
        return None
    while np.any(lo < hi):
        mid = (lo >> 1) + (hi >> 1) + (lo & hi & 1)  # (lo + hi) // 2 without overflow
        passed = test(_values(b, mid))
        hi = np.where(passed, mid, hi)
        lo = np.where(passed, lo, mid + 1)
    return lo


def _keys(values: np.ndarray) -> np.ndarray:
    """Integers ordered as the float values are (``-0.0`` just below ``0.0``), as int64."""
    import numpy as np

    bits = values.view(np.int32 if values.dtype.itemsize == 4 else np.int64)
    width = 8 * values.dtype.itemsize
    return (bits ^ ((bits >> (width - 1)) & ((1 << (width - 1)) - 1))).astype(np.int64)


def _values(b: Binning, keys: np.ndarray) -> np.ndarray:
    """The float values of ``keys`` (the inverse of :func:`_keys`)."""
    import numpy as np

    width = 8 * b.dtype.itemsize
    bits = np.asarray(keys).astype(np.int32 if width == 32 else np.int64)
    return (bits ^ ((bits >> (width - 1)) & ((1 << (width - 1)) - 1))).view(b.dtype)


class _Tally:
    """Counts of bin numbers, two numbers per ``np.bincount`` entry for few bins (the
    pair ``(i, j)`` as ``i * bins + j``): ``bincount`` costs per entry, not per bin."""

    def __init__(self, bins: int):
        import numpy as np

        self.bins = bins
        self.pairs = bins <= 64
        self.total = np.zeros(bins * bins if self.pairs else bins, np.int64)
        self.odd = np.zeros(bins, np.int64)  # the last number of a block of odd length

    def add(self, i: np.ndarray) -> None:
        import numpy as np

        if not self.pairs:
            self.total += np.bincount(i, minlength=self.bins)
            return
        half = i.size // 2
        key = i[:half] * self.bins
        key += i[half : 2 * half]
        self.total += np.bincount(key, minlength=self.total.size)
        if i.size % 2:
            self.odd[i[-1]] += 1

    def result(self) -> np.ndarray:
        if not self.pairs:
            return self.total.copy()
        square = self.total.reshape(self.bins, self.bins)
        return square.sum(axis=0) + square.sum(axis=1) + self.odd
