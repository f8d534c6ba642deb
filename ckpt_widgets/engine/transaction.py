"""Run a plan: snapshot, read and assign, verify, roll back on any failure.

Transactional: the values of every variable the restore may touch are kept before it
starts; an exception (or Ctrl-C) at any point puts them back before it propagates. Each
selected variable receives the stored tensor the checkpoint's object graph pairs it with
(the plan's key, exactly what the object-based restore in ``report.code`` reads) and must
then equal it bit for bit, or the restore is rolled back and fails.

Each stored tensor is read once: a group of them at a time in one ``RestoreV2`` call,
assigned, compared with the variables, then dropped, so the restore holds at most one
group beyond the new values.
"""

from __future__ import annotations

import functools
import math
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ckpt_widgets.errors import (
    MatchError,
    NonFiniteValuesWarning,
    OptionError,
    RestoreCancelled,
    RestoreError,
    RollbackError,
    UndoError,
    WorkerRestoreError,
    first_line,
)
from ckpt_widgets.words import plan_line, plural, restored_line

from .adapt import adapted
from .codegen import restore_code
from .matching import Match, Rename, match
from .mirror import build_mirror
from .names import model_labels, node_labels
from .plan import Plan, Step, make_plan
from .snapshot import (
    PutBackFailed,
    Snapshot,
    Where,
    current_value,
    describe_failures,
    interrupts_deferred,
    tf_variable,
)
from .workers import agree_across_workers, multi_worker_strategy, worker_name

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


PARTS = 20
"""A restore that reports progress or can be cancelled reads the file in this many parts."""
GROUP_BYTES = 4 * 2**20
"""Bytes of stored tensors read, assigned and checked together (a larger tensor alone);
the whole restore's 1/64th when that is more, to bound the number of reads."""

RESTORED_COLUMNS = [
    "label", "model_path", "name", "layer", "ckpt_path", "key", "shape", "dtype", "nbytes", "how",
    "adapted",
]  # fmt: skip


def restore(
    model: Any,
    src_or_path: Any,
    include: Any = None,
    exclude: Any = None,
    root: str | None = None,
    rename: Rename | None = None,
    adapt: str | None = None,
    align: bool = False,
    *,
    cast: bool = False,
    optimizer: bool | str = False,
    undo: bool | Where = True,
    progress: Callable[[int, int], None] | None = None,
    cancel: Any = None,
    dry_run: bool = False,
) -> RestoreReport:
    """Restore part of a checkpoint into ``model``; see DESIGN.md for every argument.

    ``dry_run=True`` changes nothing: the report lists what would be restored, what would
    be skipped and why, and the code (``report.dry_run`` is True; there is no undo).

    ``cast=True`` converts stored values of another dtype; ``optimizer=True`` also
    restores the optimizer's own state (its step count and slots), ``"restored"`` only
    the slots of the variables this restore changes. ``undo="disk"`` keeps
    the old values in a temporary folder instead of memory, ``undo=False`` drops them
    after the restore (see :func:`execute`). Raises a ``ValueError``
    subclass for a bad selection and :class:`RestoreError` if the restore itself failed;
    in both cases every model variable keeps the value it had. A model built under a
    ``MultiWorkerMirroredStrategy`` is restored on every worker or on none (every worker
    runs the same call; :class:`WorkerRestoreError` names the workers that failed).
    """
    undo_where(undo)
    try:
        m = match_for(model, src_or_path, root=root, rename=rename, align=align)
        plan = make_plan(m, include, exclude, adapt=adapt, cast=cast, optimizer=optimizer)
    except BaseException as exc:
        strategy = multi_worker_strategy(model)  # the other workers may wait for this one
        if strategy is None or dry_run:
            raise
        return restore_on_every_worker(strategy, exc)

    def execute_plan(undo: bool | Where) -> RestoreReport:
        return execute(plan, undo=undo, progress=progress, cancel=cancel, dry_run=dry_run)

    strategy = multi_worker_strategy(plan.steps[0].variable)  # a plan has steps
    if strategy is None or dry_run:  # a dry run changes nothing: nothing to agree on
        return execute_plan(undo)
    # The old values stay (in memory for undo=False) until every worker has succeeded.
    return restore_on_every_worker(
        strategy,
        lambda: execute_plan(undo_where(undo)),
        lambda report: report._drop_undo() if undo is False else None,
    )


def restore_on_every_worker(
    strategy: Any,
    restore_here: Callable[[], Any] | BaseException,
    finish: Callable[[Any], None] | None = None,
) -> Any:
    """``restore_here()`` on this worker, kept only if it succeeded on every worker.

    ``restore_here`` returns a report (a :class:`RestoreReport` or a combined one, with
    its old values kept) or is the exception that already stopped this worker's restore.
    The old values are kept until the workers agree (see :mod:`.workers`); if any worker
    failed, each puts its variables back and raises :class:`WorkerRestoreError` naming
    the workers that failed. Otherwise ``finish(report)`` runs (e.g. to drop the old
    values of an ``undo=False`` restore) and the report is returned.
    """
    report, failure = None, None
    if isinstance(restore_here, BaseException):
        failure = restore_here
    else:
        try:
            report = restore_here()
        except BaseException as exc:  # Ctrl-C included: the other workers wait for this one
            failure = exc
    try:
        failed = agree_across_workers(strategy, failure)
    except BaseException as exc:
        if report is not None:
            roll_back(snapshots_of(report), exc, "Agreeing with the other workers")
        raise RestoreError(
            f"The workers could not agree on the restore ({first_line(exc)}); "
            f"{worker_name(strategy)} put its variables back as they were."
        ) from exc
    if report is None or failed:
        if report is not None:
            roll_back(snapshots_of(report), WorkerRestoreError(failed), "Another worker")
        if isinstance(failure, KeyboardInterrupt):
            raise failure
        raise WorkerRestoreError(failed) from failure
    if finish is not None:
        finish(report)
    return report


def snapshots_of(report: Any) -> list[Snapshot]:
    """The old values a report keeps: its own, or each part's of a combined report."""
    parts = getattr(report, "reports", [report])
    return [part._snapshot for part in parts if part._snapshot is not None]


def match_for(
    model: Any, src_or_path: Any, root: Any = None, rename: Any = None, align: bool = False
) -> Match:
    """``src_or_path`` (a path or an opened checkpoint) matched against ``model`` now,
    or a :class:`Match` made before for it.

    A Match made for another model or before the model's variables changed (a layer
    added, popped or rebuilt), or one given with ``root=``, ``rename=`` or ``align=``
    (which it has already fixed), is refused with :class:`MatchError`.
    """
    if not isinstance(src_or_path, Match):
        return match(model, src_or_path, root=root, rename=rename, align=align)
    if src_or_path.model is not model:
        raise MatchError(
            f"This Match was made for model '{_name(src_or_path.model)}', not for "
            f"'{_name(model)}'; nothing was restored: make one for this model with "
            "cw.match(model, checkpoint)."
        )
    changed = src_or_path.model_changed()
    if changed:
        raise MatchError(
            f"Model '{_name(model)}' changed since this Match was made (variables: "
            f"{changed}); nothing was restored: make a new one with cw.match(model, checkpoint)."
        )
    given = [
        name
        for name, value in (("root", root), ("rename", rename), ("align", align or None))
        if value is not None
    ]
    if given:
        options = ", ".join(f"{name}=" for name in given)
        raise MatchError(
            f"{options} cannot change a Match already made; nothing was restored: pass "
            f"them to cw.match(model, checkpoint, {options.replace('=', '=...')}) instead."
        )
    return src_or_path


def undo_where(undo: Any) -> Where:
    """Where ``undo=`` keeps the old values (``False`` keeps them in memory until the
    restore is verified); anything but True, False, "memory", "disk" is an error."""
    if isinstance(undo, bool) or undo == "memory":
        return "memory"
    if undo == "disk":
        return "disk"
    raise OptionError(f"undo={undo!r} is not one of True, False, 'memory', 'disk'.")


def _name(model: Any) -> str:
    return str(getattr(model, "name", None) or type(model).__name__)


def execute(
    plan: Plan,
    undo: bool | Where = True,
    progress: Callable[[int, int], None] | None = None,
    cancel: Any = None,
    dry_run: bool = False,
) -> RestoreReport:
    """Carry out ``plan`` transactionally and return its report (``dry_run``: only the
    report, nothing read or changed).

    ``undo``: ``True`` / ``"memory"`` keeps the old values in memory for ``undo()``,
    ``"disk"`` keeps them in a temporary folder, ``False`` drops them once the restore
    has been verified (they are kept during the restore, for the rollback).
    ``progress(done, total)`` is called as parts finish; ``cancel`` (anything with
    ``is_set()``, e.g. a ``threading.Event``) stops the restore between parts and
    rolls it back with :class:`RestoreCancelled`.
    """
    where = undo_where(undo)
    mirror = build_mirror(plan)
    touched = {id(s.variable): s.variable for s in plan.steps}
    # The report's table before anything changes: a failure there cannot leave a restore
    # done without its report (and its undo). The code is written when first asked for.
    code = functools.partial(restore_code, plan, mirror)
    restored = _restored_table(plan, mirror)
    if dry_run:
        return RestoreReport(restored, plan.skipped, code, plan.source.prefix, None, plan, True)
    before = Snapshot(touched, where)
    source = plan.source
    groups = _groups(plan, PARTS if progress is not None or cancel is not None else 1)
    total = len(groups) + 1  # + verification

    def advance(done: int) -> None:
        if progress is not None:
            progress(done, total)
        if cancel is not None and cancel.is_set():
            raise RestoreCancelled(
                f"Restore from '{source.prefix}' cancelled; every variable was put back as it was."
            )

    try:
        advance(0)
        wrong: list[str] = []
        not_finite: list[str] = []
        for done, group in enumerate(groups, 1):
            _restore_group(plan, group, before, wrong, not_finite)
            advance(done)
        _verify(wrong, not_finite)
        if progress is not None:
            progress(total, total)
    except BaseException as exc:
        roll_back([before], exc, f"Restoring from '{source.prefix}'")
        if isinstance(exc, (KeyboardInterrupt, RestoreError)) or not isinstance(exc, Exception):
            raise
        raise RestoreError(
            f"Restoring from '{source.prefix}' failed ({first_line(exc)}); every variable "
            "was put back as it was."
        ) from exc
    if undo is False:
        before.discard()
    return RestoreReport(
        restored=restored,
        skipped=plan.skipped,
        _code=code,
        path=source.path,
        _snapshot=before if undo is not False else None,
        _plan=plan,
    )


def roll_back(snapshots: list[Snapshot], exc: BaseException, what: str) -> None:
    """Put back every snapshot, last first, then free them, because ``exc`` happened.

    Every variable that can be put back is; :class:`RollbackError` names the others.
    """
    failures = []
    interrupted = False
    with interrupts_deferred() as deferred:
        for snapshot in reversed(snapshots):
            try:
                snapshot.put_back()
            except PutBackFailed as failed:
                failures.extend(failed.failures)
            except KeyboardInterrupt:
                interrupted = True
            finally:
                snapshot.discard()
    interrupted |= deferred()
    if failures:
        raise RollbackError(
            f"{what} failed ({first_line(exc)}) and "
            f"{describe_failures(failures)}; every other variable was put back as it was."
        ) from exc
    if interrupted:
        raise KeyboardInterrupt from exc


@dataclass
class RestoreReport:
    """What a restore did: ``restored``, ``skipped`` (with reasons), ``code``, ``undo()``."""

    restored: pd.DataFrame
    skipped: pd.DataFrame
    """Model variables not restored, with ``reason``; ``selected`` tells those the selection
    named (not restored, for ``reason``) from those it did not name."""
    _code: str | Callable[[], str] = field(repr=False)
    """The code, or what writes it (on first use of :attr:`code`)."""
    path: str
    """The checkpoint the values came from (its prefix, or the Keras file)."""
    _snapshot: Snapshot | None = field(repr=False)
    _plan: Plan | None = field(repr=False, default=None)
    dry_run: bool = False
    """True for ``restore(..., dry_run=True)``: what a restore would do; nothing changed."""
    _undone: bool = field(repr=False, default=False)

    @property
    def code(self) -> str:
        """Plain TensorFlow doing the same restore, with its imports; expects ``model`` in scope."""
        if callable(self._code):
            self._code = self._code()
        return self._code

    @property
    def nbytes(self) -> int:
        """Bytes restored."""
        return int(self.restored["nbytes"].sum()) if len(self.restored) else 0

    @property
    def params(self) -> int:
        """Parameters (elements) restored."""
        return sum(math.prod(shape) for shape in self.restored["shape"])

    @property
    def undone(self) -> bool:
        """Whether :meth:`undo` has run."""
        return self._undone

    def undo(self, force: bool = False) -> None:
        """Put back the values the restored variables had before the restore.

        If a restored variable changed since (the model was trained or edited), undo
        refuses with :class:`UndoError` and changes nothing; ``force=True`` puts the
        pre-restore values back anyway, discarding those changes.
        """
        refusal = self._undo_refusal(force)
        if refusal:
            raise UndoError(refusal)
        try:
            self._snapshot.put_back()
        except PutBackFailed as failed:
            raise UndoError(
                f"Undo put back every other variable, but {failed}; undo(force=True) tries again."
            ) from failed
        except KeyboardInterrupt:
            self._drop_undo(undone=True)  # every value was put back before the re-raise
            raise
        self._drop_undo(undone=True)

    def _drop_undo(self, undone: bool = False) -> None:
        """Free the old values (after an undo, or when no undo was asked for)."""
        if self._snapshot is not None:
            self._snapshot.discard()
        self._snapshot = None
        self._undone = undone

    def _undo_refusal(self, force: bool) -> str | None:
        """Why :meth:`undo` would refuse (one sentence), or None if it can go ahead."""
        if self.dry_run:
            return "This was a dry run: nothing was restored, so there is nothing to undo."
        if self._undone:
            return "This restore was already undone."
        if self._snapshot is None:
            return "This restore kept no old values (undo=False): nothing to undo."
        if self._snapshot.gone():
            return (
                f"The old values kept on disk for undo are gone (folder "
                f"'{self._snapshot._folder}' was removed); nothing was changed."
            )
        if not force and self._plan is not None:
            changed = self._changed_since_restore()
            if changed:
                return (
                    f"{plural(len(changed), 'restored variable')} changed since the restore (e.g. "
                    f"'{changed[0]}'): the model was trained or edited; undo(force=True) "
                    "puts back the pre-restore values anyway and discards those changes."
                )
        return None

    def _changed_since_restore(self) -> list[str]:
        """Labels of restored variables whose value is no longer the restored one: each
        compared bit for bit with its stored value, read a group at a time."""
        import numpy as np

        plan, snapshot = self._plan, self._snapshot
        assert plan is not None and snapshot is not None
        changed = []
        for group in _groups(plan, 1):
            values = _target_values(plan, group, snapshot)
            for step, value in zip(group, values):
                if not _same(current_value(step.variable), np.asarray(value)):
                    changed.append(step.label)
        return changed

    def summary(self) -> str:
        """One line: how many variables and bytes, how many selected were not restored."""
        return summary_line(self)

    @property
    def origin(self) -> str:
        """Where the values came from: the checkpoint, quoted."""
        return f"'{self.path}'"

    @property
    def source(self) -> str:
        """Deprecated name of :attr:`path`."""
        warnings.warn(
            "RestoreReport.source is deprecated; use RestoreReport.path (the checkpoint's path).",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.path

    def __repr__(self) -> str:
        return f"RestoreReport({self.summary()})"

    def _repr_html_(self) -> str:
        return f"<p>{self.summary()}</p>" + self.restored.to_html(max_rows=20)


def _stored_value(plan: Plan, step: Step, before: np.ndarray) -> np.ndarray:
    """The value ``step`` gives its variable, whose value was ``before``."""
    import numpy as np

    if step.adapt is None:
        stored = plan.source.read(step.key)
    else:  # only the block that fits: never more than the variable's size
        stored = plan.source.read_block(step.key, before.shape)
    if step.cast:
        cast = stored.astype(step.cast)
        if cast.dtype.kind in "iu" and not np.array_equal(cast.astype(stored.dtype), stored):
            raise RestoreError(
                f"The stored value of '{step.label}' does not fit in {step.cast}; nothing was "
                "restored."
            )
        stored = cast
    return stored if step.adapt is None else adapted(stored, before, step.adapt)


def _groups(plan: Plan, parts: int) -> list[list[Step]]:
    """The plan's steps in groups read together, largest first: each holds at most
    ``GROUP_BYTES`` (or one tensor) and ``len(steps) / parts`` steps."""
    steps, nbytes = plan.steps, plan.match.columns["nbytes"]
    sizes = {id(s): int(nbytes[s.row]) if s.row >= 0 else _nbytes(s.variable) for s in steps}
    most = max(GROUP_BYTES, sum(sizes.values()) // 64)
    per = -(-len(steps) // max(1, parts))
    groups: list[list[Step]] = [[]]
    held = 0
    for step in sorted(steps, key=lambda s: -sizes[id(s)]):
        if groups[-1] and (held + sizes[id(step)] > most or len(groups[-1]) >= per):
            groups.append([])
            held = 0
        groups[-1].append(step)
        held += sizes[id(step)]
    return groups


def _nbytes(variable: Any) -> int:
    import tensorflow as tf

    return math.prod(int(n) for n in variable.shape) * (tf.as_dtype(variable.dtype).size or 1)


def _restore_group(
    plan: Plan, group: list[Step], before: Snapshot, wrong: list[str], not_finite: list[str]
) -> None:
    """Assign each step of ``group`` its stored value, then compare them bit for bit.

    Labels of variables that did not receive their value go to ``wrong``, of those that
    hold NaN or Inf from the checkpoint to ``not_finite``.
    """
    import numpy as np

    values = _target_values(plan, group, before)
    for step, value in zip(group, values):
        _assign(step.variable, value)
    for step, value in zip(group, values):
        now = current_value(step.variable)
        if not _same(now, np.asarray(value)):
            wrong.append(step.label)
        elif _has_non_finite(now):
            not_finite.append(step.label)


def _assign(variable: Any, value: Any) -> None:
    """``variable.assign(value)``, on a TensorFlow variable without reading it back (the
    check reads it once, later) and as one op when ``value`` is a tensor of its dtype;
    TensorFlow still refuses another shape or dtype."""
    import tensorflow as tf
    from tensorflow.python.ops.gen_resource_variable_ops import assign_variable_op

    held = tf_variable(variable)
    if held is None:
        variable.assign(value)
    elif isinstance(value, tf.Tensor) and value.dtype == held.dtype:
        assign_variable_op(held.handle, value, validate_shape=True)
    else:
        held.assign(value, read_value=False)


def _target_values(plan: Plan, group: list[Step], before: Snapshot) -> list[Any]:
    """The value each step of ``group`` gives its variable; plain stored tensors are read
    together (one call for a TensorFlow checkpoint)."""
    source = plan.source
    plain = [s for s in group if s.adapt is None and s.cast is None]
    read = dict(zip(map(id, plain), source.read_tensors([s.key for s in plain]))) if plain else {}
    return [
        read[id(s)] if id(s) in read else _stored_value(plan, s, before.value(id(s.variable)))
        for s in group
    ]


def _verify(wrong: list[str], not_finite: list[str]) -> None:
    """Fail if any variable did not receive its stored value; warn of NaN or Inf."""
    if wrong:
        raise RestoreError(
            f"{plural(len(wrong), 'variable')} did not receive the stored values "
            f"(e.g. '{wrong[0]}'); every variable was put back as it was. Is the model fully built?"
        )
    if not_finite:
        warnings.warn(
            f"{plural(len(not_finite), 'restored variable')} "
            f"{'holds' if len(not_finite) == 1 else 'hold'} NaN or Inf values from the "
            f"checkpoint (e.g. '{not_finite[0]}'); report.undo() puts the old ones back.",
            NonFiniteValuesWarning,
            stacklevel=4,
        )


def _has_non_finite(value: np.ndarray) -> bool:
    """NaN or Inf in a float array, bfloat16 and other ml_dtypes floats included."""
    import numpy as np

    if value.dtype.kind not in "fcV":
        return False
    try:  # NaN and Inf propagate through a sum: a finite sum needs no element check
        if np.isfinite(value.sum()):
            return False
    except TypeError:
        pass
    try:
        return not bool(np.isfinite(value).all())
    except TypeError:  # a structured or opaque dtype: no notion of finite
        return False


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-for-bit equality (NaN equals the same NaN)."""
    import numpy as np

    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    memcmp = _memcmp()
    if memcmp is not None:
        return memcmp(a.ctypes.data, b.ctypes.data, a.nbytes) == 0
    return bool(np.array_equal(a.reshape(-1).view(np.uint8), b.reshape(-1).view(np.uint8)))


@functools.cache
def _memcmp() -> Any:
    """The C library's ``memcmp`` (twice as fast as numpy's comparison), or None."""
    import ctypes
    import ctypes.util

    try:
        name = "msvcrt" if sys.platform == "win32" else ctypes.util.find_library("c")
        memcmp = ctypes.CDLL(name).memcmp
    except (OSError, AttributeError, TypeError):
        return None
    memcmp.restype = ctypes.c_int
    memcmp.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    return memcmp


def _restored_table(plan: Plan, mirror: Any) -> pd.DataFrame:
    import pandas as pd

    fallback = {id(s) for s in mirror.fallback}
    m = plan.match
    cols = m.columns
    labels = model_labels(m)
    slots = node_labels(m.source, m) if any(s.row < 0 for s in plan.steps) else {}
    rows = []
    for s in plan.steps:
        adapted = " ".join(
            part for part in (s.adapt or "", f"cast to {s.cast}" if s.cast else "") if part
        )
        shape = tuple(int(d) for d in s.variable.shape)
        if s.row >= 0:  # a model variable
            label = labels[s.row]
            names = (cols["model_path"][s.row], cols["name"][s.row], cols["layer"][s.row])
            ckpt_path, dtype = cols["ckpt_path"][s.row], cols["model_dtype"][s.row]
            nbytes = int(cols["nbytes"][s.row])
        else:  # optimizer state
            label = slots.get(s.node_id, s.label)
            names = (s.label, s.label, "")
            ckpt_path, dtype = s.mirror_path, str(s.variable.dtype)
            nbytes = int(s.variable.numpy().nbytes)
        rows.append(
            {
                "label": label,
                "model_path": names[0],
                "name": names[1],
                "layer": names[2],
                "ckpt_path": ckpt_path,
                "key": s.key,
                "shape": shape,
                "dtype": dtype,
                "nbytes": nbytes,
                "how": "assign" if id(s) in fallback else "object",
                "adapted": adapted,
            }
        )
    return pd.DataFrame(rows, columns=RESTORED_COLUMNS)


def summary_line(report: Any) -> str:
    """The one-line summary of a report or a combined report (``report.summary()``): what
    was (or, for a dry run, would be) restored, from where, and how many selected were not."""
    not_restored = int(report.skipped["selected"].astype(bool).sum())
    restored = len(report.restored)
    if report.dry_run:
        return plan_line(restored, report.params, report.nbytes, report.origin, not_restored)
    return restored_line(restored, report.nbytes, report.origin, not_restored, report.undone)
