"""A run of checkpoints (``ckpt-1`` … ``ckpt-N``): how far each layer moved, step by step.

Each checkpoint is compared with the first one (or the previous one) by
:func:`ckpt_widgets.compare`, so the numbers are the same, streamed the same way, and a
layer that stayed frozen has ``rel_change == 0.0`` exactly at every step.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ckpt_widgets.words import plural

from .compare import compare, counts_toward_change, rollup_ratio

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

RUN_COLUMNS = [
    "step", "checkpoint", "reference", "path", "module", "layer", "group", "status", "dtype_a",
    "rel_change", "max_abs_diff", "cosine", "norm_a", "norm_diff", "key_a", "key_b",
]  # fmt: skip
AGAINST = ("first", "previous")
_STEP = re.compile(r"-(\d+)$")


def run_checkpoints(directory: str | os.PathLike[str]) -> list[str]:
    """Every checkpoint prefix in ``directory``, oldest first.

    From the ``checkpoint`` state file's ``all_model_checkpoint_paths`` (what a
    ``tf.train.CheckpointManager`` keeps) when it names existing files, else every
    ``*.index`` file, ordered by the number after the last ``-``.
    """
    import tensorflow as tf

    directory = os.fspath(directory)
    if not tf.io.gfile.isdir(directory):
        raise FileNotFoundError(f"No checkpoint directory at '{directory}'.")
    state = tf.train.get_checkpoint_state(directory)
    listed = list(state.all_model_checkpoint_paths) if state is not None else []
    listed = [p if os.path.isabs(p) or "://" in p else os.path.join(directory, p) for p in listed]
    found = [p for p in listed if tf.io.gfile.exists(p + ".index")]
    if not found:
        found = [p[: -len(".index")] for p in tf.io.gfile.glob(os.path.join(directory, "*.index"))]
        found.sort(key=lambda p: (_step_of(p, -1), p))
    if len(found) < 2:
        raise FileNotFoundError(
            f"Directory '{directory}' holds {plural(len(found), 'checkpoint')}; "
            "a run needs at least two (save with "
            "tf.train.CheckpointManager(..., max_to_keep=None) to keep them all)."
        )
    return found


def compare_run(
    paths_or_directory: str | os.PathLike[str] | Sequence[Any], against: str = "first"
) -> pd.DataFrame:
    """One row per variable and checkpoint: its change against the first or previous one.

    ``paths_or_directory``: a directory written by ``tf.train.CheckpointManager`` (see
    :func:`run_checkpoints`) or a list of checkpoints (paths or opened sources), in order.
    ``against``: ``"first"`` compares every later checkpoint with the first,
    ``"previous"`` each with the one before. Columns: ``step`` (the number after the last
    ``-`` of the prefix, else the position), ``checkpoint``, ``reference``, then
    :func:`~ckpt_widgets.compare`'s ``path``, ``module``, ``layer``, ``group``, ``status``
    and measures. Only two checkpoints are open and one tensor of each is read at a time.
    """
    import pandas as pd

    from ckpt_widgets.files.open import open_checkpoint

    if against not in AGAINST:
        raise ValueError(f"against={against!r} is not one of {', '.join(map(repr, AGAINST))}.")
    if isinstance(paths_or_directory, (str, os.PathLike)):
        paths: list[Any] = list(run_checkpoints(paths_or_directory))
    else:
        paths = list(paths_or_directory)
    if len(paths) < 2:
        raise ValueError(f"A run needs at least two checkpoints; got {len(paths)}.")
    reference = open_checkpoint(paths[0])
    frames = []
    for position, path in enumerate(paths[1:], start=1):
        current = open_checkpoint(path)
        table = compare(reference, current)
        table.insert(0, "reference", reference.prefix)
        table.insert(0, "checkpoint", current.prefix)
        table.insert(0, "step", _step_of(current.prefix, position))
        frames.append(table[RUN_COLUMNS])
        if against == "previous":
            reference = current
    return pd.concat(frames, ignore_index=True)


def run_by_module(run: pd.DataFrame, group: str | None = "model") -> pd.DataFrame:
    """Change per module (the variables' parent path) and step, as one table.

    ``rel_change`` of a module is ``sqrt(Σ||b-a||²) / sqrt(Σ||a||²)`` over the variables
    :func:`~ckpt_widgets.engine.compare.counts_toward_change` takes (both sides, equal
    shapes, floating point: a step counter moves no figure), as in
    :func:`~ckpt_widgets.compare_rollup`; ``max_abs_diff`` the largest of theirs.
    ``changed`` and ``variables`` count every variable present on both sides with equal
    shapes. ``group`` keeps only model (or optimizer, other) variables; None keeps all.
    """
    import numpy as np

    rows = run if group is None else run[run["group"] == group]
    rows = rows[rows["status"].isin(["same", "changed"])]
    counted = np.array(
        [counts_toward_change(s, d) for s, d in zip(rows["status"], rows["dtype_a"])], dtype=bool
    )
    frame = rows.assign(
        a2=np.where(counted, np.square(rows["norm_a"].astype(float)), 0.0),
        d2=np.where(counted, np.square(rows["norm_diff"].astype(float)), 0.0),
        max_abs_diff=rows["max_abs_diff"].astype(float).where(counted),
    )
    out = frame.groupby(["module", "step"], sort=True).agg(
        a2=("a2", "sum"),
        d2=("d2", "sum"),
        max_abs_diff=("max_abs_diff", "max"),
        changed=("status", lambda s: int((s == "changed").sum())),
        variables=("status", "size"),
    )
    out["rel_change"] = [rollup_ratio(d2, a2) for a2, d2 in zip(out.a2, out.d2)]
    return out.drop(columns=["a2", "d2"]).reset_index()


def plot_run(run: pd.DataFrame, kind: str = "lines", group: str | None = "model") -> Figure:
    """A figure of :func:`run_by_module`'s ``rel_change``: one line per module over the
    steps (``kind="lines"``; a frozen module is a flat line at zero) or a module × step
    heat map (``kind="heatmap"``). Drawn on the Agg canvas, never through pyplot.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if kind not in ("lines", "heatmap"):
        raise ValueError(f"kind={kind!r} is not 'lines' or 'heatmap'.")
    table = run_by_module(run, group=group).pivot(
        index="module", columns="step", values="rel_change"
    )
    fig = Figure(figsize=(7.5, max(2.5, 0.3 * len(table) + 1.2)), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    against = "the first checkpoint" if run["reference"].nunique() == 1 else "the previous one"
    ax.set_title(f"Change per module against {against}", fontsize=10)
    if table.empty:
        ax.text(0.5, 0.5, "no variables to show", ha="center", va="center")
        ax.set_axis_off()
        return fig
    if kind == "lines":
        for module, values in table.iterrows():
            ax.plot(table.columns, values.to_numpy(), marker="o", markersize=3, label=module)
        ax.set_xticks(list(table.columns))
        ax.set_xlabel("step")
        ax.set_ylabel("relative change ||b - a|| / ||a||")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        image = ax.imshow(table.to_numpy(dtype=float), aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(table.columns)), [str(c) for c in table.columns])
        ax.set_yticks(range(len(table.index)), list(table.index), fontsize=7)
        ax.set_xlabel("step")
        fig.colorbar(image, ax=ax, label="relative change")
    return fig


def _step_of(prefix: str, default: int) -> int:
    found = _STEP.search(os.path.basename(str(prefix)))
    return int(found.group(1)) if found else default
