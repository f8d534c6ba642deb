"""Several checkpoints against one model: the logic behind the widget's source tabs.

Each source has a letter (``"A"``, ``"B"``, …), its own :class:`~ckpt_widgets.Match`
(root, rename and align flag included) and its own ticks. A variable comes from one source
only: :func:`exclusive` moves a variable ticked under two sources to the one ticked last,
and :func:`restore_selection` restores every source's ticks in one transaction.
:func:`pairs_view`, :func:`with_layer_pair` and :func:`without_layer_pair` are the logic
behind the Pairs view: layers paired by alignment or by hand, and re-pairing one.
"""

from __future__ import annotations

import contextlib
import string
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import SelectionError, did_you_mean
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
    allowed = restorable(adapt)
    status, how = m.columns["status"], m.columns["paired_by"]
    return [
        m.variables[i]
        for i in sorted(select(m, list(paths)))
        if status[i] in allowed or how[i] == "ambiguous"
    ]


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
            "include": included_variables(s.match, selection[s.label], adapt),
            "adapt": adapt,
            "cancel": cancel,
        }
        if progress is not None:
            options["progress"] = _part_progress(progress, k, len(ticked))
        parts.append((s.match, options))
    return restore_many(model, parts)


def _part_progress(
    progress: Callable[[int, int], None], k: int, parts: int
) -> Callable[[int, int], None]:
    """Progress of part ``k`` of ``parts``, reported as a share of the whole (per mille)."""
    return lambda done, total: progress(1000 * k + 1000 * done // max(total, 1), 1000 * parts)


# -- the Pairs view: layers paired by alignment or by hand ---------------------------


def pairs_view(m: Match) -> list[dict[str, Any]]:
    """:func:`~ckpt_widgets.pairing.layer_pairs` as plain records, plus ``variables``:
    the tree paths of each model layer's variables (what ticking the pair ticks)."""
    from .pairing import HOW, layer_pairs, model_layers

    if not any(how in HOW for how in m.columns["paired_by"][: len(m.variables)]):
        return []
    layers = model_layers(m)
    cols = m.columns
    out = []
    for record in layer_pairs(m).to_dict(orient="records"):
        rows = layers[record["model_layer"]].rows
        ckpt_layer = record["ckpt_layer"]
        out.append(
            {
                **record,
                "ckpt_layer": ckpt_layer if isinstance(ckpt_layer, str) else None,
                "candidates": list(record["candidates"]),
                "variables": [cols["model_path"][i] or cols["name"][i] for i in rows],
            }
        )
    return out


def hand_pairs(rename: Any, label: str) -> dict[str, Any]:
    """The ``rename`` in force as ``{checkpoint path: model variable}`` pairs.

    Regex rules do not mix with pairs (rules rewrite names before pairs are looked up),
    so a source paired by rules is refused with a sentence saying what to do.
    """
    if rename is None:
        return {}
    if isinstance(rename, Mapping):
        return dict(rename)
    if hasattr(rename, "columns") and {"ckpt_path", "model_path"} <= set(rename.columns):
        return dict(zip(rename["ckpt_path"], rename["model_path"]))  # suggest_rename()
    raise ValueError(
        f"Source {label} is paired by rename rules (the Rules box); a layer cannot also be "
        "paired by hand: clear the rules first (w.set_rules('')), or write this pair as rules."
    )


def with_layer_pair(
    m: Match, rename: Any, label: str, model_layer: str, ckpt_layer: str
) -> dict[str, Any]:
    """``rename`` where ``model_layer`` takes ``ckpt_layer``'s variables, pairs it had before
    dropped (see :func:`~ckpt_widgets.pairing.pair_layer`); raises before any change."""
    from .pairing import pair_layer

    pairs = hand_pairs(rename, label)
    entries = pair_layer(m, model_layer, ckpt_layer)
    return {**without_layer_pair(m, pairs, label, model_layer, strict=False), **entries}


def without_layer_pair(
    m: Match, rename: Any, label: str, model_layer: str, strict: bool = True
) -> dict[str, Any]:
    """``rename`` without the pairs whose target is a variable of ``model_layer``.

    ``strict``: refuse a layer that no pair targets (it was not paired by hand).
    """
    from .pairing import model_layers

    layers = model_layers(m)
    if model_layer not in layers:
        raise SelectionError(f"'{model_layer}' names no layer{did_you_mean(model_layer, layers)}")
    cols = m.columns
    rows = layers[model_layer].rows
    names = {cols[c][i] for i in rows for c in ("model_path", "name")} - {None, ""}
    ids = {id(m.variables[i]) for i in rows}
    pairs = hand_pairs(rename, label)
    kept = {
        path: target
        for path, target in pairs.items()
        if not (target in names if isinstance(target, str) else id(target) in ids)
    }
    if strict and len(kept) == len(pairs):
        raise ValueError(f"'{model_layer}' is not paired by hand; nothing to undo.")
    return kept
