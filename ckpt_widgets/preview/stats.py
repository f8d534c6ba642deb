"""Summary statistics and histogram counts of values, exact, in memory or piece by piece.

Everything here is numpy: an array in memory (:func:`summary`, :func:`prepare`) or a tensor
streamed as flat pieces (:class:`Streamed`, fed by
:func:`ckpt_widgets.files.slices.read_slices`) gives the same figures; a streamed
tensor is read twice for a histogram (minimum and maximum first, then the counts on fixed
bins), never held whole.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .bins import Binning

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

SUMMARY_KEYS = ("mean", "std", "min", "max", "zeros_pct", "nan", "inf", "l2")
SIDES = ("checkpoint", "model")
_CHUNK = 1 << 16  # elements per block: blocks (and their float64 copies) stay in cache
_PIECE = 1 << 20  # elements per piece of an array in memory counted piece by piece
_PARALLEL = 1 << 22  # elements: sides this large are measured in two threads
T = TypeVar("T")
Pieces = Iterable[tuple[int, Any]]
"""Consecutive flat pieces of one tensor: ``(first element, values)``."""


class Summary:
    """Running statistics of values added block by block (see :func:`summary`).

    Blocks merge exactly: counts add up, and the squared deviations of each block from
    its own mean are merged with Chan et al.'s formula, all in float64.
    """

    def __init__(self) -> None:
        self.size = self.count = self.zeros = self.nan = 0
        self.total = self.squares = 0.0
        self.lo = self.hi = math.nan

    def add(self, values: Any) -> Summary:
        """Count the values of an array of any shape; returns ``self``."""
        import numpy as np

        flat = np.asarray(values).reshape(-1)
        self.size += flat.size
        n = flat.size
        # Block by block: each block is read from memory once, then stays in the cache.
        buffer = np.empty(min(n, _CHUNK), np.float64)
        is_zero = np.empty(buffer.size, bool)
        with np.errstate(over="ignore", invalid="ignore"):  # past 1e308: inf, as np.mean
            for start in range(0, n, _CHUNK):
                chunk = as_float(flat[start : start + _CHUNK])
                finite, lo, hi = finite_values(chunk)
                if finite is not chunk:
                    self.nan += int(np.count_nonzero(np.isnan(chunk)))
                if finite.size:
                    self.lo = lo if math.isnan(self.lo) else min(self.lo, lo)
                    self.hi = hi if math.isnan(self.hi) else max(self.hi, hi)
                    self._add_finite(finite, buffer[: finite.size], is_zero[: finite.size])
        return self

    def _add_finite(self, chunk: np.ndarray, block: np.ndarray, is_zero: np.ndarray) -> None:
        # float64 blocks without a float64 copy of the whole array. einsum, not np.dot:
        # BLAS threads fight TensorFlow's for the cores and make the time erratic.
        import numpy as np

        n = chunk.size
        np.copyto(block, chunk)
        self.zeros += int(np.count_nonzero(np.equal(chunk, 0, out=is_zero)))
        block_sum = float(block.sum())
        block -= block_sum / n
        block_squares = float(np.einsum("i,i->", block, block))
        if self.count:
            delta = block_sum / n - self.total / self.count
            block_squares += delta * delta * self.count * n / (self.count + n)
        self.squares += block_squares
        self.total += block_sum
        self.count += n

    def result(self) -> dict[str, float]:
        """The statistics, keyed by :data:`SUMMARY_KEYS`."""
        out = {
            "mean": math.nan,
            "std": math.nan,
            "min": self.lo,
            "max": self.hi,
            "zeros_pct": 0.0,
            "nan": float(self.nan),
            "inf": float(self.size - self.count - self.nan),
            "l2": 0.0,
        }
        n = self.count
        if not n:
            return out
        mean = self.total / n
        out.update(
            mean=mean,
            std=math.sqrt(self.squares / n),
            zeros_pct=100.0 * self.zeros / self.size,
            l2=math.sqrt(self.squares + n * mean * mean),
        )
        return out


def summary(values: Any) -> dict[str, float]:
    """Statistics of one array: ``mean std min max zeros_pct nan inf l2``.

    ``nan`` and ``inf`` count elements; ``zeros_pct`` is the percentage of all elements
    that are zero; the rest cover the finite values only (NaN for mean/std/min/max and 0
    for l2 when there are none). Exact: every element is counted.
    """
    if isinstance(values, (Prepared, Streamed)):
        return values.summary()
    return Summary().add(values).result()


def summary_of_pieces(pieces: Pieces) -> dict[str, float]:
    """:func:`summary` of a tensor given as flat pieces, one piece in memory at a time."""
    acc = Summary()
    for _, values in pieces:
        acc.add(values)
    return acc.result()


def counts_of_pieces(pieces: Pieces, edges: np.ndarray, finite: bool = False) -> np.ndarray:
    """``np.histogram`` counts of the finite values of all pieces on fixed ``edges``
    (which span every finite value); ``finite``: every value is known to be finite."""
    import numpy as np

    total = np.zeros(len(edges) - 1, np.int64)
    binnings: dict[np.dtype, Binning] = {}
    for _, values in pieces:
        flat = _counted(values).reshape(-1)
        if not finite:
            flat = finite_values(flat)[0]
        if flat.size:
            if flat.dtype not in binnings:
                binnings[flat.dtype] = Binning(edges, flat.dtype)
            total += binnings[flat.dtype].counts(flat)
    return total


# -- values ready to draw: in memory or streamed ------------------------------------------


class _Values(ABC):
    """Values to draw: statistics from one pass (:meth:`_stats`, computed once), then the
    histogram counts from another pass over the same pieces (:meth:`_pieces`)."""

    @abstractmethod
    def _stats(self) -> Summary: ...

    @abstractmethod
    def _pieces(self) -> Pieces: ...

    @property
    def lo(self) -> float:
        return self._stats().lo

    @property
    def hi(self) -> float:
        return self._stats().hi

    @property
    def finite_count(self) -> int:
        return self._stats().count

    def counts(self, edges: np.ndarray) -> np.ndarray:
        """Histogram counts of the finite values on ``edges``."""
        stats = self._stats()
        return counts_of_pieces(self._pieces(), edges, finite=stats.count == stats.size)

    def summary(self) -> dict[str, float]:
        return self._stats().result()


class Prepared(_Values):
    """Values in memory; their statistics (with min and max) are computed once, block by
    block, with no full-size copy, and the counts block by block too."""

    def __init__(self, values: Any):
        import numpy as np

        self.array = np.asarray(values)
        """The values as given, as an array (its shape is the variable's)."""
        self._summary: Summary | None = None

    def _stats(self) -> Summary:
        if self._summary is None:
            self._summary = Summary().add(self.array)
        return self._summary

    def _pieces(self) -> Pieces:
        return pieces_of(self.array, _PIECE)


class Streamed(_Values):
    """A tensor too large to hold, read in pieces: once for its statistics (with min and
    max, and the largest difference from ``against`` when given), again for the counts.

    ``block(shape)`` reads the leading block of that shape (for a difference from a value
    of another shape).
    """

    def __init__(
        self,
        pieces: Callable[[], Pieces],
        shape: tuple[int, ...],
        against: np.ndarray | None = None,
        block: Callable[[tuple[int, ...]], np.ndarray] | None = None,
    ):
        self.pieces = pieces
        """Called once per pass; returns the tensor's flat pieces."""
        self.shape = shape
        self.against = against
        self.block = block
        self._summary: Summary | None = None
        self._peaks: list[float] = []

    def _stats(self) -> Summary:
        if self._summary is None:
            import numpy as np

            acc = Summary()
            same = self.against is not None and tuple(np.shape(self.against)) == self.shape
            flat = np.asarray(self.against).reshape(-1) if same else None
            for start, values in self.pieces():
                acc.add(values)
                if flat is not None:
                    self._peaks.append(_peak(values, flat[start : start + values.size]))
            self._summary = acc
        return self._summary

    def _pieces(self) -> Pieces:
        return self.pieces()

    def max_abs_diff(self, other: np.ndarray) -> float:
        """max |self - other| over the block both shapes share (NaN if the ranks differ)."""
        import numpy as np

        if self.against is other and tuple(np.shape(other)) == self.shape:
            self._stats()
            return float(np.max(self._peaks)) if self._peaks else math.nan
        if tuple(np.shape(other)) == self.shape:
            flat = np.asarray(other).reshape(-1)
            peaks = [_peak(v, flat[start : start + v.size]) for start, v in self.pieces()]
            return float(np.max(peaks)) if peaks else math.nan
        if self.block is None or len(self.shape) != np.ndim(other):
            return math.nan
        return max_abs_diff(self.block(tuple(np.shape(other))), other)


def prepare(values: Any) -> Prepared | Streamed:
    """Values whose statistics, min and max are computed once (a :class:`Streamed`
    tensor is returned as it is)."""
    if isinstance(values, (Prepared, Streamed)):
        return values
    return Prepared(values)


def measure(values: Sequence[Any]) -> None:
    """Compute the statistics of several :func:`prepare`d values at once: in two threads
    when one side is large (numpy and file reads release the interpreter, so two sides
    take two cores)."""
    in_parallel([v._stats for v in values if isinstance(v, _Values)], largest_size(values))


def in_parallel(calls: Sequence[Callable[[], T]], elements: int) -> list[T]:
    """The results of ``calls``, in order; two at a time in threads when the values they
    go through number at least :data:`_PARALLEL` ``elements``, else one after another."""
    if len(calls) < 2 or elements < _PARALLEL:
        return [call() for call in calls]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]


def largest_size(values: Sequence[Any]) -> int:
    """How many elements the largest of ``values`` (arrays, :class:`Prepared` or
    :class:`Streamed`) holds."""
    import numpy as np

    sizes = [math.prod(v.shape) if isinstance(v, Streamed) else np.size(_array(v)) for v in values]
    return max(sizes, default=0)


def compare(stored: Any, current: Any) -> pd.DataFrame:
    """Summaries of the stored and the current value, indexed ``checkpoint`` / ``model``.

    A side that is None has no row. ``max_abs_diff`` (on both rows) is the largest
    ``|stored - current|`` over the block both shapes share; NaN when a side is missing
    or the ranks differ.
    """
    import pandas as pd

    sides = {s: prepare(v) for s, v in zip(SIDES, (stored, current)) if v is not None}
    measure(list(sides.values()))
    rows = {s: v.summary() for s, v in sides.items()}
    diff = math.nan
    if len(sides) == 2:
        diff = max_abs_diff(sides["checkpoint"], sides["model"])
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(SUMMARY_KEYS))
    frame["max_abs_diff"] = diff
    return frame


def max_abs_diff(a: Any, b: Any) -> float:
    """max |a - b| over the block both shapes share, in blocks; NaN if the ranks differ.

    Either side may be :class:`Prepared`, one side :class:`Streamed`.
    """
    import numpy as np

    if isinstance(a, Streamed) or isinstance(b, Streamed):
        streamed, other = (a, b) if isinstance(a, Streamed) else (b, a)
        if isinstance(other, Streamed):
            return math.nan
        return streamed.max_abs_diff(_array(other))
    a, b = _array(a), _array(b)
    if a.ndim != b.ndim:
        return math.nan
    block = tuple(slice(0, min(x, y)) for x, y in zip(a.shape, b.shape))
    a, b = a[block], b[block]
    if not a.size:
        return math.nan
    if a.flags.c_contiguous and b.flags.c_contiguous:
        a, b = a.reshape(-1), b.reshape(-1)
    step = max(1, _CHUNK // max(1, a[:1].size))
    peaks = [_peak(a[i : i + step], b[i : i + step]) for i in range(0, len(a), step)]
    return float(np.max(peaks))


def _peak(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| of two arrays of one shape (NaN if empty or a NaN is involved)."""
    import numpy as np

    if not a.size:
        return math.nan
    a, b = a.reshape(-1), b.reshape(-1)
    buffer = np.empty(min(a.size, _CHUNK), np.result_type(as_float(a[:1]), as_float(b[:1])))
    peaks = []
    for i in range(0, a.size, _CHUNK):
        d = buffer[: min(_CHUNK, a.size - i)]
        np.subtract(as_float(a[i : i + _CHUNK]), as_float(b[i : i + _CHUNK]), out=d)
        peaks.append(np.maximum.reduce(np.abs(d, out=d)))
    return float(np.max(peaks))


def _array(values: Any) -> np.ndarray:
    import numpy as np

    return values.array if isinstance(values, Prepared) else np.asarray(values)


# -- numpy helpers -------------------------------------------------------------------------


def as_float(values: Any) -> np.ndarray:
    """float32/float64 as they are (no copy); any other dtype as float64."""
    import numpy as np

    a = np.asarray(values)
    if a.dtype in (np.float32, np.float64):
        return a
    if a.dtype.kind == "b":
        a = a.view(np.uint8)
    return a.astype(np.float64)


def _counted(values: Any) -> np.ndarray:
    """Values as floats to count: float16, bfloat16 and 8/16-bit integers as float32 (exact,
    and counted fast, see :mod:`.bins`), the rest as :func:`as_float` gives them."""
    import numpy as np

    a = np.asarray(values)
    if (a.dtype.itemsize <= 2 and a.dtype.kind in "fiub") or a.dtype.name == "bfloat16":
        return a.astype(np.float32)
    return as_float(a)


def finite_values(a: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The finite values of a flat array (itself when all are) and their min and max."""
    import numpy as np

    if not a.size:
        return a, math.nan, math.nan
    lo, hi = float(a.min()), float(a.max())  # NaN or ±Inf here when any is present
    if math.isfinite(lo) and math.isfinite(hi):
        return a, lo, hi
    a = a[np.isfinite(a)]
    if not a.size:
        return a, math.nan, math.nan
    return a, float(a.min()), float(a.max())


def pieces_of(array: Any, piece: int) -> Iterator[tuple[int, np.ndarray]]:
    """An array in memory as flat pieces of at most ``piece`` elements (views)."""
    import numpy as np

    flat = np.ascontiguousarray(array).reshape(-1)
    for start in range(0, flat.size, max(1, piece)):
        yield start, flat[start : start + piece]
