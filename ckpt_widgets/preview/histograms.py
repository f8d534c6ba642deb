"""Weight histograms: the checkpoint's values against the model's current values, on the same
bins, with summary statistics, rendered with matplotlib (Agg) to PNG.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from ckpt_widgets.errors import did_you_mean

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.figure import Figure

    from ckpt_widgets.engine.matching import Match

SUMMARY_KEYS = ("mean", "std", "min", "max", "zeros_pct", "nan", "inf", "l2")
SIDES = ("checkpoint", "model")
THEME_KEYS = ("foreground", "background", "checkpoint", "model")
"""A theme names a colour (``#rrggbb``) for each: text and axes, figure, and the two sides."""
LIGHT = {
    "foreground": "#222222",
    "background": "#ffffff",
    "checkpoint": "#1f77b4",
    "model": "#ff7f0e",
}
MAX_STATS = 50
"""preview() summarises at most this many variables."""
_CHUNK = 1 << 18  # elements per block: blocks stay in cache, no full-size temporaries
Panel = tuple[str, Any, Any]


def summary(values: Any) -> dict[str, float]:
    """Statistics of one array: ``mean std min max zeros_pct nan inf l2``.

    ``nan`` and ``inf`` count elements; ``zeros_pct`` is the percentage of all elements
    that are zero; the rest cover the finite values only (NaN for mean/std/min/max and 0
    for l2 when there are none). Exact: every element is counted.
    """
    import numpy as np

    a, finite, lo, hi = _prepare(values)[1:]
    size = a.size
    out = {
        "mean": math.nan,
        "std": math.nan,
        "min": lo,
        "max": hi,
        "zeros_pct": 0.0,
        "nan": 0.0,
        "inf": 0.0,
        "l2": 0.0,
    }
    if finite is not a:
        out["nan"] = float(np.count_nonzero(np.isnan(a)))
        out["inf"] = float(size - finite.size - out["nan"])
    n = finite.size
    if not n:
        return out
    # One pass in float64 blocks: sum, squared deviations (merged per block, Chan et al.)
    # and zeros, without a float64 copy of the whole array. einsum, not np.dot: BLAS
    # threads fight TensorFlow's for the cores and make the time erratic.
    total = squares = 0.0
    zeros = 0
    buffer = np.empty(min(n, _CHUNK), np.float64)
    is_zero = np.empty(buffer.size, bool)
    with np.errstate(over="ignore", invalid="ignore"):  # sums past 1e308 give inf, as np.mean
        for start in range(0, n, _CHUNK):
            chunk = finite[start : start + _CHUNK]
            block = buffer[: chunk.size]
            np.copyto(block, chunk)
            zeros += int(np.count_nonzero(np.equal(chunk, 0, out=is_zero[: chunk.size])))
            block_sum = float(block.sum())
            block -= block_sum / chunk.size
            block_squares = float(np.einsum("i,i->", block, block))
            if start:
                delta = block_sum / chunk.size - total / start
                block_squares += delta * delta * start * chunk.size / (start + chunk.size)
            squares += block_squares
            total += block_sum
    mean = total / n
    out.update(
        mean=mean,
        std=math.sqrt(squares / n),
        zeros_pct=100.0 * zeros / size,
        l2=math.sqrt(squares + n * mean * mean),
    )
    return out


def compare(stored: Any, current: Any) -> pd.DataFrame:
    """Summaries of the stored and the current value, indexed ``checkpoint`` / ``model``.

    A side that is None has no row. ``max_abs_diff`` (on both rows) is the largest
    ``|stored - current|`` over the block both shapes share; NaN when a side is missing
    or the ranks differ.
    """
    import pandas as pd

    sides = {s: _prepare(v) for s, v in zip(SIDES, (stored, current)) if v is not None}
    rows = {s: summary(v) for s, v in sides.items()}
    diff = math.nan
    if len(sides) == 2:
        diff = _max_abs_diff(sides["checkpoint"].array, sides["model"].array)
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(SUMMARY_KEYS))
    frame["max_abs_diff"] = diff
    return frame


def figure(
    panels: Sequence[Panel],
    bins: int = 50,
    max_panels: int = 6,
    theme: dict[str, str] | None = None,
    log: bool = False,
    labels: Sequence[str] = SIDES,
) -> tuple[Figure, int]:
    """Draw up to ``max_panels`` panels ``(title, stored, current)``, 3 per row.

    Each panel overlays the two histograms on the same bin edges, as the percentage of
    each side's finite values per bin (so a widened layer compares with its checkpoint);
    ``log`` draws that percentage on a log scale. ``theme`` (see :data:`THEME_KEYS`,
    checked by :func:`check_theme`) colours text, background and sides; default
    :data:`LIGHT`. Returns the figure and the number of panels drawn. Uses the Agg
    canvas, never pyplot. ``labels`` name the two sides in the legend (e.g. ``("A", "B")``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shown = list(panels)[: max(0, max_panels)]
    cols = min(3, max(1, len(shown)))
    rows = max(1, math.ceil(len(shown) / cols))
    width, height = 3.2 * cols, 2.4 * rows
    colours = check_theme(theme)
    fig = Figure(figsize=(width, height), dpi=100, facecolor=colours["background"])
    FigureCanvasAgg(fig)
    if not shown:
        fig.text(
            0.5, 0.5, "no values to show", ha="center", va="center", fontsize=9,
            color=colours["foreground"],
        )  # fmt: skip
        return fig, 0
    # Fixed margins in inches (a layout engine costs ~20 ms a panel): each 3.2 x 2.4 in
    # cell holds a 2.65 x 1.85 in axes.
    grid = {
        "left": 0.45 / width,
        "right": 1 - 0.1 / width,
        "wspace": 0.55 / 2.65,
        "bottom": 0.3 / height,
        "top": 1 - 0.25 / height,
        "hspace": 0.55 / 1.85,
    }
    axes = fig.subplots(rows, cols, squeeze=False, gridspec_kw=grid).ravel()
    for ax, (title, stored, current) in zip(axes, shown):
        _draw(ax, str(title), stored, current, bins, colours, log, labels)
    for ax in axes[len(shown) :]:
        ax.set_axis_off()
    return fig, len(shown)


def png(
    panels: Sequence[Panel],
    bins: int = 50,
    max_panels: int = 6,
    theme: dict[str, str] | None = None,
    log: bool = False,
    scale: int = 1,
    labels: Sequence[str] = SIDES,
) -> bytes:
    """The PNG bytes of :func:`figure`, ``scale`` pixels per CSS pixel (2 for HiDPI)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig, _ = figure(panels, bins=bins, max_panels=max_panels, theme=theme, log=log, labels=labels)
    fig.set_dpi(100 * scale)
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return buffer.getvalue()


def check_theme(theme: dict[str, str] | None) -> dict[str, str]:
    """A theme's colours, checked: a mapping of :data:`THEME_KEYS` to ``#rrggbb``."""
    import re

    if theme is None:
        return dict(LIGHT)
    if not isinstance(theme, dict) or set(theme) != set(THEME_KEYS):
        raise ValueError(f"A theme maps exactly {', '.join(THEME_KEYS)} to colours '#rrggbb'.")
    for key, colour in theme.items():
        if not (isinstance(colour, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", colour)):
            raise ValueError(f"Theme colour '{key}' must be '#rrggbb', not {colour!r:.40}.")
    return dict(theme)


def preview(
    m: Match,
    paths: str | Iterable[str],
    max_panels: int = 6,
    adapt: str | None = None,
    theme: dict[str, str] | None = None,
    log: bool = False,
    scale: int = 1,
) -> tuple[bytes, pd.DataFrame]:
    """Histograms and statistics of the variables ``paths`` name in ``m.table``.

    A path is a model variable's object path, a submodule's (every variable under it) or
    a checkpoint path. Returns the PNG of the first ``max_panels`` variables and one stats
    row per side of each of the first 50 (``path, side, mean, …, max_abs_diff``).
    With ``adapt`` (``"overlap"`` / ``"zeros"``) a shape-mismatched variable's checkpoint
    side is the tensor the restore would write: the stored block fitted into the model's
    shape. ``theme``, ``log`` and ``scale`` are :func:`png`'s.
    """
    import pandas as pd

    check_theme(theme)  # before any reading
    rows = _rows(m, [paths] if isinstance(paths, str) else list(paths))

    def read_sides(i: int) -> tuple[Any, Any]:
        stored, current = _read(m, i, adapt)
        if adapt and stored is not None and current is not None:
            stored = adapted(stored, current, adapt)
        return stored, current

    # Prepared once, the drawn values share their min, max and finite values with the stats.
    values = {
        i: [v if v is None else _prepare(v) for v in read_sides(i)] for i in rows[:max_panels]
    }
    panels = [(_title(m, i), *values[i]) for i in values]
    frames = []
    for i in rows[:MAX_STATS]:
        frame = compare(*(values[i] if i in values else read_sides(i)))
        frame.insert(0, "side", frame.index)
        frame.insert(0, "path", _path(m, i))
        frames.append(frame)
    data = png(panels, max_panels=max_panels, theme=theme, log=log, scale=scale)
    columns = ["path", "side", *SUMMARY_KEYS, "max_abs_diff"]
    stats = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return data, stats[columns]


# -- helpers ------------------------------------------------------------------------------


def _as_float(values: Any) -> np.ndarray:
    """float32/float64 as they are (no copy); any other dtype as float64."""
    import numpy as np

    a = np.asarray(values)
    if a.dtype in (np.float32, np.float64):
        return a
    return a.astype(np.float64)


class _Prepared(NamedTuple):
    array: np.ndarray
    """The values as given, as an array (its shape is the variable's)."""
    flat: np.ndarray
    """Flat, float32 or float64."""
    finite: np.ndarray
    """The finite values of ``flat`` (``flat`` itself when all are)."""
    lo: float
    hi: float


def _prepare(values: Any) -> _Prepared:
    """Values with their finite values, min and max, computed once."""
    import numpy as np

    if isinstance(values, _Prepared):
        return values
    array = np.asarray(values)
    flat = _as_float(array).ravel()
    return _Prepared(array, flat, *_finite(flat))


def _finite(a: np.ndarray) -> tuple[np.ndarray, float, float]:
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


def _counts(a: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(a, edges)[0]`` for finite ``a`` within equal-width float64 ``edges``.

    3x faster: bin numbers are computed in ``a``'s own dtype, block by block, with no
    full-size temporaries, and only values within rounding of an edge are checked
    against it (as ``np.histogram`` checks every value).
    """
    import numpy as np

    bins = len(edges) - 1
    counts = np.zeros(bins, np.int64)
    span = float(edges[-1] - edges[0])
    kind = a.dtype.type
    with np.errstate(over="ignore"):
        exact = (
            kind(edges[0]) == edges[0]  # else a shift of up to half an ulp of the origin
            and np.isfinite(kind(span))
            and np.isfinite(kind(bins / span))
            and 16 * bins * float(np.finfo(a.dtype).eps) < 0.1
        )
    if not exact:  # float32 rarely: mixed with float64 values, spans near 1e38 or 1e-38
        a = a.astype(np.float64)
        kind = np.float64
    origin, scale = kind(edges[0]), kind(bins / span)
    # v = (a - lo) * scale + tolerance: a value is near an edge when frac(v) < 2 tolerance.
    tolerance = kind(1e-3 + 16 * bins * float(np.finfo(a.dtype).eps))
    v = np.empty(min(a.size, _CHUNK), a.dtype)
    whole = np.empty_like(v)
    i = np.empty(v.size, np.int32)  # int32: a cheaper cast, and bincount takes it as fast
    near = np.empty(v.size, bool)
    for start in range(0, a.size, _CHUNK):
        chunk = a[start : start + _CHUNK]
        n = chunk.size
        np.subtract(chunk, origin, out=v[:n])  # >= 0: origin is at most the smallest value
        v[:n] *= scale
        v[:n] += tolerance
        np.floor(v[:n], out=whole[:n])
        np.copyto(i[:n], whole[:n], casting="unsafe")
        v[:n] -= whole[:n]
        np.less(v[:n], 2 * tolerance, out=near[:n])
        check = np.flatnonzero(near[:n])
        if check.size:  # includes a == hi, at bin number `bins`: the last bin is closed
            x, k = chunk[check], np.minimum(i[check], bins - 1)
            k -= x < edges[k]
            k += (x >= edges[k + 1]) & (k < bins - 1)
            i[check] = k
        counts += np.bincount(i[:n], minlength=bins)
    return counts


def _max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| over the block both shapes share, in blocks; NaN if the ranks differ."""
    import numpy as np

    if a.ndim != b.ndim:
        return math.nan
    block = tuple(slice(0, min(x, y)) for x, y in zip(a.shape, b.shape))
    a, b = a[block], b[block]
    if not a.size:
        return math.nan
    if a.flags.c_contiguous and b.flags.c_contiguous:
        a, b = a.reshape(-1), b.reshape(-1)
    step = max(1, _CHUNK // max(1, a[:1].size))
    peaks = [
        np.max(np.abs(_as_float(a[i : i + step]) - _as_float(b[i : i + step])))
        for i in range(0, len(a), step)
    ]
    return float(np.max(peaks))


def _draw(
    ax: Any,
    title: str,
    stored: Any,
    current: Any,
    bins: int,
    colours: dict[str, str],
    log: bool,
    labels: Sequence[str] = SIDES,
) -> None:
    import numpy as np

    names = dict(zip(SIDES, labels))
    sides = [(s, _prepare(v)) for s, v in zip(SIDES, (stored, current)) if v is not None]
    lows = [v.lo for _, v in sides if v.finite.size]
    highs = [v.hi for _, v in sides if v.finite.size]
    lo, hi = (min(lows), max(highs)) if lows else (0.0, 1.0)
    if lo == hi:
        pad = max(0.5, abs(lo) * 1e-6)  # lo - 0.5 == lo past 2**53
        lo, hi = lo - pad, hi + pad
    note = "" if lows else "no finite values"
    if not (math.isfinite(hi - lo) and math.isfinite(bins / (hi - lo))):
        lo, hi, note = 0.0, 1.0, f"values span {min(lows):.3g} to {max(highs):.3g}"
    edges = np.linspace(lo, hi, bins + 1)
    for side, v in sides:
        share = np.zeros(bins) if note else _counts(v.finite, edges) * (100 / v.finite.size)
        ax.stairs(share, edges, fill=True, alpha=0.5, color=colours[side], label=names[side])
    fg = colours["foreground"]
    if note:
        ax.set_yticks([])
        ax.text(
            0.5, 0.5, note, ha="center", va="center", fontsize=8, color=fg,
            transform=ax.transAxes,
        )  # fmt: skip
    elif log and sides:
        from matplotlib.ticker import NullFormatter

        ax.set_yscale("log")
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(lo, hi)
    _colour_axes(ax, colours)
    ax.set_title(title, fontsize=9, color=fg)
    if sides:
        ax.legend(fontsize=7, frameon=False, labelcolor=fg)


def _colour_axes(ax: Any, colours: dict[str, str]) -> None:
    """Text, ticks and frame in the theme's foreground on its background."""
    fg = colours["foreground"]
    ax.set_facecolor(colours["background"])
    ax.tick_params(which="both", labelsize=7, colors=fg)
    for spine in ax.spines.values():
        spine.set_color(fg)
    for axis in (ax.xaxis, ax.yaxis):
        axis.get_offset_text().set_fontsize(7)
        axis.get_offset_text().set_color(fg)


def _rows(m: Match, paths: list[str]) -> list[int]:
    """Positions in ``m.table`` of the rows ``paths`` name, in order, without repeats."""
    table = m.table
    n_model = len(m.variables)
    model_paths = [p if isinstance(p, str) else "" for p in table["model_path"].iloc[:n_model]]
    ckpt_paths = [p if isinstance(p, str) else "" for p in table["ckpt_path"]]
    chosen: dict[int, None] = {}
    for p in paths:
        hits = [i for i, mp in enumerate(model_paths) if mp and (mp == p or mp.startswith(p + "/"))]
        if not hits:  # an untracked variable is named by its Keras path
            names = table["name"].iloc[:n_model].tolist()
            hits = [i for i, name in enumerate(names) if p and name == p]
        if not hits:
            hits = [i for i, cp in enumerate(ckpt_paths) if p and cp == p]
        if not hits:
            hint = did_you_mean(str(p), [x for x in model_paths + ckpt_paths if x])
            raise KeyError(f"'{p}' is no model variable, submodule or checkpoint path{hint}")
        chosen.update(dict.fromkeys(hits))
    return list(chosen)


def _title(m: Match, i: int) -> str:
    """A short panel title: layer and variable (``conv1/kernel``) when the model has it."""
    name = m.table["name"].iat[i] if i < len(m.variables) else None
    path = name if isinstance(name, str) and name else _path(m, i)
    return "/".join(path.split("/")[-2:])


def _path(m: Match, i: int) -> str:
    """The object path of row ``i``: the model's, an untracked variable's Keras name, or
    (for an unused row) the checkpoint's."""
    row = m.table.iloc[i]
    for column in ("model_path", "name") if i < len(m.variables) else ("ckpt_path",):
        if isinstance(row[column], str) and row[column]:
            return row[column]
    return str(row["ckpt_path"])


def adapted(stored: Any, current: Any, adapt: str) -> Any:
    """``stored`` fitted into ``current``'s shape as ``restore(adapt=...)`` would write it."""
    import numpy as np

    if stored.shape == current.shape or stored.ndim != current.ndim:
        return stored
    value = current.copy() if adapt == "overlap" else np.zeros_like(current)
    block = tuple(slice(0, min(a, b)) for a, b in zip(current.shape, stored.shape))
    value[block] = stored[block].astype(value.dtype)
    return value


def _read(m: Match, i: int, adapt: str | None = None) -> tuple[Any, Any]:
    """The stored and the live value of table row ``i`` (None for a side it lacks).

    With ``adapt``, only the stored block that fits the live variable is read.
    """
    key = m.table["key"].iat[i]
    current = m.variables[i].numpy() if i < len(m.variables) else None
    if not (isinstance(key, str) and key):
        return None, current
    if adapt and current is not None and len(m.table["ckpt_shape"].iat[i]) == current.ndim:
        return m.source.read_block(key, current.shape), current
    return m.source.read(key), current
