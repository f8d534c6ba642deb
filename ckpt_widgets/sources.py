"""Several checkpoints against one model: the logic behind the widget's source tabs.

Each source has a letter (``"A"``, ``"B"``, …), its own :class:`~ckpt_widgets.Match`
(root and rename included) and its own ticks. A variable comes from one source only:
:func:`exclusive` moves a variable ticked under two sources to the one ticked last, and
:func:`restore_selection` restores every source's ticks in one transaction.
"""

from __future__ import annotations

import contextlib
import string
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import SelectionError
from .selection import select

if TYPE_CHECKING:
    from .combine import CombinedReport
    from .matching import Match
    from .restore import RestoreReport

Selection = Mapping[str, Sequence[str]]
"""Ticked paths per source letter: ``{"A": ["conv1"], "B": ["conv2", "top"]}``."""


@dataclass
class Source:
    """One checkpoint of a widget: its letter, its match against the model, its rename."""

    label: str
    match: Match
    rename: Any = None
    """The ``rename=`` in force: rules from the Rules box or pairs from Align."""


def label_for(index: int) -> str:
    """The letter of the ``index``-th source (0 -> ``"A"``); at most 26 sources."""
    if not 0 <= index < len(string.ascii_uppercase):
        raise ValueError("A widget holds at most 26 checkpoints (A to Z).")
    return string.ascii_uppercase[index]


def restorable(adapt: str | None) -> frozenset[str]:
    """The statuses a tick restores: matches, and shape mismatches once ``adapt`` is set."""
    return frozenset({"match", "shape_mismatch"} if adapt else {"match"})


def included_variables(m: Match, paths: Sequence[str], adapt: str | None) -> list[Any]:
    """The live variables ``paths`` tick in ``m`` that a restore would write.

    Raises :class:`~ckpt_widgets.SelectionError` for a path that names nothing.
    """
    allowed = restorable(adapt)
    status = m.columns["status"]
    return [m.variables[i] for i in sorted(select(m, list(paths))) if status[i] in allowed]


def exclusive(
    matches: Mapping[str, Match], selection: Selection, first: Sequence[str], adapt: str | None
) -> dict[str, list[str]]:
    """``selection`` with each variable ticked under one source only.

    The sources in ``first`` keep their ticks, in that order; a later source loses the
    variables an earlier one ticks (see :func:`without`).
    """
    out = {label: list(paths) for label, paths in selection.items()}
    if sum(bool(paths) for paths in out.values()) < 2:
        return out
    taken: set[int] = set()
    for label in [*first, *(label for label in out if label not in first)]:
        m = matches[label]
        ids = {id(m.variables[i]) for i in ticked_rows(m, out[label], adapt)}
        if ids & taken:
            out[label] = without(m, out[label], taken, adapt)
        taken |= ids
    return out


def without(m: Match, paths: Sequence[str], taken: set[int], adapt: str | None) -> list[str]:
    """``paths`` minus the variables whose ``id`` is in ``taken``.

    A path that loses none stays as written (a name that names nothing too); one that
    loses some is replaced by the tree paths covering what is left.
    """
    out: list[str] = []
    for path in paths:
        rows = ticked_rows(m, [path], adapt)
        left = {i for i in rows if id(m.variables[i]) not in taken}
        if left == rows:
            out.append(path)
        elif left:
            out.extend(cover(m, left, adapt))
    return list(dict.fromkeys(out))


def owners(matches: Mapping[str, Match], selection: Selection, adapt: str | None) -> dict[str, str]:
    """``{tree row id: source letter}`` for every variable a restore would write."""
    out = {}
    for label, paths in selection.items():
        m = matches[label]
        cols = m.columns
        for i in ticked_rows(m, paths, adapt):
            out[cols["model_path"][i] or cols["name"][i]] = label
    return out


def ticked_rows(m: Match, paths: Sequence[str], adapt: str | None) -> set[int]:
    """Rows of ``m`` that ``paths`` tick and a restore would write; unknown paths tick none."""
    try:
        rows = select(m, list(paths))
    except SelectionError:  # look at each path: the unknown ones tick nothing
        rows = set()
        for path in paths:
            with contextlib.suppress(SelectionError):
                rows |= select(m, [path])
    allowed = restorable(adapt)
    status = m.columns["status"]
    return {i for i in rows if status[i] in allowed}


def cover(m: Match, rows: set[int], adapt: str | None) -> list[str]:
    """The fewest tree paths ticking exactly ``rows`` (as the front end ticks them).

    A layer stands for all its restorable variables, so it is listed when all are in
    ``rows``; otherwise its children are looked at.
    """
    from .tree import model_tree

    tree = model_tree(m)
    cols = m.columns
    allowed = restorable(adapt)
    row_of = {cols["model_path"][i] or cols["name"][i]: i for i in range(len(m.variables))}
    total: Counter[str] = Counter()
    chosen: Counter[str] = Counter()
    children: dict[str, list[str]] = defaultdict(list)
    ids, parents = tree["id"].tolist(), tree["parent"].tolist()
    for node, parent in zip(ids, parents):
        children[parent].append(node)
        i = row_of.get(node)
        if i is not None and cols["status"][i] in allowed:
            total[node], chosen[node] = 1, int(i in rows)
    for node, parent in zip(reversed(ids), reversed(parents)):  # children before parents
        if parent:
            total[parent] += total[node]
            chosen[parent] += chosen[node]
    out: list[str] = []

    def visit(node: str) -> None:
        if not chosen[node]:
            return
        if chosen[node] == total[node]:
            out.append(node)
            return
        for child in children[node]:
            visit(child)

    for node in children[""]:
        visit(node)
    return out


def restore_selection(
    model: Any,
    sources: Sequence[Source],
    selection: Selection,
    adapt: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Any = None,
) -> RestoreReport | CombinedReport:
    """Restore what ``selection`` ticks: one source with :func:`~ckpt_widgets.restore`,
    several with :func:`~ckpt_widgets.restore_many` (all or nothing, one undo)."""
    from .combine import restore_many
    from .restore import restore

    ticked = [s for s in sources if selection.get(s.label)]
    if not ticked:
        raise ValueError("Nothing is ticked: tick the submodules or variables to restore.")
    if len(ticked) == 1:
        m = ticked[0].match
        include = included_variables(m, selection[ticked[0].label], adapt)
        return restore(model, m, include=include, adapt=adapt, progress=progress, cancel=cancel)
    parts = []
    for k, s in enumerate(ticked):
        options = {
            "root": s.match.root,
            "rename": s.rename,
            "include": included_variables(s.match, selection[s.label], adapt),
            "adapt": adapt,
            "cancel": cancel,
        }
        if progress is not None:
            options["progress"] = _part_progress(progress, k, len(ticked))
        parts.append((s.match.source, options))
    return restore_many(model, parts)


def _part_progress(
    progress: Callable[[int, int], None], k: int, parts: int
) -> Callable[[int, int], None]:
    """Progress of part ``k`` of ``parts``, reported as a share of the whole (per mille)."""
    return lambda done, total: progress(1000 * k + 1000 * done // max(total, 1), 1000 * parts)
