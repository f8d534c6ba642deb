"""The preview of a :class:`~ckpt_widgets.engine.matching.Match`: which tensors to read for
the variables a user names, stored and live side by side, adapted to the model's shape or
not, drawn by :mod:`.figures` with statistics from :mod:`.stats`.

A stored tensor larger than :data:`~ckpt_widgets.files.slices.SLICE_BYTES` is
streamed in pieces (:class:`~ckpt_widgets.preview.stats.Streamed`), never read whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ckpt_widgets.engine.snapshot import current_value
from ckpt_widgets.errors import did_you_mean
from ckpt_widgets.files.slices import SLICE_BYTES, read_slices

from .figures import check_theme, png
from .stats import SUMMARY_KEYS, Streamed, compare, prepare

if TYPE_CHECKING:
    import pandas as pd

    from ckpt_widgets.engine.matching import Match

MAX_STATS = 50
"""preview() summarises at most this many variables."""


def preview(
    m: Match,
    paths: str | Iterable[str],
    max_panels: int = 6,
    adapt: str | None = None,
    theme: dict[str, str] | None = None,
    log: bool = False,
    scale: int = 1,
    slice_bytes: int = SLICE_BYTES,
) -> tuple[bytes, pd.DataFrame]:
    """Histograms and statistics of the variables ``paths`` name in ``m.table``.

    A path is a model variable's object path, a submodule's (every variable under it) or
    a checkpoint path. Returns the PNG of the first ``max_panels`` variables and one stats
    row per side of each of the first 50 (``path, side, mean, …, max_abs_diff``).
    With ``adapt`` (``"overlap"`` / ``"zeros"``) a shape-mismatched variable's checkpoint
    side is the tensor the restore would write: the stored block fitted into the model's
    shape. ``theme``, ``log`` and ``scale`` are :func:`png`'s. A stored tensor over
    ``slice_bytes`` is read in 4 MB pieces, each read while the one before is measured
    (twice: statistics, then counts).
    """
    import numpy as np
    import pandas as pd

    check_theme(theme)  # before any reading
    rows = _rows(m, [paths] if isinstance(paths, str) else list(paths))

    def read_sides(i: int) -> tuple[Any, Any]:
        stored, current = _read(m, i, adapt, slice_bytes)
        if adapt and isinstance(stored, np.ndarray) and current is not None:
            stored = adapted(stored, current, adapt)
        return stored, current

    # Prepared once, the drawn values share their min, max and finite values with the stats.
    values = {i: [v if v is None else prepare(v) for v in read_sides(i)] for i in rows[:max_panels]}
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
            hits = _rows_by_name(m, p)
        if not hits:
            known = dict.fromkeys(x for x in model_paths + ckpt_paths + _keras_names(m) if x)
            hint = did_you_mean(str(p), known)
            raise KeyError(
                f"'{p}' is no model variable, submodule, Keras layer or checkpoint path{hint}"
            )
        chosen.update(dict.fromkeys(hits))
    return list(chosen)


def _rows_by_name(m: Match, name: str) -> list[int]:
    """Model rows a Keras layer name, Keras variable path or readable name (``conv1``,
    ``backbone/conv1/kernel``, ``conv*``) names, as ``include=`` reads it; none for
    anything else."""
    from ckpt_widgets.engine.selection import select
    from ckpt_widgets.errors import SelectionError

    if not name:
        return []
    try:
        return sorted(select(m, [name]))
    except SelectionError:
        return []


def _keras_names(m: Match) -> list[str]:
    """The Keras and readable names of the model's variables and layers, for hints."""
    from ckpt_widgets.engine.names import model_labels

    cols = m.columns
    n = len(m.variables)
    return [*model_labels(m), *cols["name"][:n], *(x for x in cols["layer"][:n] if x)]


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
    from ckpt_widgets.engine.adapt import adapted as fit

    return fit(stored, current, adapt)


def _read(m: Match, i: int, adapt: str | None, slice_bytes: int) -> tuple[Any, Any]:
    """The stored and the live value of table row ``i`` (None for a side it lacks).

    With ``adapt``, only the stored block that fits the live variable is read. A stored
    tensor over ``slice_bytes`` that needs no adapting is returned as a :class:`Streamed`.
    """
    key = m.table["key"].iat[i]
    current = current_value(m.variables[i]) if i < len(m.variables) else None
    if not (isinstance(key, str) and key):
        return None, current
    shape = tuple(m.table["ckpt_shape"].iat[i])
    if adapt and current is not None and len(shape) == current.ndim and shape != current.shape:
        return m.source.read_block(key, current.shape), current
    if _nbytes(m, i) > slice_bytes:
        stored = Streamed(
            lambda: read_slices(m.source, key, slice_bytes, ahead=True),
            shape,
            against=current,
            block=lambda shape: m.source.read_block(key, shape),
        )
        return stored, current
    return m.source.read(key), current


def _nbytes(m: Match, i: int) -> int:
    """Bytes of the stored tensor of table row ``i`` (0 when the listing lacks it)."""
    table = m.source.variables
    rows = table.index[table["key"] == m.table["key"].iat[i]]
    return int(table["nbytes"].iat[rows[0]]) if len(rows) else 0
