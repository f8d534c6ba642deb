"""Layer pairs: what alignment or a hand pairing decided, and pairing a layer by hand.

:func:`layer_pairs` is the table behind the widget's Pairs view (checkpoint layer beside
model layer); :func:`pair_layer` turns "this model layer takes that stored layer" into
the ``rename`` entries that say so variable by variable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ckpt_widgets.errors import SelectionError, did_you_mean

from .align import Layer, group_layers, pair_variables
from .matching import model_layer_label

if TYPE_CHECKING:
    import pandas as pd

    from .matching import Match

COLUMNS = ["model_layer", "layer", "ckpt_layer", "kind", "paired_by", "candidates"]
HOW = ("align", "rename", "ambiguous")


def model_layers(m: Match) -> dict[str, Layer]:
    """The model's layers (as alignment names them) with their variables' table rows."""
    cols = m.columns
    numbered = m.source.pairs_by == "structure"  # variables named by index only
    own_index = m.graph.variables["own_index"].tolist()
    return group_layers(
        (
            model_layer_label(cols["model_path"][i], cols["module"][i], cols["layer"][i]),
            str(own_index[i]) if numbered else cols["name"][i],
            cols["model_shape"][i],
            i,
        )
        for i in range(len(m.variables))
    )


def checkpoint_layers(m: Match) -> dict[str, Layer]:
    """The checkpoint's layers (owners of model variables) with their source rows."""
    src = m.source.variables
    return group_layers(
        (m.source.layer_of(path), path, shape, j)
        for j, (path, shape, group) in enumerate(zip(src["path"], src["shape"], src["group"]))
        if group == "model"
    )


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
    keys = m.source.variables["key"].tolist()
    owner = {keys[j]: label for label, layer in stored.items() for j in layer.rows}
    records = []
    for label, layer in model_layers(m).items():
        how = [cols["paired_by"][i] for i in layer.rows]
        chosen = next((h for h in HOW if h in how), None)
        if chosen is None:
            # With alignment on, a layer left unpaired that a stored layer could take.
            if m.alignment is None or any(how) or layer.kind not in by_kind:
                continue
            chosen = "unpaired"
        paired = [cols["key"][i] for i in layer.rows if cols["key"][i]]
        records.append(
            {
                "model_layer": label,
                "layer": cols["layer"][layer.rows[0]],
                "ckpt_layer": owner.get(paired[0]) if paired else None,
                "kind": layer.describe(),
                "paired_by": chosen,
                "candidates": by_kind.get(layer.kind, []),
            }
        )
    return pd.DataFrame(records, columns=COLUMNS)


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
    cols, src = m.columns, m.source.variables
    return {src["path"].iat[j]: cols["model_path"][i] or cols["name"][i] for i, j in pairs}
