"""Several checkpoints against one model: the logic behind the widget's source tabs.

Each source has a letter (``"A"``, ``"B"``, …), its own :class:`~ckpt_widgets.Match`
(root, rename and align flag included) and its own ticks. A variable comes from one source
only: :func:`exclusive` moves a variable ticked under two sources to the one ticked last,
and :func:`restore_selection` restores every source's ticks in one transaction.
The Pairs view's logic (layers paired by alignment or by hand) is
:mod:`ckpt_widgets.engine.pairing`.
"""

from __future__ import annotations

import contextlib
import string
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ckpt_widgets.engine.selection import select
from ckpt_widgets.errors import SelectionError

if TYPE_CHECKING:
    from ckpt_widgets.engine.matching import Match
    from ckpt_widgets.engine.restore_many import CombinedReport
    from ckpt_widgets.engine.transaction import RestoreReport

Selection = Mapping[str, Sequence[str]]
"""Ticked paths per source letter: ``{"A": ["conv1"], "B": ["conv2", "top"]}``."""


@dataclass
class Tab:
    """One checkpoint of a widget (a lettered tab): its letter, its match against the
    model, its rename."""

    label: str
    match: Match
    rename: Any = None
    """The ``rename=`` in force: rules from the Rules box, or pairs from Suggest renames
    and from layers paired by hand."""
    align: bool = False
    """Whether layers that paths leave unpaired are aligned (``match(..., align=True)``)."""


def label_for(index: int) -> str:
    """The letter of the ``index``-th source added (0 -> ``"A"``); at most 26 sources.

    Letters are never reused, so removed sources count too.
    """
    if not 0 <= index < len(string.ascii_uppercase):
        raise ValueError(
            "A widget names at most 26 checkpoints (A to Z, removed ones included); "
            "run the cell again for a fresh widget."
        )
    return string.ascii_uppercase[index]


def restorable(adapt: str | None) -> frozenset[str]:
    """The statuses a tick restores: matches, and shape mismatches once ``adapt`` is set."""
    return frozenset({"match", "shape_mismatch"} if adapt else {"match"})


def included_variables(m: Match, paths: Sequence[str], adapt: str | None) -> list[Any]:
    """The live variables ``paths`` tick in ``m`` that a restore would write.

    Ticked layers that alignment left ambiguous are kept, so the restore refuses them
    with :class:`~ckpt_widgets.AlignmentError` rather than skip them unnoticed. Raises
    :class:`~ckpt_widgets.SelectionError` for a path that names nothing.
    """
    return [m.variables[i] for i in sorted(_writable(m, select(m, list(paths)), adapt))]


def _writable(m: Match, rows: set[int], adapt: str | None) -> set[int]:
    """The rows of ``rows`` a restore writes (or refuses, for an ambiguous layer)."""
    allowed = restorable(adapt)
    status, how = m.columns["status"], m.columns["paired_by"]
    return {i for i in rows if status[i] in allowed or how[i] == "ambiguous"}


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
    """Rows of ``m`` that ``paths`` tick: the rows :func:`included_variables` gives a
    restore; unknown paths tick none (the restore refuses them)."""
    try:
        rows = select(m, list(paths))
    except SelectionError:  # look at each path: the unknown ones tick nothing
        rows = set()
        for path in paths:
            with contextlib.suppress(SelectionError):
                rows |= select(m, [path])
    return _writable(m, rows, adapt)


def cover(m: Match, rows: set[int], adapt: str | None) -> list[str]:
    """The fewest tree paths ticking exactly ``rows`` (as a tick on a tree row ticks them).

    A layer stands for all its restorable variables, so it is listed when all are in
    ``rows``; otherwise its children are looked at.
    """
    shape = tick_tree(m, adapt)
    chosen = _chosen(shape, rows)
    out: list[str] = []

    def visit(node: str) -> None:
        if not chosen[node]:
            return
        if chosen[node] == shape.total[node]:
            out.append(node)
            return
        for child in shape.children[node]:
            visit(child)

    for node in shape.children[""]:
        visit(node)
    return out


@dataclass
class TickTree:
    """The model tree as ticks see it, for one match and ``adapt``: per tree row its
    parent, children, restorable variables below it (``total``) and how many of those a
    tick on it can add (``can``: not ambiguous). Worked out once; a tick then only walks
    up from the variables it ticks."""

    parent: dict[str, str]
    children: dict[str, list[str]]
    node_of: dict[int, str]
    """``{model row: its tree row}`` for the rows a restore writes."""
    total: Counter[str]
    can: Counter[str]
    tickable: list[str]
    """The tree rows a tick can add variables to, in tree order."""


def tick_tree(m: Match, adapt: str | None, tree: Any = None) -> TickTree:
    """The :class:`TickTree` of ``m`` (its model tree is ``tree``, built when not given),
    cached per match and ``adapt``."""
    cache = m.__dict__.setdefault("_tick_trees", {})
    if adapt not in cache:
        if tree is None:
            from .rows import model_tree_columns

            tree = model_tree_columns(m)
        cache[adapt] = _tick_tree(m, tree, adapt)
    return cache[adapt]


def _tick_tree(m: Match, tree: Any, adapt: str | None) -> TickTree:
    cols = m.columns
    status, allowed = cols["status"], restorable(adapt)
    writable = _writable(m, set(range(len(m.variables))), adapt)
    row_of = {cols["model_path"][i] or cols["name"][i]: i for i in range(len(m.variables))}
    shape = TickTree({}, defaultdict(list), {}, Counter(), Counter(), [])
    ids, parents = list(tree["id"]), list(tree["parent"])
    for node, parent in zip(ids, parents):
        shape.children[parent].append(node)
        shape.parent[node] = parent
        i = row_of.get(node)
        if i is not None and i in writable:
            shape.node_of[i] = node
            shape.total[node], shape.can[node] = 1, int(status[i] in allowed)
    for node, parent in zip(reversed(ids), reversed(parents)):  # children before parents
        if parent:
            shape.total[parent] += shape.total[node]
            shape.can[parent] += shape.can[node]
    shape.tickable = [node for node in ids if shape.can[node]]
    return shape


def _chosen(shape: TickTree, rows: set[int]) -> Counter[str]:
    """How many of ``rows`` each tree row holds (itself or below it)."""
    chosen: Counter[str] = Counter()
    for i in rows:
        node = shape.node_of.get(i, "")
        while node:
            chosen[node] += 1
            node = shape.parent.get(node, "")
    return chosen


def tick_view(
    matches: Mapping[str, Match], selection: Selection, active: str, tree: Any, adapt: str | None
) -> dict[str, Any]:
    """What the front end draws of ``selection``, from the rows a restore writes.

    ``rows``: ``{tree row id: "all" | "some"}`` for the active source's ticked rows;
    ``tickable``: the rows a tick can add variables to; ``sources``: ``{tree row id:
    letters}`` of every source ticking a variable at or below the row; ``counts``:
    variables per letter; ``total``: what the Restore button restores.
    """
    ticked = {k: ticked_rows(matches[k], paths, adapt) for k, paths in selection.items()}
    shape = tick_tree(matches[active], adapt, tree)
    chosen = _chosen(shape, ticked.get(active, set()))
    rows = {node: "all" if n == shape.total[node] else "some" for node, n in chosen.items()}
    letters: dict[str, set[str]] = defaultdict(set)
    for label, found in ticked.items():
        cols = matches[label].columns
        for i in found:
            node = cols["model_path"][i] or cols["name"][i]
            while node:
                letters[node].add(label)
                node = shape.parent.get(node, "")
    per_source = {label: len(found) for label, found in ticked.items()}
    return {
        "rows": rows,
        "tickable": shape.tickable,
        "sources": {node: sorted(labels) for node, labels in letters.items()},
        "counts": per_source,
        "total": sum(per_source.values()),
    }


def naming_error(matches: Mapping[str, Match], selection: Selection) -> str | None:
    """The sentence of the first ticked path that names nothing (a restore would refuse
    it), with its source letter when there are several sources; ``None`` when all do."""
    for label, paths in selection.items():
        try:
            select(matches[label], list(paths))
        except SelectionError as exc:
            where = f"source {label}: " if len(matches) > 1 else ""
            return f"SelectionError: {where}{exc}"
    return None


def toggle(
    m: Match, current: Sequence[str], paths: Sequence[str], on: bool, adapt: str | None
) -> list[str]:
    """``current`` with the variables of the tree rows ``paths`` ticked (``on``) or not.

    The paths already ticked keep their wording (a layer name or glob set from Python
    stays as written) unless they lose variables; raises
    :class:`~ckpt_widgets.SelectionError` for a path that names nothing.
    """
    rows = select(m, list(paths))
    if on:
        return normalised(m, [*current, *paths])
    return without(m, current, {id(m.variables[i]) for i in rows}, adapt)


def normalised(m: Match, paths: Sequence[str]) -> list[str]:
    """``paths`` without repeats and without the paths another one covers (every row a
    dropped path names, the other names too: ticking ``backbone`` after
    ``backbone/conv1`` leaves ``["backbone"]``); paths naming nothing are kept."""
    named: dict[str, set[int] | None] = {}
    for path in dict.fromkeys(paths):
        try:
            named[path] = select(m, [path])
        except SelectionError:
            named[path] = None  # kept: the restore refuses it, and says why
    kept: dict[str, set[int]] = {}  # the paths kept so far, widest first
    for path, rows in sorted(named.items(), key=lambda item: -len(item[1] or ())):
        if rows is None or not any(rows <= wider for wider in kept.values()):
            kept[path] = rows or set()
    return [path for path in named if path in kept]


def carry_ticks(
    old: Match, new: Match, paths: Sequence[str], adapt: str | None
) -> tuple[list[str], list[str]]:
    """The ticks ``paths`` of ``old`` that still restore the same tensors into the same
    variables under ``new``, and the ones dropped (quoted, with what was kept of each)."""
    kept: list[str] = []
    dropped: list[str] = []
    for path in paths:
        before, after = _meaning(old, path, adapt), _meaning(new, path, adapt)
        if set(before.values()) == set(after.values()):
            kept.append(path)
            continue
        same = [i for i, pair in after.items() if pair in set(before.values())]
        kept.extend(cover(new, set(same), adapt))
        dropped.append(f"'{path}'" + (f" (kept {len(same)} of {len(before)})" if same else ""))
    return list(dict.fromkeys(kept)), dropped


def _meaning(m: Match, path: str, adapt: str | None) -> dict[int, tuple[int, Any]]:
    """``{row: (id of the model variable, stored key)}`` for what ticking ``path`` restores."""
    keys = m.columns["key"]
    return {i: (id(m.variables[i]), keys[i]) for i in ticked_rows(m, [path], adapt)}


def restore_selection(
    model: Any,
    sources: Sequence[Tab],
    selection: Selection,
    adapt: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Any = None,
    dry_run: bool = False,
) -> RestoreReport | CombinedReport:
    """Restore what ``selection`` ticks: one source with :func:`~ckpt_widgets.restore`,
    several with :func:`~ckpt_widgets.restore_many` (all or nothing, one undo);
    ``dry_run``: only report what that would do."""
    from ckpt_widgets.engine.restore_many import restore_many
    from ckpt_widgets.engine.transaction import restore

    ticked = [s for s in sources if selection.get(s.label)]
    if not ticked:
        raise ValueError("Nothing is ticked: tick the submodules or variables to restore.")
    if len(ticked) == 1:
        m = ticked[0].match
        include = included_variables(m, selection[ticked[0].label], adapt)
        return restore(
            model,
            m,
            include=include,
            adapt=adapt,
            progress=progress,
            cancel=cancel,
            dry_run=dry_run,
        )
    parts = []
    for k, s in enumerate(ticked):
        options = {
            "include": included_variables(s.match, selection[s.label], adapt),
            "adapt": adapt,
            "cancel": cancel,
        }
        if progress is not None:
            options["progress"] = _part_progress(progress, k, len(ticked))
        parts.append((s.match, options))
    return restore_many(model, parts, dry_run=dry_run)


def _part_progress(
    progress: Callable[[int, int], None], k: int, parts: int
) -> Callable[[int, int], None]:
    """Progress of part ``k`` of ``parts``, reported as a share of the whole (per mille)."""
    return lambda done, total: progress(1000 * k + 1000 * done // max(total, 1), 1000 * parts)
