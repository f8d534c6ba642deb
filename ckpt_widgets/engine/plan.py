"""Decide what a restore does: which variables, from which stored tensor, and how.

A plan is pure data: the widget previews it, :mod:`.restore` runs it, :mod:`.codegen`
prints it as plain TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ckpt_widgets.errors import (
    AlignmentError,
    DtypeMismatchError,
    NothingToRestoreError,
    OptionError,
    SelectionError,
    ShapeMismatchError,
)
from ckpt_widgets.files.graph import join, relative

from .model import is_trackable, is_variable
from .selection import select

if TYPE_CHECKING:
    import pandas as pd

    from .matching import Match

ADAPT_MODES = (None, "overlap", "zeros")
UNBUILT_OPTIMIZER = (
    "The model's optimizer has no variables yet; build it first with "
    "model.optimizer.build(model.trainable_variables)."
)


@dataclass(eq=False)
class Step:
    """One variable to restore."""

    row: int
    """Row in ``Match.table`` (``-1`` for optimizer state)."""
    variable: Any = field(repr=False)
    key: str
    mirror_path: str | None
    """Checkpoint path to mirror for an object-based restore; None: read and assign."""
    node_id: int
    adapt: str | None = None
    cast: str | None = None
    """Target dtype when the stored dtype differs and ``cast=True``."""
    label: str = ""
    """Model path or Keras name shown in reports."""


@dataclass
class Plan:
    """Everything a restore will do, decided before any variable changes."""

    match: Match
    steps: list[Step]
    skipped: pd.DataFrame

    @property
    def source(self):
        return self.match.source


def make_plan(
    m: Match,
    include: Any = None,
    exclude: Any = None,
    adapt: str | None = None,
    cast: bool = False,
    optimizer: bool | str = False,
) -> Plan:
    """Resolve the selection against ``m`` and check that every chosen variable fits."""
    import pandas as pd

    if adapt not in ADAPT_MODES:
        raise OptionError(f"adapt={adapt!r} is not one of None, 'overlap', 'zeros'.")
    cols = m.columns
    n = len(m.variables)
    status = cols["status"]
    if include is None:
        chosen = {i for i in range(n) if status[i] == "match"}
        if adapt:
            chosen |= {i for i in range(n) if status[i] == "shape_mismatch"}
        if cast:
            chosen |= {i for i in range(n) if status[i] == "dtype_mismatch"}
        explicit = False
    else:
        chosen = select(m, include, "include")
        explicit = True
    excluded = select(m, exclude, "exclude") if exclude is not None else set()
    all_excluded = bool(chosen) and chosen <= excluded
    chosen -= excluded
    _refuse_ambiguous(cols, [i for i in range(n) if include is None or i in chosen], excluded)

    steps: list[Step] = []
    reasons: dict[int, str] = {}
    shape_errors, dtype_errors = [], []
    for i in range(n):
        label = cols["model_path"][i] or cols["name"][i]
        if i not in chosen:
            reasons[i] = "excluded" if i in excluded else _unchosen_reason(cols, i)
            continue
        s = status[i]
        if s in ("missing", "untracked"):
            reasons[i] = cols["reason"][i] or s
            continue
        step = Step(
            row=i,
            variable=m.variables[i],
            key=cols["key"][i],
            mirror_path=_mirror_path(m, i),
            node_id=int(cols["node_id"][i]),
            label=label,
        )
        if s == "shape_mismatch":
            if not adapt:
                shape_errors.append(i)
                continue
            if len(cols["model_shape"][i]) != len(cols["ckpt_shape"][i]):
                raise ShapeMismatchError(
                    f"Cannot adapt '{label}': the checkpoint's shape "
                    f"{cols['ckpt_shape'][i]} has another rank than the model's "
                    f"{cols['model_shape'][i]}; exclude it."
                )
            step.adapt = adapt
            step.mirror_path = None
        if s == "dtype_mismatch" or (
            cols["ckpt_dtype"][i] != cols["model_dtype"][i] and step.adapt
        ):
            if not cast:
                dtype_errors.append(i)
                continue
            step.cast = cols["model_dtype"][i]
            step.mirror_path = None
        steps.append(step)
    if shape_errors:
        raise ShapeMismatchError(
            _listing(cols, shape_errors, "shape does not fit")
            + "; pass adapt='overlap' or adapt='zeros', or exclude them."
        )
    if dtype_errors:
        raise DtypeMismatchError(
            _listing(cols, dtype_errors, "stored dtype differs")
            + "; pass cast=True to convert the stored values, or exclude them."
        )
    if optimizer == "restored":
        steps.extend(_slot_steps(m, steps))
    elif optimizer is True:
        steps.extend(_optimizer_steps(m))
    elif optimizer is not False:
        raise OptionError(f"optimizer={optimizer!r} is not one of False, True, 'restored'.")
    if not steps:
        raise NothingToRestoreError(_nothing_message(m, explicit, all_excluded))
    if not is_trackable(m.model):  # JAX or PyTorch backend: read and assign every value
        for step in steps:
            step.mirror_path = None
    skipped = pd.DataFrame(
        [
            {
                "model_path": cols["model_path"][i],
                "name": cols["name"][i],
                "layer": cols["layer"][i],
                "status": status[i],
                "reason": reason,
                "selected": i in chosen,
            }
            for i, reason in reasons.items()
        ],
        columns=["model_path", "name", "layer", "status", "reason", "selected"],
    )
    return Plan(m, steps, skipped)


def _mirror_path(m: Match, i: int) -> str | None:
    """The checkpoint path along which an object-based restore reaches row ``i``."""
    cols = m.columns
    if m.source.object_graph is None or int(cols["node_id"][i]) < 0:
        return None
    if cols["paired_by"][i] == "path":
        return join(m.root, relative(cols["model_path"][i], m.model_root))
    return cols["ckpt_path"][i]


def _refuse_ambiguous(cols: dict[str, list[Any]], rows: list[int], excluded: set[int]) -> None:
    """Raise when the selection holds layers that ``align=True`` could not pair surely."""
    reasons = list(
        dict.fromkeys(
            cols["reason"][i]
            for i in rows
            if cols["paired_by"][i] == "ambiguous" and i not in excluded
        )
    )
    if reasons:
        more = f" ({len(reasons) - 1} more such group(s))" if len(reasons) > 1 else ""
        first = reasons[0].removeprefix("ambiguous: ")
        raise AlignmentError(f"Cannot restore: {first}, or exclude them{more}.")


def _unchosen_reason(cols: dict[str, list[Any]], i: int) -> str:
    s = cols["status"][i]
    if s == "match":
        return "not selected"
    return cols["reason"][i] or s


def _listing(cols: dict[str, list[Any]], rows: list[int], what: str) -> str:
    shown = [
        f"'{cols['model_path'][i] or cols['name'][i]}' "
        f"(model {cols['model_shape'][i]} {cols['model_dtype'][i]}, "
        f"checkpoint {cols['ckpt_shape'][i]} {cols['ckpt_dtype'][i]})"
        for i in rows[:3]
    ]
    more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
    return f"{len(rows)} selected variable(s) whose {what}: {', '.join(shown)}{more}"


def _nothing_message(m: Match, explicit: bool, all_excluded: bool = False) -> str:
    counts = m.counts()
    total = len(m.variables)
    where = f"'{m.source.prefix}'"
    if all_excluded:
        return (
            f"Nothing to restore from {where}: exclude= removed every variable that would "
            "have been restored; exclude fewer."
        )
    if explicit:
        return (
            f"Nothing to restore: none of the selected variables is in checkpoint {where} "
            f"with a matching shape; check match(model, checkpoint).table."
        )
    if counts["shape_mismatch"]:
        return (
            f"Nothing to restore from {where}: {counts['shape_mismatch']} of the model's "
            f"{total} variables are there but with other shapes; pass adapt= or include= "
            "the ones you want."
        )
    return (
        f"None of the model's {total} variables is in checkpoint {where} (looked under "
        f"root {m.root!r}); it looks like a checkpoint of another model: pass root= or "
        "rename=, or check match(model, checkpoint).table."
    )


def _find_optimizer(m: Match) -> tuple[Any, str]:
    """The live optimizer and the checkpoint path of the stored one."""
    src = m.source
    optimizer = getattr(m.model, "optimizer", None)
    if optimizer is None or src.object_graph is None:
        raise SelectionError(
            "Restoring optimizer state needs a compiled model and a TF2 checkpoint with an "
            "optimizer."
        )
    ckpt_opt = next(
        (p for p in (join(m.root, "optimizer"), "optimizer") if src.resolve(p) is not None),
        None,
    )
    if ckpt_opt is None:
        raise SelectionError(f"Checkpoint '{src.prefix}' holds no optimizer state.")
    return optimizer, ckpt_opt


def _slot_steps(m: Match, restored: list[Step]) -> list[Step]:
    """The optimizer slots (momentums, velocities, …) of the restored variables only.

    Keras 3 optimizers keep one slot list per kind, indexed like ``_trainable_variables``;
    the stored and the live index of a variable may differ, so each is looked up.
    """
    src, graph = m.source, m.graph
    optimizer, ckpt_opt = _find_optimizer(m)
    live_vars = list(getattr(optimizer, "_trainable_variables", None) or [])
    if not live_vars:
        raise SelectionError(UNBUILT_OPTIMIZER)
    live_index = {id(v): i for i, v in enumerate(live_vars)}
    stored_list = src.resolve(join(ckpt_opt, "_trainable_variables"))
    stored_index = (
        {node: int(k) for k, node in src.children[stored_list].items()} if stored_list else {}
    )
    slot_lists = [
        (name, child)
        for name, child in graph.children_of(optimizer)
        if name not in ("_trainable_variables", "_variables")
        and isinstance(child, Sequence)
        and len(child) == len(live_vars)
    ]
    steps: list[Step] = []
    for step in restored:
        live, stored = live_index.get(id(step.variable)), stored_index.get(step.node_id)
        if live is None or stored is None:
            continue  # not trained by either optimizer (e.g. moving statistics)
        for name, slots in slot_lists:
            path = join(ckpt_opt, name, str(stored))
            node = src.resolve(path)
            if node is None or not src.is_variable(node):
                continue
            key = src.variables["key"].iat[src.row_of(node)]
            label = f"optimizer/{name}/{live}"
            steps.append(Step(-1, slots[live], key, path, node, label=label))
    return steps


def _counter_cast(path: str, stored: str, variable: Any) -> str | None:
    """The live dtype an optimizer's stored integer is cast to, or None if none is needed.

    Keras keeps its step counter as int64 on TensorFlow but int32 on JAX: the count is
    cast (and checked to fit when read). Any other dtype difference is refused.
    """
    import numpy as np

    live = str(getattr(variable.dtype, "name", variable.dtype))
    if live == stored:
        return None
    if np.dtype(live).kind in "iu" and np.dtype(stored).kind in "iu":
        return live
    raise DtypeMismatchError(
        f"Optimizer variable '{path}' is {live} here but {stored} in the checkpoint; "
        "restore without optimizer= or build the optimizer with the same dtypes."
    )


def _optimizer_steps(m: Match) -> list[Step]:
    """Steps for the optimizer's own state (not the model variables it tracks)."""
    graph, src = m.graph, m.source
    optimizer, ckpt_opt = _find_optimizer(m)
    model_vars = {id(v) for v in m.variables}
    steps: list[Step] = []
    queue = [(optimizer, "")]
    seen = {id(optimizer)}
    while queue:
        obj, rel = queue.pop(0)
        for name, child in graph.children_of(obj):
            if id(child) in seen or id(child) in model_vars:
                continue
            seen.add(id(child))
            path = join(rel, name)
            if is_variable(child):
                node = src.resolve(join(ckpt_opt, path))
                if node is None or not src.is_variable(node):
                    continue
                row = src.variables.iloc[src.row_of(node)]
                if tuple(row["shape"]) != tuple(int(d) for d in child.shape):
                    raise ShapeMismatchError(
                        f"Optimizer variable '{path}' has shape {tuple(child.shape)}, the "
                        f"checkpoint's {row['shape']}; build the optimizer for the same model."
                    )
                step = Step(
                    -1, child, row["key"], join(ckpt_opt, path), node, label=f"optimizer/{path}"
                )
                step.cast = _counter_cast(path, row["dtype"], child)
                if step.cast:
                    step.mirror_path = None
                steps.append(step)
            else:
                queue.append((child, path))
    stored = src.resolve(join(ckpt_opt, "_trainable_variables"))
    unbuilt = not getattr(optimizer, "_trainable_variables", None)
    if not steps or (unbuilt and stored is not None and src.children[stored]):
        raise SelectionError(UNBUILT_OPTIMIZER)  # else its slots would be left out silently
    return steps
