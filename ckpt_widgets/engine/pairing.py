"""Layer pairing: which model layer takes which stored layer, by alignment or by hand.

:func:`align_unpaired` is the ``align=True`` step of :func:`~ckpt_widgets.match`: it
groups what paths and ``rename`` left unpaired into layers on both sides and aligns them
(:mod:`.align` is the pure algorithm). :func:`layer_pairs` is the table behind the
widget's Pairs view, :func:`pairs_view` the same as records for the front end;
:func:`pair_layer` turns "this model layer takes that stored layer" into the ``rename``
entries that say so variable by variable, and :func:`with_layer_pair` /
:func:`without_layer_pair` add or drop such a hand pairing in a ``rename``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ckpt_widgets.errors import SelectionError, did_you_mean
from ckpt_widgets.files.graph import is_under

from .align import Layer, align_layers, group_layers, pair_variables
from .rename import hand_pairs

if TYPE_CHECKING:
    import pandas as pd

    from .matching import Match

COLUMNS = ["model_layer", "layer", "ckpt_layer", "kind", "paired_by", "candidates"]
"""The columns of :func:`layer_pairs` and of ``Match.alignment``."""
HOW = ("align", "rename", "ambiguous")
"""How a layer of the Pairs view was paired (first found wins), ``"unpaired"`` aside."""
Columns = dict[str, list[Any]]


@dataclass
class AlignedRows:
    """What :func:`align_unpaired` decided, row by row."""

    pairs: list[tuple[int, int]]
    """``(model row, checkpoint row)`` pairs, certain."""
    ambiguous: dict[int, str]
    """Model rows left unpaired because their layer could pair in several ways: reason."""
    table: pd.DataFrame
    """One :data:`COLUMNS` record per model layer paired or left ambiguous."""


def align_unpaired(
    rows: list[dict[str, Any]],
    live: Columns,
    ckpt: Columns,
    source: Any,
    ckpt_root: str,
    model_root: str,
) -> AlignedRows:
    """Align the layers whose variables ``rows`` (the model rows of a match in progress)
    leave unpaired with the stored layers no row uses, under the placement
    (``ckpt_root``, ``model_root``)."""
    import pandas as pd

    unpaired = [
        i
        for i, row in enumerate(rows)
        if not row["paired_by"] and is_under(row["model_path"] or "", model_root)
    ]
    ours = list(_model_layers(live, source, unpaired).values())
    used = {r["key"] for r in rows if r["key"]}
    theirs = list(
        _ckpt_layers(ckpt, source, _unused_in_order(ckpt, source, used, ckpt_root)).values()
    )
    result = align_layers(ours, theirs)
    pairs: list[tuple[int, int]] = []
    ambiguous: dict[int, str] = {}
    records = []
    for a, b in result.pairs:
        pairs += pair_variables(ours[a], theirs[b]) or []
        records.append(_record(ours[a], live, theirs[b].label, "align", [theirs[b]]))
    for models, ckpts in result.ambiguous:
        candidates = [theirs[b] for b in ckpts]
        reason = _ambiguity([ours[a] for a in models], candidates, live)
        for a in models:
            ambiguous.update(dict.fromkeys(ours[a].rows, reason))
            records.append(_record(ours[a], live, None, "ambiguous", candidates))
    return AlignedRows(pairs, ambiguous, pd.DataFrame(records, columns=COLUMNS))


def model_layers(m: Match) -> dict[str, Layer]:
    """The model's layers (as alignment names them) with their variables' table rows."""
    return _model_layers(m.model_columns, m.source, range(len(m.variables)))


def checkpoint_layers(m: Match) -> dict[str, Layer]:
    """The checkpoint's layers (owners of model variables) with their source rows."""
    ckpt = m.source_columns
    rows = [j for j, group in enumerate(ckpt["group"]) if group == "model"]
    return _ckpt_layers(ckpt, m.source, rows)


def layer_pairs(m: Match) -> pd.DataFrame:
    """One row per model layer paired by alignment or by hand, or left ambiguous.

    With alignment on, also each layer left ``"unpaired"`` that a stored layer of its kind
    could take. ``candidates`` lists every stored layer of the same kind: where it could be
    (re-)paired.
    """
    import pandas as pd

    cols = m.columns
    stored = checkpoint_layers(m)
    by_kind: dict[Any, list[str]] = {}
    for label, layer in stored.items():
        by_kind.setdefault(layer.kind, []).append(label)
    keys = m.source_columns["key"]
    owner = {keys[j]: label for label, layer in stored.items() for j in layer.rows}
    records = []
    for layer in model_layers(m).values():
        how = [cols["paired_by"][i] for i in layer.rows]
        chosen = next((h for h in HOW if h in how), None)
        if chosen is None:
            # With alignment on, a layer left unpaired that a stored layer could take.
            if m.alignment is None or any(how) or layer.kind not in by_kind:
                continue
            chosen = "unpaired"
        paired = [cols["key"][i] for i in layer.rows if cols["key"][i]]
        ckpt_layer = owner.get(paired[0]) if paired else None
        records.append(
            _record(layer, m.model_columns, ckpt_layer, chosen, by_kind.get(layer.kind, []))
        )
    return pd.DataFrame(records, columns=COLUMNS)


def pairs_view(m: Match) -> list[dict[str, Any]]:
    """:func:`layer_pairs` as plain records, plus ``variables``: the tree paths of each
    model layer's variables (what ticking the pair ticks); ``[]`` when no layer was paired
    by alignment or by hand."""
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


def pair_layer(m: Match, model_layer: str, ckpt_layer: str) -> dict[str, str]:
    """``rename`` entries pairing every variable of ``model_layer`` with ``ckpt_layer``'s.

    Both are named as in :func:`layer_pairs`; variables pair by role (``kernel`` with
    ``kernel``). Raises :class:`SelectionError` when the layers are not of one kind.
    """
    ours, theirs = model_layers(m), checkpoint_layers(m)
    for name, known in ((model_layer, ours), (ckpt_layer, theirs)):
        if name not in known:
            raise SelectionError(f"'{name}' names no layer{did_you_mean(name, list(known))}")
    model, stored = ours[model_layer], theirs[ckpt_layer]
    pairs = pair_variables(model, stored)
    if pairs is None:
        raise SelectionError(
            f"'{model_layer}' ({model.describe()}) and '{ckpt_layer}' ({stored.describe()}) "
            "are not of one kind; pick a stored layer with the same variables and shapes."
        )
    cols, paths = m.columns, m.source_columns["path"]
    return {paths[j]: cols["model_path"][i] or cols["name"][i] for i, j in pairs}


def with_layer_pair(
    m: Match, rename: Any, label: str, model_layer: str, ckpt_layer: str
) -> dict[str, Any]:
    """``rename`` (of source ``label``) where ``model_layer`` takes ``ckpt_layer``'s
    variables, pairs it had before dropped (see :func:`pair_layer`); raises before any
    change."""
    pairs = hand_pairs(rename, label)
    entries = pair_layer(m, model_layer, ckpt_layer)
    return {**without_layer_pair(m, pairs, label, model_layer, strict=False), **entries}


def without_layer_pair(
    m: Match, rename: Any, label: str, model_layer: str, strict: bool = True
) -> dict[str, Any]:
    """``rename`` (of source ``label``) without the pairs whose target is a variable of
    ``model_layer``.

    ``strict``: refuse a layer that no pair targets (it was not paired by hand).
    """
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


def model_layer_label(path: str | None, module: str, layer: str) -> str:
    """How alignment names a model layer: its object path, or its Keras name if untracked."""
    return module if path else f"{layer} (untracked)"


def _model_layers(live: Columns, source: Any, rows: Iterable[int]) -> dict[str, Layer]:
    """The model rows ``rows`` grouped into layers: label, role, shape, row."""
    numbered = source.pairs_by == "structure"  # variables named by index only
    return group_layers(
        (
            model_layer_label(live["path"][i], live["module"][i], live["layer"][i]),
            str(live["own_index"][i]) if numbered else live["name"][i],
            live["shape"][i],
            i,
        )
        for i in rows
    )


def _ckpt_layers(ckpt: Columns, source: Any, rows: Iterable[int]) -> dict[str, Layer]:
    """The checkpoint rows ``rows`` grouped by owning layer: label, path, shape, row."""
    return group_layers(
        (source.layer_of(ckpt["path"][j]), ckpt["path"][j], ckpt["shape"][j], j) for j in rows
    )


def _unused_in_order(ckpt: Columns, source: Any, used: set[str], ckpt_root: str) -> list[int]:
    """The checkpoint's model rows no key in ``used`` takes (under ``ckpt_root`` in a TF2
    checkpoint), in stored order: depth first through the object graph when there is one."""
    order = list(range(len(ckpt["path"])))
    graph = source.object_graph
    if graph is not None:
        start = graph.resolve(ckpt_root)
        rank = graph.depth_first(0 if start is None else start)
        order.sort(key=lambda j: rank.get(int(ckpt["node_id"][j]), len(rank) + j))
    return [
        j
        for j in order
        if ckpt["group"][j] == "model"
        and ckpt["key"][j] not in used
        and (graph is None or is_under(ckpt["path"][j], ckpt_root))
    ]


def _record(
    model: Layer, live: Columns, ckpt_layer: str | None, how: str, candidates: list[Any]
) -> dict[str, Any]:
    """One :data:`COLUMNS` record for ``model``; ``candidates``: layers or their labels."""
    return {
        "model_layer": model.label,
        "layer": live["layer"][model.rows[0]],
        "ckpt_layer": ckpt_layer,
        "kind": model.describe(),
        "paired_by": how,
        "candidates": [c.label if isinstance(c, Layer) else c for c in candidates],
    }


def _ambiguity(models: list[Layer], candidates: list[Layer], live: Columns) -> str:
    """The reason given to model layers that could take several stored layers."""
    theirs = ", ".join(f"'{c.label}'" for c in candidates)
    ours = ", ".join(f"'{a.label}' ({live['layer'][a.rows[0]]})" for a in models)
    return (
        f"ambiguous: the checkpoint's {theirs} and the model's {ours} have the same "
        f"kind and shapes ({candidates[0].describe()}) and their order does not "
        "tell which goes where; pair them with rename= or in the widget"
    )
