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
from ckpt_widgets.words import plural, status_word

from .adapt import check_mode
from .model import is_trackable, is_variable
from .names import model_labels
from .selection import select

if TYPE_CHECKING:
    import pandas as pd

    from .matching import Match

SKIPPED_COLUMNS = ["label", "model_path", "name", "layer", "status", "reason", "selected"]
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
    stored_shape: tuple[int, ...] | None = None
    """With ``adapt``: the stored tensor's shape (the variable's may differ)."""


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
    check_mode(adapt)
    choice = _choose(m, include, exclude, adapt, cast)
    _refuse_ambiguous(m.columns, choice.considered(len(m.variables)), choice.excluded)
    steps, reasons = _variable_steps(m, choice, adapt, cast)
    steps += _optimizer_part(m, steps, optimizer)
    if not steps:
        raise NothingToRestoreError(_nothing_message(m, choice.explicit, choice.all_excluded))
    if not is_trackable(m.model):  # JAX or PyTorch backend: read and assign every value
        for step in steps:
            step.mirror_path = None
    return Plan(m, steps, _skipped(m, reasons, choice.chosen))


@dataclass
class _Choice:
    """The model rows ``include`` / ``exclude`` choose."""

    chosen: set[int]
    excluded: set[int]
    explicit: bool
    """``include`` was given (else: every row that can be restored as it is)."""
    all_excluded: bool
    """``exclude`` removed every row that would have been restored."""

    def considered(self, n: int) -> list[int]:
        """The rows whose pairing matters: the chosen ones, or all without ``include``."""
        return [i for i in range(n) if not self.explicit or i in self.chosen]


def _choose(m: Match, include: Any, exclude: Any, adapt: str | None, cast: bool) -> _Choice:
    """Resolve ``include`` (default: matches, plus what ``adapt`` / ``cast`` make fit)
    minus ``exclude``."""
    status = m.columns["status"]
    n = len(m.variables)
    if include is None:
        fits = {"match"} | ({"shape_mismatch"} if adapt else set())
        fits |= {"dtype_mismatch"} if cast else set()
        chosen = {i for i in range(n) if status[i] in fits}
    else:
        chosen = select(m, include, "include")
    excluded = select(m, exclude, "exclude") if exclude is not None else set()
    all_excluded = bool(chosen) and chosen <= excluded
    return _Choice(chosen - excluded, excluded, include is not None, all_excluded)


def _variable_steps(
    m: Match, choice: _Choice, adapt: str | None, cast: bool
) -> tuple[list[Step], dict[int, str]]:
    """A step per chosen model row that can be restored, and why each other row is not.

    Raises when a chosen row's shape or dtype does not fit and ``adapt`` / ``cast`` do
    not allow it, listing every such row.
    """
    cols = m.columns
    steps: list[Step] = []
    reasons: dict[int, str] = {}
    shape_errors, dtype_errors = [], []
    for i in range(len(m.variables)):
        if i not in choice.chosen:
            reasons[i] = "excluded" if i in choice.excluded else _unchosen_reason(cols, i)
            continue
        if cols["status"][i] in ("missing", "untracked"):
            reasons[i] = cols["reason"][i] or status_word(cols["status"][i])
            continue
        step = _step(m, i)
        if cols["status"][i] == "shape_mismatch":
            if not adapt:
                shape_errors.append(i)
                continue
            _adapt_step(step, cols, adapt)
        if cols["status"][i] == "dtype_mismatch" or (
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
            _listing(cols, model_labels(m), shape_errors, "shape does not fit")
            + "; pass adapt='overlap' or adapt='zeros', or exclude them."
        )
    if dtype_errors:
        raise DtypeMismatchError(
            _listing(cols, model_labels(m), dtype_errors, "stored dtype differs")
            + "; pass cast=True to convert the stored values, or exclude them."
        )
    return steps, reasons


def _step(m: Match, i: int) -> Step:
    """Restore model row ``i`` from the stored tensor it is paired with, as it is."""
    cols = m.columns
    return Step(
        row=i,
        variable=m.variables[i],
        key=cols["key"][i],
        mirror_path=_mirror_path(m, i),
        node_id=int(cols["node_id"][i]),
        label=model_labels(m)[i],
    )


def _adapt_step(step: Step, cols: dict[str, list[Any]], adapt: str) -> None:
    """Make ``step`` fit its stored tensor of another shape into the variable; refuse
    another rank."""
    i = step.row
    if len(cols["model_shape"][i]) != len(cols["ckpt_shape"][i]):
        raise ShapeMismatchError(
            f"Cannot adapt '{step.label}': the checkpoint's shape "
            f"{cols['ckpt_shape'][i]} has another rank than the model's "
            f"{cols['model_shape'][i]}; exclude it."
        )
    step.adapt = adapt
    step.stored_shape = tuple(cols["ckpt_shape"][i])
    step.mirror_path = None


def _optimizer_part(m: Match, restored: list[Step], optimizer: bool | str) -> list[Step]:
    """The optimizer's steps ``optimizer=`` asks for: none, the slots of the restored
    variables (``"restored"``), or all of its state (``True``)."""
    if optimizer == "restored":
        return _slot_steps(m, restored)
    if optimizer is True:
        return _optimizer_steps(m)
    if optimizer is not False:
        raise OptionError(f"optimizer={optimizer!r} is not one of False, True, 'restored'.")
    return []


def _skipped(m: Match, reasons: dict[int, str], chosen: set[int]) -> pd.DataFrame:
    """One row per model variable not restored, by readable name first, with why
    (``selected``: it was chosen)."""
    import pandas as pd

    cols, labels = m.columns, model_labels(m)
    return pd.DataFrame(
        [
            {
                "label": labels[i],
                "model_path": cols["model_path"][i],
                "name": cols["name"][i],
                "layer": cols["layer"][i],
                "status": cols["status"][i],
                "reason": reason,
                "selected": i in chosen,
            }
            for i, reason in reasons.items()
        ],
        columns=SKIPPED_COLUMNS,
    )


def _mirror_path(m: Match, i: int) -> str | None:
    """The checkpoint path along which an object-based restore reaches row ``i``."""
    cols = m.columns
    if m.source.object_graph is None or int(cols["node_id"][i]) < 0 or _sharded(m.variables[i]):
        return None
    if cols["paired_by"][i] == "path":
        return join(m.root, relative(cols["model_path"][i], m.model_root))
    return cols["ckpt_path"][i]


def _sharded(variable: Any) -> bool:
    """A variable split in shards (ParameterServerStrategy's ``variable_partitioner``):
    ``Checkpoint.read`` cannot restore it inside a Keras 3 variable, ``assign`` can."""
    from tensorflow.python.distribute.sharded_variable import ShardedVariableMixin

    return isinstance(getattr(variable, "value", variable), ShardedVariableMixin)


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
        more = (
            f" ({len(reasons) - 1} more such {'group' if len(reasons) == 2 else 'groups'})"
            if len(reasons) > 1
            else ""
        )
        first = reasons[0].removeprefix("ambiguous: ")
        raise AlignmentError(f"Cannot restore: {first}, or exclude them{more}.")


def _unchosen_reason(cols: dict[str, list[Any]], i: int) -> str:
    s = cols["status"][i]
    if s == "match":
        return "not selected"
    return cols["reason"][i] or status_word(s)


def _listing(cols: dict[str, list[Any]], labels: list[str], rows: list[int], what: str) -> str:
    """The first rows, each by its readable name, shapes and dtypes, and object path."""
    shown = []
    for i in rows[:3]:
        path = cols["model_path"][i]
        where = f"; object path '{path}'" if path and path != labels[i] else ""
        shown.append(
            f"'{labels[i]}' (model {cols['model_shape'][i]} {cols['model_dtype'][i]}, "
            f"checkpoint {cols['ckpt_shape'][i]} {cols['ckpt_dtype'][i]}{where})"
        )
    more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
    return f"{plural(len(rows), 'selected variable')} whose {what}: {', '.join(shown)}{more}"


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
    return another_model_message(m)


def another_model_message(
    m: Match, advice: str = ": pass root= or rename=, or check match(model, checkpoint).table"
) -> str:
    """The sentence for a match that found none of the model's variables (see
    :meth:`Match.found`), ending with ``advice``."""
    return (
        f"None of the model's {len(m.variables)} variables is in checkpoint "
        f"'{m.source.prefix}' (looked under root {m.root!r}); it looks like a checkpoint of "
        f"another model{advice}."
    )


def _find_optimizer(m: Match) -> tuple[Any, str]:
    """The live optimizer and the checkpoint path of the stored one."""
    source = m.source
    optimizer = getattr(m.model, "optimizer", None)
    if optimizer is None or source.object_graph is None:
        raise SelectionError(
            "Restoring optimizer state needs a compiled model and a TF2 checkpoint with an "
            "optimizer."
        )
    ckpt_opt = next(
        (p for p in (join(m.root, "optimizer"), "optimizer") if source.resolve(p) is not None),
        None,
    )
    if ckpt_opt is None:
        raise SelectionError(f"Checkpoint '{source.prefix}' holds no optimizer state.")
    return optimizer, ckpt_opt


def _slot_steps(m: Match, restored: list[Step]) -> list[Step]:
    """The optimizer slots (momentums, velocities, …) of the restored variables only.

    Keras 3 optimizers keep one slot list per kind, indexed like ``_trainable_variables``;
    the stored and the live index of a variable may differ, so each is looked up (in a
    wrapped optimizer too: ``LossScaleOptimizer``'s ``inner_optimizer``).
    """
    source = m.source
    optimizer, ckpt_opt = _find_optimizer(m)
    homes = _slot_homes(m, optimizer)
    if not homes:
        raise SelectionError(UNBUILT_OPTIMIZER)
    steps: list[Step] = []
    for opt, rel, live_vars in homes:
        live_index = {id(v): i for i, v in enumerate(live_vars)}
        stored_index = _stored_index(m, join(ckpt_opt, rel))
        slot_lists = _slot_lists(m, opt, live_vars)
        for step in restored:
            live, stored = live_index.get(id(step.variable)), stored_index.get(step.node_id)
            if live is None or stored is None:
                continue  # not trained by either optimizer (e.g. moving statistics)
            for name, slots in slot_lists:
                path = join(ckpt_opt, rel, name, str(stored))
                node = source.resolve(path)
                if node is None or not source.is_variable(node):
                    continue
                key = source.variables["key"].iat[source.row_of(node)]
                label = f"optimizer/{join(rel, name)}/{live}"
                steps.append(Step(-1, slots[live], key, path, node, label=label))
    return steps


def _slot_homes(m: Match, optimizer: Any) -> list[tuple[Any, str, list[Any]]]:
    """``(optimizer, its path under the model's optimizer, its _trainable_variables)`` for
    the optimizer and any it wraps directly (``inner_optimizer``), when built."""
    wrapped = [(child, name) for name, child in m.graph.children_of(optimizer)]
    homes = []
    for opt, rel in [(optimizer, ""), *wrapped]:
        live_vars = getattr(opt, "_trainable_variables", None)
        if isinstance(live_vars, Sequence) and live_vars:
            homes.append((opt, rel, list(live_vars)))
    return homes


def _slot_lists(m: Match, optimizer: Any, live_vars: list[Any]) -> list[tuple[str, Any]]:
    """The live optimizer's slot lists (``_momentums``, …): element ``i`` of each belongs
    to ``_trainable_variables/i``."""
    return [
        (name, child)
        for name, child in m.graph.children_of(optimizer)
        if name not in ("_trainable_variables", "_variables")
        and isinstance(child, Sequence)
        and len(child) == len(live_vars)
    ]


def _stored_index(m: Match, ckpt_opt: str) -> dict[int, int]:
    """``{stored variable node: its index in the stored optimizer's _trainable_variables}``."""
    source = m.source
    stored_list = source.resolve(join(ckpt_opt, "_trainable_variables"))
    if not stored_list:
        return {}
    return {node: int(k) for k, node in source.children[stored_list].items()}


def _stored_slot_paths(m: Match, optimizer: Any, ckpt_opt: str) -> dict[int, str | None]:
    """``{id(live slot): its stored path under the optimizer}`` for every live slot: the
    stored slot of the same list belonging to the stored variable the slot's own variable
    is paired with (None when the writer's optimizer did not train that variable). The
    index ``N`` of ``_momentums/N`` differs between the two optimizers when they were
    built over other variables (a layer frozen in one model only). A wrapped optimizer's
    slots (``LossScaleOptimizer``'s ``inner_optimizer``) are found the same way."""
    nodes = m.columns["node_id"]
    paired = {id(v): int(nodes[i]) for i, v in enumerate(m.variables) if nodes[i] >= 0}
    found: dict[int, str | None] = {}
    for opt, rel, live_vars in _slot_homes(m, optimizer):
        stored_index = _stored_index(m, join(ckpt_opt, rel))
        for name, slots in _slot_lists(m, opt, live_vars):
            for live, slot in zip(live_vars, slots):
                stored = stored_index.get(paired.get(id(live), -1))
                found[id(slot)] = None if stored is None else join(rel, name, str(stored))
    return found


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
    graph, source = m.graph, m.source
    optimizer, ckpt_opt = _find_optimizer(m)
    model_vars = {id(v) for v in m.variables}
    slot_paths = _stored_slot_paths(m, optimizer, ckpt_opt)
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
                stored_path = slot_paths.get(id(child), path)
                node = stored_path and source.resolve(join(ckpt_opt, stored_path))
                if node is None or not source.is_variable(node):
                    continue
                row = source.variables.iloc[source.row_of(node)]
                if tuple(row["shape"]) != tuple(int(d) for d in child.shape):
                    raise ShapeMismatchError(
                        f"Optimizer variable '{path}' has shape {tuple(child.shape)}, the "
                        f"checkpoint's {row['shape']}; build the optimizer for the same model."
                    )
                step = Step(
                    -1,
                    child,
                    row["key"],
                    join(ckpt_opt, stored_path),
                    node,
                    label=f"optimizer/{path}",
                )
                step.cast = _counter_cast(path, row["dtype"], child)
                if step.cast:
                    step.mirror_path = None
                steps.append(step)
            else:
                queue.append((child, path))
    stored = source.resolve(join(ckpt_opt, "_trainable_variables"))
    unbuilt = not getattr(optimizer, "_trainable_variables", None)
    if not steps or (unbuilt and stored is not None and source.children[stored]):
        raise SelectionError(UNBUILT_OPTIMIZER)  # else its slots would be left out silently
    return steps
