"""The widget without a model: one checkpoint explored, or two sides compared.

Pure data for the front end, from the same functions a script calls: a checkpoint's
tree from ``src.variables`` and ``src.rollup()``; a comparison's tree from
:func:`ckpt_widgets.compare` and :func:`~ckpt_widgets.engine.compare.compare_rollup`;
histograms of stored values (no "current" side) and of A over B.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ckpt_widgets.errors import did_you_mean
from ckpt_widgets.files.slices import SLICE_BYTES, read_slices

if TYPE_CHECKING:
    import pandas as pd

    from ckpt_widgets.engine.compare import Entry

EXPLORE_COLUMNS = [
    "id", "parent", "kind", "label", "title", "status", "shape", "model_shape", "ckpt_shape",
    "dtype", "size", "nbytes", "group", "layer", "variables", "params_model",
    "params_optimizer", "params_other",
]  # fmt: skip
"""A row of :func:`explore_rows`; ``status`` is the group (model / optimizer / other), or
``"mixed"`` for a subtree holding several. ``ckpt_shape`` repeats ``shape`` and
``model_shape`` is None, as in the model tree's rows, so one front end walks both."""
COMPARE_COLUMNS = [
    "id", "parent", "kind", "label", "title", "status", "shape_a", "shape_b", "dtype", "size",
    "group", "layer", "rel_change", "max_abs_diff", "cosine", "variables", "same", "changed",
    "only_a", "only_b", "shape_changed", "dtype_changed",
]  # fmt: skip
"""A row of :func:`compare_rows`; a subtree's ``status`` is the worst below it."""
SEVERITY = {
    "same": 0, "changed": 1, "only_a": 2, "only_b": 2, "dtype_changed": 3, "shape_changed": 4,
}  # fmt: skip
MAX_BARS = 60
"""The change chart draws at most this many layers (the most changed)."""
_GROUPS = ("model", "optimizer", "other")
Pair = tuple[str, "Entry | None", "Entry | None"]


# -- one checkpoint -----------------------------------------------------------------------


def explore_rows(src: Any) -> pd.DataFrame:
    """A row per stored variable and per subtree above one, parents first.

    Variables come from ``src.variables``; a subtree's sizes (``size`` elements,
    ``nbytes``, ``variables``, ``params_<group>``) from ``src.rollup()``. A subtree's
    ``layer`` is the Keras layer name a ``.weights.h5`` file stores for it.
    """
    import pandas as pd

    table = src.variables
    rollup = src.rollup()
    layers = table["layer"] if "layer" in table else [""] * len(table)
    modules: dict[str, dict[str, Any]] = {}
    variables = []
    for path, key, shape, dtype, size, nbytes, group, layer in zip(
        table["path"], table["key"], table["shape"], table["dtype"], table["size"],
        table["nbytes"], table["group"], layers,
    ):  # fmt: skip
        parent = path.rpartition("/")[0]
        variables.append(
            {
                **_tree_row(path, "variable", path if path == key else f"{path} ({key})", group),
                "shape": list(shape),
                "model_shape": None,
                "ckpt_shape": list(shape),
                "dtype": dtype,
                "size": int(size),
                "nbytes": int(nbytes),
                "group": group,
                "layer": layer if isinstance(layer, str) else "",
                "variables": 1,
                **{f"params_{g}": int(size) if g == group else 0 for g in _GROUPS},
            }
        )
        owner = path.rsplit("/vars/", 1)[0] if "/vars/" in path else None
        while parent and parent not in modules:
            named = layer if parent == owner and isinstance(layer, str) else ""
            modules[parent] = _module_row(parent, rollup.loc[parent], named)
            parent = modules[parent]["parent"]
    return pd.DataFrame(_parents_first([*modules.values(), *variables]), columns=EXPLORE_COLUMNS)


def _tree_row(path: str, kind: str, title: str, status: str) -> dict[str, Any]:
    """The fields every row of a tree has: where it sits, what it is, its name, status."""
    return {
        "id": path,
        "parent": path.rpartition("/")[0],
        "kind": kind,
        "label": path.rsplit("/", 1)[-1],
        "title": title,
        "status": status,
    }


def _module_row(path: str, totals: Any, layer: str) -> dict[str, Any]:
    groups = [g for g in _GROUPS if totals[f"params_{g}"] > 0]
    return {
        **_tree_row(path, "module", path, groups[0] if len(groups) == 1 else "mixed"),
        "shape": None,
        "model_shape": None,
        "ckpt_shape": None,
        "dtype": totals["dtypes"],
        "size": int(totals["params"]),
        "nbytes": int(totals["nbytes"]),
        "group": groups[0] if len(groups) == 1 else "mixed",
        "layer": layer,
        "variables": int(totals["variables"]),
        **{f"params_{g}": int(totals[f"params_{g}"]) for g in _GROUPS},
    }


def source_preview(
    src: Any,
    path: str,
    limit: int = 6,
    theme: dict[str, str] | None = None,
    log: bool = False,
    scale: int = 1,
    slice_bytes: int = SLICE_BYTES,
) -> tuple[bytes, pd.DataFrame]:
    """Histograms of the first ``limit`` stored variables under ``path`` (a variable or a
    subtree) and the statistics of the first 50: ``path, side ("checkpoint"), mean, …``.
    A tensor over ``slice_bytes`` is read in 4 MB pieces (read ahead), never whole."""
    from ckpt_widgets.preview.figures import check_theme, png
    from ckpt_widgets.preview.preview import MAX_STATS
    from ckpt_widgets.preview.stats import Streamed, compare

    check_theme(theme)
    table = src.variables
    chosen = _under(list(table["path"]), path)
    keys, nbytes = table["key"].tolist(), table["nbytes"].tolist()

    def read(i: int) -> Any:
        if nbytes[i] <= slice_bytes:
            return src.read(keys[i])
        shape = tuple(table["shape"].iat[i])
        return Streamed(lambda: read_slices(src, keys[i], slice_bytes, ahead=True), shape)

    values = {i: read(i) for i in chosen[:limit]}
    panels = [(_short(table["path"].iat[i]), v, None) for i, v in values.items()]
    frames = []
    for i in chosen[:MAX_STATS]:
        frame = compare(values[i] if i in values else read(i), None)
        frames.append(_stat_rows(frame, table["path"].iat[i], {"checkpoint": "checkpoint"}))
    image = png(panels, max_panels=limit, theme=theme, log=log, scale=scale)
    return image, _concat(frames)


# -- two sides ----------------------------------------------------------------------------


@dataclass
class Comparison:
    """Two sides compared: their labels, the paired entries and :func:`cw.compare`'s table.

    Values are read again (one pair at a time) only for histograms.
    """

    labels: tuple[str, str]
    pairs: list[Pair]
    table: pd.DataFrame = field(repr=False)

    @classmethod
    def of(cls, a: Any, b: Any, labels: tuple[str, str], root_b: str | None = None) -> Comparison:
        """Compare ``a`` with ``b`` (checkpoints or live models), streaming."""
        from ckpt_widgets.engine.compare import compare_pairs, pair_variables

        pairs = pair_variables(a, b, root_b=root_b)
        return cls(labels, pairs, compare_pairs(pairs))

    def rows(self) -> pd.DataFrame:
        """:func:`compare_rows` of the table."""
        return compare_rows(self.table)

    def chart(
        self, theme: dict[str, str] | None = None, scale: int = 1, group: str = "model"
    ) -> bytes:
        """:func:`change_chart` of the table."""
        return change_chart(self.table, self.labels, theme=theme, scale=scale, group=group)

    def overlay(
        self,
        path: str,
        limit: int = 6,
        theme: dict[str, str] | None = None,
        log: bool = False,
        scale: int = 1,
    ) -> tuple[bytes, pd.DataFrame]:
        """A's and B's histograms of the variables under ``path``, on the same bins.

        Returns the PNG of the first ``limit`` and statistics of the first 50: per
        variable a row per side (``side`` is the label) and, where both sides have the
        same shape, one for ``B - A``; ``max_abs_diff`` on every row.
        """
        from ckpt_widgets.preview.figures import check_theme, png
        from ckpt_widgets.preview.preview import MAX_STATS

        check_theme(theme)
        chosen = _under([p for p, _, _ in self.pairs], path)
        frames, panels = [], []
        for n, i in enumerate(chosen[:MAX_STATS]):
            name, x, y = self.pairs[i]
            a = None if x is None else x.read()
            b = None if y is None else y.read()
            if n < limit:
                panels.append((_short(name), a, b))
            frames.append(_overlay_stats(name, a, b, self.labels))
        image = png(panels, max_panels=limit, theme=theme, log=log, scale=scale, labels=self.labels)
        return image, _concat(frames)


def compare_rows(table: pd.DataFrame) -> pd.DataFrame:
    """A row per compared variable and per subtree above one, parents first.

    Variables carry :func:`cw.compare`'s status and measures; a subtree its
    :func:`compare_rollup` (counts per status, ``rel_change`` over its variables,
    largest ``max_abs_diff``; None when none is on both sides) and the worst status below
    it. Non-finite measures are None (the status says why), except ``rel_change``, which
    is ``"inf"`` where ``a`` is all zeros and ``b`` is not.
    """
    import pandas as pd

    from ckpt_widgets.engine.compare import STATUSES, compare_rollup

    rollup = compare_rollup(table)
    modules: dict[str, dict[str, Any]] = {}
    variables = []
    for record in table.to_dict(orient="records"):
        path, status = record["path"], record["status"]
        parent = path.rpartition("/")[0]
        variables.append(
            {
                **_tree_row(path, "variable", _sides_title(record), status),
                "shape_a": _shape(record["shape_a"]),
                "shape_b": _shape(record["shape_b"]),
                "dtype": _dtype(record),
                "size": int(record["size"]),
                "group": record["group"],
                "layer": record["layer"],
                "rel_change": _measure(record["rel_change"]),
                "max_abs_diff": _finite(record["max_abs_diff"]),
                "cosine": _finite(record["cosine"]),
                "variables": 1,
                **{s: int(s == status) for s in STATUSES},
            }
        )
        while parent and parent not in modules:
            totals = rollup.loc[parent]
            worst = max((s for s in STATUSES if totals[s]), key=SEVERITY.__getitem__)
            measured = totals["same"] + totals["changed"] > 0
            modules[parent] = {
                **_tree_row(parent, "module", parent, worst),
                "shape_a": None,
                "shape_b": None,
                "dtype": "",
                "size": int(totals["size"]),
                "group": "",
                "layer": record["layer"] if parent == record["module"] else "",
                "rel_change": _measure(totals["rel_change"]) if measured else None,
                "max_abs_diff": _finite(totals["max_abs_diff"]) if measured else None,
                "cosine": None,
                "variables": int(totals["variables"]),
                **{s: int(totals[s]) for s in STATUSES},
            }
            parent = modules[parent]["parent"]
    return pd.DataFrame(_parents_first([*modules.values(), *variables]), columns=COMPARE_COLUMNS)


def change_by_layer(table: pd.DataFrame, group: str | None = "model") -> pd.DataFrame:
    """Change per layer (the ``module`` holding variables), in the table's order.

    Columns ``module``, ``label`` (Keras layer name where known, else the path's last two
    parts), ``rel_change`` (over the layer's variables present on both sides with equal
    shapes, as in :func:`compare_rollup`), ``variables`` and ``status`` (worst below).
    ``group`` keeps one group's rows (None: all).
    """
    import pandas as pd

    from ckpt_widgets.engine.compare import compare_rollup

    rows = table if group is None else table[table["group"] == group]
    rollup = compare_rollup(rows) if len(rows) else None
    out = []
    for module, part in rows.groupby("module", sort=False):
        totals = rollup.loc[module] if rollup is not None else None
        layers = [x for x in part["layer"] if x]
        out.append(
            {
                "module": module,
                "label": layers[0] if layers else _short(module or "(root)"),
                "rel_change": totals["rel_change"] if totals is not None else math.nan,
                "variables": len(part),
                "status": max(part["status"], key=SEVERITY.__getitem__),
            }
        )
    return pd.DataFrame(out, columns=["module", "label", "rel_change", "variables", "status"])


def change_chart(
    table: pd.DataFrame,
    labels: Sequence[str] = ("A", "B"),
    theme: dict[str, str] | None = None,
    scale: int = 1,
    group: str | None = "model",
) -> bytes:
    """A PNG bar chart of :func:`change_by_layer`: one bar per layer, ``||B - A|| / ||A||``.

    Unchanged layers read "same"; layers with nothing to measure (only on one side, shape
    changed) read their status. At most :data:`MAX_BARS` layers, the most changed.
    """
    import io

    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ckpt_widgets.preview.figures import check_theme

    colours = check_theme(theme)
    layers = change_by_layer(table, group)
    title = f"change per layer, ||{labels[1]} - {labels[0]}|| / ||{labels[0]}||"
    if len(layers) > MAX_BARS:
        key = layers["rel_change"].fillna(-1.0).replace(math.inf, 1e300)
        layers = layers.loc[key.nlargest(MAX_BARS).index].sort_index()
        title += f" ({MAX_BARS} most changed layers)"
    n = max(1, len(layers))
    fig = Figure(figsize=(6.4, 0.7 + 0.22 * n), dpi=100 * scale, facecolor=colours["background"])
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.3, 0.35 / (0.7 + 0.22 * n), 0.62, 0.22 * n / (0.7 + 0.22 * n)))
    fg = colours["foreground"]
    values = [v if math.isfinite(v) else 0.0 for v in layers["rel_change"]]
    y = np.arange(len(layers))[::-1]
    ax.barh(y, values, color=colours["model"], height=0.7)
    ax.set_yticks(y, [str(x) for x in layers["label"]], fontsize=7, color=fg)
    peak = max(values, default=0.0) or 1.0
    for pos, value, rel, status in zip(y, values, layers["rel_change"], layers["status"]):
        note = "same" if status == "same" else f"{rel:.3g}" if math.isfinite(rel) else status
        ax.text(value + peak * 0.01, pos, note, va="center", fontsize=7, color=fg)
    ax.set_xlim(0, peak * 1.15)
    ax.set_facecolor(colours["background"])
    ax.tick_params(axis="x", labelsize=7, colors=fg)
    ax.tick_params(axis="y", colors=fg)
    for spine in ax.spines.values():
        spine.set_color(fg)
    ax.set_title(title, fontsize=8, color=fg)
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return buffer.getvalue()


# -- helpers ------------------------------------------------------------------------------


def _overlay_stats(path: str, a: Any, b: Any, labels: Sequence[str]) -> pd.DataFrame:
    """Statistics of each side, and of ``b - a`` when both have the same shape."""
    import numpy as np

    from ckpt_widgets.preview.stats import compare, summary

    frame = compare(a, b)
    names = {"checkpoint": labels[0], "model": labels[1]}
    out = _stat_rows(frame, path, names)
    if a is not None and b is not None and np.shape(a) == np.shape(b) and _numeric(a, b):
        diff = np.asarray(b, np.float64) - np.asarray(a, np.float64)
        row = {"path": path, "side": f"{labels[1]} - {labels[0]}", **summary(diff)}
        row["max_abs_diff"] = frame["max_abs_diff"].iat[0]
        import pandas as pd

        out = pd.concat([out, pd.DataFrame([row])], ignore_index=True)
    return out


def _numeric(*arrays: Any) -> bool:
    import numpy as np

    return all(np.asarray(x).dtype.kind in "fiub" for x in arrays)


def _stat_rows(frame: pd.DataFrame, path: str, names: dict[str, str]) -> pd.DataFrame:
    frame = frame.copy()
    frame.insert(0, "side", [names[s] for s in frame.index])
    frame.insert(0, "path", path)
    return frame.reset_index(drop=True)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    from ckpt_widgets.preview.stats import SUMMARY_KEYS

    columns = ["path", "side", *SUMMARY_KEYS, "max_abs_diff"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def _under(paths: list[str], path: str) -> list[int]:
    """Positions of ``path`` itself or the variables under it; KeyError if none."""
    hits = [i for i, p in enumerate(paths) if p == path or p.startswith(path + "/")]
    if not path and paths:
        hits = list(range(len(paths)))
    if not hits:
        hint = did_you_mean(path, paths)
        raise KeyError(f"'{path}' is no variable or subtree of this view{hint}")
    return hits


def _short(path: str) -> str:
    return "/".join(path.split("/")[-2:])


def _sides_title(record: dict[str, Any]) -> str:
    keys = [k for k in (record["key_a"], record["key_b"]) if isinstance(k, str)]
    shown = " | ".join(dict.fromkeys(keys))
    return f"{record['path']} ({shown})" if shown and shown != record["path"] else record["path"]


def _dtype(record: dict[str, Any]) -> str:
    sides = (record["dtype_a"], record["dtype_b"])
    return next((d for d in sides if isinstance(d, str)), "")


def _shape(shape: Any) -> list[int] | None:
    return list(shape) if isinstance(shape, tuple) else None


def _measure(value: Any) -> float | str | None:
    """A relative change as JSON carries it: ``"inf"`` where ``a`` was all zeros and moved."""
    return "inf" if float(value) == math.inf else _finite(value)


def _finite(value: Any) -> float | None:
    """A measure as JSON carries it: non-finite values become None."""
    value = float(value)
    return value if math.isfinite(value) else None


def _parents_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from .rows import _parents_first as order

    return order(rows)
