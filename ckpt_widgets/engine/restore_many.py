"""Restore from several sources in one transaction: layers from checkpoint A, the rest
from checkpoint B, all or nothing, with one undo and one code snippet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ckpt_widgets.errors import SelectionError, UndoError

from .codegen import join_code
from .transaction import (
    RestoreReport,
    execute,
    match_for,
    restore_on_every_worker,
    roll_back,
    summary_line,
    undo_where,
)
from .workers import multi_worker_strategy

if TYPE_CHECKING:
    import pandas as pd

    from .plan import Plan

OPTIONS = frozenset(
    {
        "include", "exclude", "root", "rename", "align", "adapt", "cast", "optimizer", "undo",
        "progress", "cancel",
    }
)  # fmt: skip
"""What each part may set: the keyword arguments of :func:`~ckpt_widgets.restore`."""


def restore_many(
    model: Any, parts: Sequence[tuple[Any, Mapping[str, Any]]], *, dry_run: bool = False
) -> CombinedReport:
    """Run ``restore(model, source, **options)`` for each ``(source, options)``, atomically.

    As in :func:`~ckpt_widgets.restore`, a source may be a :class:`~ckpt_widgets.Match`
    already made for ``model`` (its root, rename and alignment are then used as they
    are). A variable chosen from two sources is an error before anything changes. Every
    part's old values are kept until all parts have succeeded (also with ``undo=False``):
    if a later part fails or is cancelled, every earlier one is put back and the error
    that stopped it propagates. ``dry_run=True`` changes nothing and reports what would be
    restored from each source (the checks above still apply). A model built under a
    ``MultiWorkerMirroredStrategy`` is restored on every worker or on none, as by
    :func:`~ckpt_widgets.restore`.
    """
    try:
        plans = _plans(model, parts)
    except BaseException as exc:
        strategy = multi_worker_strategy(model)  # the other workers may wait for this one
        if strategy is None or dry_run:
            raise
        return restore_on_every_worker(strategy, exc)
    if dry_run:
        return CombinedReport([execute(plan, dry_run=True) for plan, _ in plans])
    strategy = multi_worker_strategy(plans[0][0].steps[0].variable)  # a plan has steps
    if strategy is None:
        combined = _execute_all(plans)
        _drop_undo(combined, plans)
        return combined
    return restore_on_every_worker(
        strategy, lambda: _execute_all(plans), lambda combined: _drop_undo(combined, plans)
    )


Part = tuple["Plan", dict[str, Any]]
"""A part's plan and the options :func:`execute` takes (undo, progress, cancel)."""


def _plans(model: Any, parts: Sequence[tuple[Any, Mapping[str, Any]]]) -> list[Part]:
    """Each part's plan; a variable selected from two sources is a SelectionError."""
    from .plan import make_plan

    plans = []
    for src_or_path, options in parts:
        unknown = set(options) - OPTIONS
        if unknown:
            raise TypeError(
                f"restore_many: unknown option(s) {sorted(unknown)} for '{src_or_path}'."
            )
        undo_where(options.get("undo", True))
        m = match_for(
            model,
            src_or_path,
            root=options.get("root"),
            rename=options.get("rename"),
            align=options.get("align", False),
        )
        plan = make_plan(
            m,
            options.get("include"),
            options.get("exclude"),
            **{k: options[k] for k in ("adapt", "cast", "optimizer") if k in options},
        )
        plans.append(
            (plan, {k: options[k] for k in ("undo", "progress", "cancel") if k in options})
        )
    _refuse_overlap([plan for plan, _ in plans])
    return plans


def _execute_all(plans: list[Part]) -> CombinedReport:
    """Every part, each keeping its old values; on any failure every part done is put back."""
    reports: list[RestoreReport] = []
    try:
        for plan, running in plans:
            keep = running.get("undo", True) or "memory"  # until every part has succeeded
            reports.append(execute(plan, **{**running, "undo": keep}))
    except BaseException as exc:
        sources = ", ".join(f"'{plan.source.prefix}'" for plan, _ in plans)
        roll_back([r._snapshot for r in reports], exc, f"Restoring from {sources}")
        raise
    return CombinedReport(reports)


def _drop_undo(combined: CombinedReport, plans: list[Part]) -> None:
    """Once every part has succeeded: free the old values of the parts with undo=False."""
    for report, (_, running) in zip(combined.reports, plans):
        if running.get("undo", True) is False:
            report._drop_undo()


def _refuse_overlap(plans: list[Any]) -> None:
    """Refuse a variable that two parts select, even from one checkpoint: they may pair
    it with different stored tensors, and the later part would win in silence."""
    owner: dict[int, int] = {}
    for k, plan in enumerate(plans):
        for step in plan.steps:
            first = owner.setdefault(id(step.variable), k)
            if first == k:
                continue
            earlier, later = plans[first].source.prefix, plan.source.prefix
            where = f"from '{earlier}'" if earlier == later else f"from '{earlier}' and '{later}'"
            raise SelectionError(
                f"'{step.label}' is selected in parts {first + 1} and {k + 1} ({where}); "
                "choose one source per variable."
            )


@dataclass
class CombinedReport:
    """The reports of a :func:`restore_many`, seen as one."""

    reports: list[RestoreReport]

    @property
    def restored(self) -> pd.DataFrame:
        """Every restored variable, with the ``source`` it came from."""
        import pandas as pd

        frames = [r.restored.assign(source=r.path) for r in self.reports]
        return pd.concat(frames, ignore_index=True)

    @property
    def skipped(self) -> pd.DataFrame:
        """Model variables no source restored, once each: the row of the first source that
        selected it (``selected`` True, with why it was not restored), else the first
        source's row."""
        import pandas as pd

        frames = [r.skipped.assign(source=r.path) for r in self.reports]
        skipped = pd.concat(frames, ignore_index=True)
        skipped = skipped[~skipped["name"].isin(set(self.restored["name"]))]
        first_selected = skipped.sort_values("selected", ascending=False, kind="stable")
        kept = first_selected.drop_duplicates("name").index
        return skipped.loc[sorted(kept)].reset_index(drop=True)

    @property
    def nbytes(self) -> int:
        """Bytes restored from every source."""
        return sum(r.nbytes for r in self.reports)

    @property
    def params(self) -> int:
        """Parameters (elements) restored from every source."""
        return sum(r.params for r in self.reports)

    @property
    def dry_run(self) -> bool:
        """True for ``restore_many(..., dry_run=True)``: nothing changed."""
        return all(r.dry_run for r in self.reports)

    @property
    def undone(self) -> bool:
        """Whether :meth:`undo` has run."""
        return all(r.undone for r in self.reports)

    def summary(self) -> str:
        """One line: how many variables and bytes in all and per source, how many selected
        were not restored."""
        return summary_line(self)

    @property
    def origin(self) -> str:
        """Where the values came from: ``2 checkpoints (2 from 'a', 2 from 'b')``."""
        per_source = ", ".join(f"{len(r.restored)} from '{r.path}'" for r in self.reports)
        return f"{len(self.reports)} checkpoints ({per_source})"

    @property
    def code(self) -> str:
        """One snippet doing every restore, in order, with its imports once at the top."""
        return join_code([r.code for r in self.reports])

    def undo(self, force: bool = False) -> None:
        """Undo every restore, last first; nothing is undone if any would refuse."""
        for report in self.reports:
            refusal = report._undo_refusal(force)
            if refusal:
                raise UndoError(refusal)
        failed: list[str] = []
        interrupted = False
        for report in reversed(self.reports):  # each puts back all it can: so do we
            try:
                report.undo(force=True)
            except UndoError as exc:
                failed.append(str(exc))
            except KeyboardInterrupt:
                interrupted = True
        if failed:
            raise UndoError(" ".join(failed))
        if interrupted:
            raise KeyboardInterrupt
