"""Compare two checkpoints (or a checkpoint and a live model) variable by variable.

Variables pair by path: for two files, by their object paths (after removing the place
where each stores its model, ``root_a`` / ``root_b``, found automatically); for a live
model and a file, by :func:`ckpt_widgets.match`, so the model is placed in the file the
way a restore places it. Values stream: one tensor of each side is read, measured and
dropped before the next, so two whole checkpoints are never in memory.

"same" means bit for bit equal (same dtype, shape and bytes, so NaNs with the same bits
count as same), never "within a tolerance". The measures are computed in float64:

- ``rel_change`` = ``||b - a|| / ||a||``; exactly ``0.0`` when the status is "same";
  ``inf`` when ``a`` is all zeros and ``b`` is not; NaN when ``a`` is all zeros and the
  values are equal but not bit for bit (``-0.0`` against ``0.0``), or NaN values differ.
- ``max_abs_diff`` = ``max |b - a|`` (NaN if a NaN is involved).
- ``cosine`` = ``a·b / (||a|| ||b||)``, clipped to [-1, 1]; NaN when a side is all zeros
  and for integer and boolean tensors (a counter has no direction).

Strings and other non-numeric tensors get a status and NaN measures.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ckpt_widgets.errors import NothingInCommonError
from ckpt_widgets.files.graph import is_under, relative
from ckpt_widgets.files.slices import SLICE_BYTES, read_slices
from ckpt_widgets.files.source import CheckpointSource

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

STATUSES = ("same", "changed", "only_a", "only_b", "shape_changed", "dtype_changed")
COLUMNS = [
    "path", "status", "shape_a", "shape_b", "dtype_a", "dtype_b", "rel_change",
    "max_abs_diff", "cosine", "norm_a", "norm_diff", "size", "nbytes", "group", "module",
    "layer", "path_a", "path_b", "key_a", "key_b",
]  # fmt: skip
MEASURES = ("rel_change", "max_abs_diff", "cosine", "norm_a", "norm_diff")
_CHUNK = 1 << 18  # elements per block: blocks stay in cache, no full-size float64 copies
_STATUS_OF_MATCH = {
    "match": None,  # decided by the values
    "shape_mismatch": "shape_changed",
    "dtype_mismatch": "dtype_changed",
}


@dataclass
class Entry:
    """One variable on one side: how to find it and how to read it."""

    path: str
    key: str
    shape: tuple[int, ...]
    dtype: str
    group: str
    layer: str
    read: Callable[[], np.ndarray]
    slices: Callable[[int], Iterable[tuple[int, np.ndarray]]] | None = None
    """The value as flat pieces of at most that many bytes (None: read whole)."""


def compare(
    a: Any, b: Any, *, root_a: str | None = None, root_b: str | None = None
) -> pd.DataFrame:
    """One row per variable of ``a`` or ``b``: status and how far ``b`` moved from ``a``.

    ``a`` and ``b`` are checkpoints (a path as :func:`ckpt_widgets.open_checkpoint` takes
    it, or an opened source) or live Keras models. ``root_a`` / ``root_b``: the object path
    where each file holds the model (``"model"`` for ``tf.train.Checkpoint(model=m)``);
    found automatically when None (for a model and a file, the file's root is passed to
    :func:`~ckpt_widgets.match`). Columns: ``path`` (relative to the roots), ``status``
    (one of :data:`STATUSES`), ``shape_a``, ``shape_b``, ``dtype_a``, ``dtype_b``,
    ``rel_change``, ``max_abs_diff``, ``cosine`` (see the module's doc), ``norm_a``,
    ``norm_diff`` (``||a||``, ``||b - a||``), ``size``, ``nbytes``, ``group``
    (model / optimizer / other), ``module`` (the parent path), ``layer`` (Keras layer name
    where the file or model knows it), ``path_a`` / ``path_b`` (full paths on each side)
    and ``key_a`` / ``key_b`` (tensor key in the file, or the model variable's name).

    Raises :class:`~ckpt_widgets.NothingInCommonError` when no variable pairs up.
    """
    return compare_pairs(pair_variables(a, b, root_a=root_a, root_b=root_b))


def compare_pairs(
    pairs: Iterable[tuple[str, Entry | None, Entry | None]], slice_bytes: int = SLICE_BYTES
) -> pd.DataFrame:
    """The comparison table of already paired entries, reading each pair in turn; a pair
    over ``slice_bytes`` is read and measured piece by piece (pieces of that size)."""
    import pandas as pd

    rows = [_row(path, x, y, slice_bytes) for path, x, y in pairs]
    return pd.DataFrame(rows, columns=COLUMNS)


def compare_rollup(table: pd.DataFrame) -> pd.DataFrame:
    """Per subtree of ``path`` (``""`` is everything): counts per status and change.

    ``rel_change`` of a subtree is ``sqrt(Σ||b-a||²) / sqrt(Σ||a||²)`` over its floating
    point variables with both sides and equal shapes (``0.0`` when all are "same"), so a
    step counter (``save_counter``, ``iterations``) moves no figure; ``max_abs_diff`` is the
    largest of theirs (NaN if any is). Counts and ``size`` (elements, from ``a`` where
    present) take every variable.
    """
    import pandas as pd

    acc: dict[str, dict[str, Any]] = {}
    names = ("path", "status", "dtype_a", "size", "norm_a", "norm_diff", "max_abs_diff")
    columns = zip(*(table[name] for name in names))
    for path, status, dtype, size, norm_a, norm_diff, peak in columns:
        measured = status in ("same", "changed") and _is_float(dtype)
        parts = path.split("/")
        for depth in range(len(parts)):
            entry = acc.setdefault("/".join(parts[:depth]), _empty_rollup())
            entry["status"][status] += 1
            entry["size"] += int(size)
            if measured:
                entry["a2"] += norm_a * norm_a
                entry["d2"] += norm_diff * norm_diff
                entry["peaks"].append(peak)
    rows = {}
    for subtree, entry in acc.items():
        row = {s: entry["status"][s] for s in STATUSES}
        row["variables"] = sum(entry["status"].values())
        row["size"] = entry["size"]
        row["rel_change"] = rollup_ratio(entry["d2"], entry["a2"])
        peaks = entry["peaks"]
        row["max_abs_diff"] = (
            math.nan if any(map(math.isnan, peaks)) else max(peaks, default=math.nan)
        )
        rows[subtree] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "path"
    return frame.sort_index()


def pair_variables(
    a: Any, b: Any, *, root_a: str | None = None, root_b: str | None = None
) -> list[tuple[str, Entry | None, Entry | None]]:
    """``(path, entry_a, entry_b)`` for every variable of either side, ``a``'s order first."""
    a_is_model, b_is_model = _is_model(a), _is_model(b)
    if a_is_model and b_is_model:
        pairs = _pair_by_path(_model_entries(a), _model_entries(b), "", "")
    elif a_is_model:
        pairs = _pair_model(a, b, root_b)
    elif b_is_model:
        pairs = [(p, x, y) for p, y, x in _pair_model(b, a, root_a)]
    else:
        source_a, source_b = _open(a), _open(b)
        entries_a, entries_b = _source_entries(source_a), _source_entries(source_b)
        if root_a is None or root_b is None:
            root_a, root_b = _find_roots(source_a, source_b, entries_a, entries_b, root_a, root_b)
        pairs = _pair_by_path(entries_a, entries_b, root_a, root_b)
    if not any(x is not None and y is not None for _, x, y in pairs):
        raise NothingInCommonError(
            f"{_name(a)} and {_name(b)} share no variable path "
            f"({sum(x is not None for _, x, _ in pairs)} and "
            f"{sum(y is not None for _, _, y in pairs)} variables); compare checkpoints of the "
            "same model, pass root_a= / root_b= where they hold it, or compare a live model "
            "with each file."
        )
    return pairs


# -- measuring one pair -----------------------------------------------------------------


def _row(path: str, x: Entry | None, y: Entry | None, slice_bytes: int) -> dict[str, Any]:
    first = x if x is not None else y
    assert first is not None
    row: dict[str, Any] = {
        "path": path,
        "shape_a": x.shape if x else None,
        "shape_b": y.shape if y else None,
        "dtype_a": x.dtype if x else None,
        "dtype_b": y.dtype if y else None,
        **dict.fromkeys(MEASURES, math.nan),
        "size": math.prod(first.shape),
        "group": first.group,
        "module": path.rpartition("/")[0],
        "layer": (x.layer if x and x.layer else y.layer if y else "") or "",
        "path_a": x.path if x else None,
        "path_b": y.path if y else None,
        "key_a": x.key if x else None,
        "key_b": y.key if y else None,
    }
    row["nbytes"] = row["size"] * _itemsize(first.dtype)
    if x is None or y is None:
        row["status"] = "only_a" if y is None else "only_b"
    elif x.shape != y.shape:
        row["status"] = "shape_changed"
    elif x.dtype != y.dtype:
        row["status"] = "dtype_changed"
    elif row["nbytes"] > slice_bytes and x.slices is not None and y.slices is not None:
        row.update(measure_pieces(_aligned(x.slices(slice_bytes), y.slices(slice_bytes))))
    else:
        row.update(measure(x.read(), y.read()))
    return row


def measure(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """``status`` ("same" / "changed" / "dtype_changed") and the measures of ``b`` vs ``a``."""
    import numpy as np

    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    if a.dtype != b.dtype:
        return {"status": "dtype_changed"}
    same = _bit_equal(a, b)
    if not _numeric(a.dtype):
        return {"status": "same" if same else "changed"}
    return _measures(same, a.dtype, _sums(a, None if same else b))


def measure_pieces(pieces: Iterable[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """:func:`measure` of two tensors given as pairs of equal-length flat pieces, one pair
    in memory at a time: "same" compares the bytes piece by piece, the sums add up."""
    import numpy as np

    same, dtype = True, None
    totals = [0.0, 0.0, 0.0, 0.0]  # Σa², Σb², Σab, Σ(b-a)²
    peaks: list[float] = []
    for a, b in pieces:
        a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
        if a.dtype != b.dtype:
            return {"status": "dtype_changed"}
        dtype = a.dtype
        same = same and _bit_equal(a, b)
        if _numeric(dtype):
            *sums, peak = _sums(a, b)
            totals = [t + x for t, x in zip(totals, sums)]
            peaks.append(peak)
    if dtype is None or not _numeric(dtype):
        return {"status": "same" if same else "changed"}
    peak = float(np.max(peaks)) if peaks else math.nan
    aa, bb, ab, dd = totals
    return _measures(same, dtype, (aa, bb, ab, dd, peak))


def _numeric(dtype: np.dtype) -> bool:
    return dtype.kind in "fiub" or dtype.name == "bfloat16"


def _measures(
    same: bool, dtype: np.dtype, sums: tuple[float, float, float, float, float]
) -> dict[str, Any]:
    """The measures from ``Σa², Σb², Σab, Σ(b-a)², max|b-a|`` (see :func:`_sums`)."""
    out: dict[str, Any] = {"status": "same" if same else "changed"}
    floating = dtype.kind == "f" or dtype.name == "bfloat16"
    aa, bb, ab, dd, peak = sums
    if same:
        norm = math.sqrt(aa)
        cosine = 1.0 if floating else math.nan
        out.update(
            rel_change=0.0,
            max_abs_diff=0.0,
            cosine=cosine if norm > 0 else math.nan,
            norm_a=norm,
            norm_diff=0.0,
        )
        return out
    norm_a, norm_diff = math.sqrt(aa), math.sqrt(dd)
    cosine = math.nan
    # Σb² comes from a sum of terms: below rounding level of its terms, b is all zeros.
    b_is_zero = not bb > 1e-12 * (aa + dd)
    if floating and aa > 0 and not b_is_zero:
        cosine = min(1.0, max(-1.0, ab / (math.sqrt(aa) * math.sqrt(bb))))
        if math.isnan(ab):
            cosine = math.nan
    out.update(
        rel_change=_ratio(norm_diff, norm_a),
        max_abs_diff=peak,
        cosine=cosine,
        norm_a=norm_a,
        norm_diff=norm_diff,
    )
    return out


def _aligned(
    xs: Iterable[tuple[int, np.ndarray]], ys: Iterable[tuple[int, np.ndarray]]
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Two flat streams of the same length cut into pairs of equal-length pieces."""
    import numpy as np

    left, right = (v for _, v in xs), (v for _, v in ys)
    a: np.ndarray | None = np.empty(0)
    b: np.ndarray | None = np.empty(0)
    while True:
        while a is not None and not a.size:
            a = next(left, None)
        while b is not None and not b.size:
            b = next(right, None)
        if a is None or b is None:
            return
        n = min(a.size, b.size)
        yield a[:n], b[:n]
        a, b = a[n:], b[n:]


def _bit_equal(a: np.ndarray, b: np.ndarray) -> bool:
    import numpy as np

    if a.shape != b.shape:
        return False
    if a.dtype.kind == "O":
        return bool(np.array_equal(a, b))
    x, y = a.reshape(-1).view(np.uint8), b.reshape(-1).view(np.uint8)
    step = _CHUNK * 8
    return all(np.array_equal(x[i : i + step], y[i : i + step]) for i in range(0, len(x), step))


def _sums(a: np.ndarray, b: np.ndarray | None) -> tuple[float, float, float, float, float]:
    """``Σa², Σb², Σab, Σ(b-a)², max|b-a|`` in float64 blocks (only ``Σa²`` if no ``b``).

    Three dot products per block (``a·a``, ``a·d``, ``d·d`` with ``d = b - a``) give the
    rest: ``Σab = Σa² + Σad`` and ``Σb² = Σa² + 2Σad + Σd²``. einsum, not np.dot: BLAS
    threads fight TensorFlow's for the cores.
    """
    import numpy as np

    x = a.reshape(-1)
    n = x.size
    buf_a = np.empty(min(n, _CHUNK), np.float64)
    buf_d = np.empty(buf_a.size, np.float64) if b is not None else None
    y = b.reshape(-1) if b is not None else None
    aa = ad = dd = 0.0
    peaks = []
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, n, _CHUNK):
            ca = buf_a[: min(_CHUNK, n - start)]
            np.copyto(ca, x[start : start + _CHUNK], casting="unsafe")
            aa += float(np.einsum("i,i->", ca, ca))
            if y is None or buf_d is None:
                continue
            cd = buf_d[: ca.size]
            np.copyto(cd, y[start : start + _CHUNK], casting="unsafe")
            np.subtract(cd, ca, out=cd)
            ad += float(np.einsum("i,i->", ca, cd))
            dd += float(np.einsum("i,i->", cd, cd))
            peaks.extend((cd.max(), -cd.min()))
    peak = float(np.max(peaks)) if peaks else math.nan
    return aa, aa + 2 * ad + dd, aa + ad, dd, peak


def _ratio(num: float, den: float) -> float:
    if math.isnan(num) or math.isnan(den):
        return math.nan
    if den > 0:
        return num / den
    return math.inf if num > 0 else math.nan


def rollup_ratio(d2: float, a2: float) -> float:
    """``sqrt(d2 / a2)`` for summed squares: ``0.0`` when nothing moved (even all-zero
    tensors), ``inf`` when ``a`` is all zeros and something moved, NaN if a sum is."""
    if math.isnan(d2) or math.isnan(a2):
        return math.nan
    if d2 == 0:
        return 0.0
    return math.sqrt(d2 / a2) if a2 > 0 else math.inf


def _itemsize(dtype: str) -> int:
    import numpy as np

    try:
        return np.dtype(dtype).itemsize
    except TypeError:  # "bfloat16" and other names numpy does not know
        return 2 if "16" in dtype else 0


def _is_float(dtype: Any) -> bool:
    """A floating point dtype name (``float32``, ``bfloat16``, ``float8_e4m3fn``, ...)."""
    return "float" in str(dtype)


def _empty_rollup() -> dict[str, Any]:
    return {"status": Counter(), "size": 0, "a2": 0.0, "d2": 0.0, "peaks": []}


# -- pairing ------------------------------------------------------------------------------


def _is_model(obj: Any) -> bool:
    return hasattr(obj, "weights") and not isinstance(obj, (str, bytes, CheckpointSource))


def _open(src_or_path: Any) -> Any:
    from ckpt_widgets.files.open import open_checkpoint

    return open_checkpoint(src_or_path)


def _name(obj: Any) -> str:
    if _is_model(obj):
        return f"model '{getattr(obj, 'name', type(obj).__name__)}'"
    return f"'{getattr(obj, 'prefix', obj)}'"


def _source_entries(source: Any) -> list[Entry]:
    cols = source.variables
    layers = cols["layer"].tolist() if "layer" in cols else [""] * len(cols)
    return [
        Entry(
            path,
            key,
            tuple(shape),
            dtype,
            group,
            layer or "",
            _reader(source, key),
            _slicer(source, key),
        )
        for path, key, shape, dtype, group, layer in zip(
            cols["path"], cols["key"], cols["shape"], cols["dtype"], cols["group"], layers
        )
    ]


def _reader(source: Any, key: str) -> Callable[[], np.ndarray]:
    return lambda: source.read(key)


def _slicer(source: Any, key: str) -> Callable[[int], Iterable[tuple[int, np.ndarray]]]:
    return lambda slice_bytes: read_slices(source, key, slice_bytes, reuse=True)


def _live_slicer(variable: Any) -> Callable[[int], Iterable[tuple[int, np.ndarray]]]:
    def slices(slice_bytes: int) -> Iterator[tuple[int, np.ndarray]]:
        import numpy as np

        from .snapshot import current_value

        flat = np.ascontiguousarray(current_value(variable)).reshape(-1)  # no copy
        step = max(1, slice_bytes // max(1, flat.itemsize))
        for start in range(0, flat.size, step):
            yield start, flat[start : start + step]

    return slices


def _model_entries(model: Any) -> list[Entry]:
    from .model import ModelGraph

    graph = ModelGraph.of(model)
    table = graph.variables
    seen: dict[int, Any] = {}
    for v in graph.weights:
        seen.setdefault(id(v), v)
    live = list(seen.values())
    return [
        Entry(
            path or name,
            name,
            tuple(shape),
            dtype,
            "model",
            layer,
            _live_reader(v),
            _live_slicer(v),
        )
        for v, path, name, shape, dtype, layer in zip(
            live, table["path"], table["name"], table["shape"], table["dtype"], table["layer"]
        )
    ]


def _live_reader(variable: Any) -> Callable[[], np.ndarray]:
    import numpy as np

    return lambda: np.asarray(variable.numpy())


def _pair_by_path(
    entries_a: list[Entry], entries_b: list[Entry], root_a: str, root_b: str
) -> list[tuple[str, Entry | None, Entry | None]]:
    def keyed(entries: list[Entry], root: str) -> dict[tuple[bool, str], Entry]:
        out: dict[tuple[bool, str], Entry] = {}
        for e in entries:
            inside = is_under(e.path, root) and e.path != root
            out.setdefault((inside, relative(e.path, root) if inside else e.path), e)
        return out

    by_a, by_b = keyed(entries_a, root_a), keyed(entries_b, root_b)
    pairs = [(path, x, by_b.get((inside, path))) for (inside, path), x in by_a.items()]
    pairs += [(path, None, y) for (inside, path), y in by_b.items() if (inside, path) not in by_a]
    return pairs


def _find_roots(
    source_a: Any,
    source_b: Any,
    entries_a: list[Entry],
    entries_b: list[Entry],
    root_a: str | None,
    root_b: str | None,
) -> tuple[str, str]:
    """The roots under which most paths pair (ties: the shortest roots)."""
    options_a = [root_a] if root_a is not None else _root_options(source_a, entries_a)
    options_b = [root_b] if root_b is not None else _root_options(source_b, entries_b)
    paths_a = [e.path for e in entries_a]
    paths_b = [e.path for e in entries_b]

    def score(ra: str, rb: str) -> int:
        left = {relative(p, ra) for p in paths_a if is_under(p, ra) and p != ra}
        return sum(relative(p, rb) in left for p in paths_b if is_under(p, rb) and p != rb)

    ranked = sorted(
        ((score(ra, rb), ra, rb) for ra in options_a for rb in options_b),
        key=lambda r: (-r[0], len(r[1]) + len(r[2])),
    )
    return ranked[0][1], ranked[0][2]


def _root_options(source: Any, entries: list[Entry]) -> list[str]:
    if getattr(source, "object_graph", None) is None:
        return [""]
    tops = [e.path.split("/", 1)[0] for e in entries if "/" in e.path and e.group == "model"]
    return ["", *dict.fromkeys(tops)]


def _pair_model(
    model: Any, src_or_path: Any, root: str | None
) -> list[tuple[str, Entry | None, Entry | None]]:
    """Model variables first (model side, file side), then the file's unused variables."""
    from .matching import match

    m = match(model, src_or_path, root=root)
    t = m.columns
    source = m.source
    table = source.variables
    layers = dict(zip(table["key"], table["layer"])) if "layer" in table else {}
    pairs: list[tuple[str, Entry | None, Entry | None]] = []
    for i, status in enumerate(t["status"]):
        mine = theirs = None
        if i < len(m.variables):
            model_path = t["model_path"][i] or ""
            mine = Entry(
                model_path or t["name"][i],
                t["name"][i],
                tuple(t["model_shape"][i]),
                t["model_dtype"][i],
                "model",
                t["layer"][i] or "",
                _live_reader(m.variables[i]),
                _live_slicer(m.variables[i]),
            )
            path = _relative_or_full(model_path, m.model_root) or t["name"][i]
        else:
            path = _relative_or_full(t["ckpt_path"][i], m.root)
        if status in _STATUS_OF_MATCH or status == "unused":
            key = t["key"][i]
            theirs = Entry(
                t["ckpt_path"][i],
                key,
                tuple(t["ckpt_shape"][i]),
                t["ckpt_dtype"][i],
                t["group"][i] or "model",
                str(layers.get(key) or ""),
                _reader(source, key),
                _slicer(source, key),
            )
            if status in _STATUS_OF_MATCH:
                path = _relative_or_full(t["ckpt_path"][i], m.root)
        pairs.append((path, mine, theirs))
    return pairs


def _relative_or_full(path: str, root: str) -> str:
    if path and is_under(path, root) and path != root:
        return relative(path, root)
    return path
