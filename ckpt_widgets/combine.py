"""Restore from several sources in one transaction: layers from checkpoint A, the rest
from checkpoint B, all or nothing, with one undo and one code snippet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import SelectionError, UndoError
from .restore import RestoreReport, restore

if TYPE_CHECKING:
    import pandas as pd


def restore_many(model: Any, parts: Sequence[tuple[Any, Mapping[str, Any]]]) -> CombinedReport:
    """Run ``restore(model, source, **options)`` for each ``(source, options)``, atomically.

    A variable chosen from two sources is an error before anything changes; if a later
    restore fails, the earlier ones are undone before the error propagates.
    """
    from .matching import match
    from .plan import make_plan

    plans = []
    for source, options in parts:
        options = dict(options)
        m = match(
            model,
            source,
            root=options.pop("root", None),
            rename=options.pop("rename", None),
            align=options.pop("align", False),
        )
        plan_options = {k: options[k] for k in ("adapt", "cast", "optimizer") if k in options}
        plan = make_plan(m, options.get("include"), options.get("exclude"), **plan_options)
        plans.append((m, options, plan))
    owner: dict[int, str] = {}
    for m, _, plan in plans:
        for step in plan.steps:
            earlier = owner.setdefault(id(step.variable), m.source.prefix)
            if earlier != m.source.prefix:
                raise SelectionError(
                    f"'{step.label}' is selected from both '{earlier}' and "
                    f"'{m.source.prefix}'; choose one source per variable."
                )
    reports: list[RestoreReport] = []
    try:
        for m, options, _ in plans:
            reports.append(restore(model, m, **options))
    except BaseException:
        for report in reversed(reports):
            report.undo(force=True)
        raise
    return CombinedReport(reports)


@dataclass
class CombinedReport:
    """The reports of a :func:`restore_many`, seen as one."""

    reports: list[RestoreReport]

    @property
    def restored(self) -> pd.DataFrame:
        """Every restored variable, with the ``source`` it came from."""
        import pandas as pd

        frames = [r.restored.assign(source=r.source) for r in self.reports]
        return pd.concat(frames, ignore_index=True)

    @property
    def code(self) -> str:
        """One snippet doing every restore, in order."""
        return "\n".join(r.code for r in self.reports)

    def undo(self, force: bool = False) -> None:
        """Undo every restore, last first; nothing is undone if any would refuse."""
        if not force:
            for report in self.reports:
                if report.undone:
                    raise UndoError("This restore was already undone.")
                if report._changed_since_restore():
                    raise UndoError(
                        "A restored variable changed since the restore; undo(force=True) "
                        "puts back the pre-restore values anyway."
                    )
        for report in reversed(self.reports):
            report.undo(force=True)
