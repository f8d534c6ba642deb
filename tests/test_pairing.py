"""pairing: layers paired by alignment or by hand, the Pairs view's records, and hand
pairs added to or dropped from a ``rename`` (real Keras 2 files written by ``tf_keras``)."""

from __future__ import annotations

import pandas as pd
import pytest

import ckpt_widgets as cw
from ckpt_widgets.engine.pairing import (
    layer_pairs,
    pair_layer,
    pairs_view,
    with_layer_pair,
    without_layer_pair,
)
from tests import keras2_models, models

FIRST, SECOND, NORM = "_operations/1", "_operations/2", "_operations/4"
STORED = "model/layer_with_weights-0"


@pytest.fixture
def branched(keras2_dir, keras):
    """``branched`` (two Dense(8) side by side) and the Keras 2 ``functional`` checkpoint."""
    return keras2_models.branched(keras), str(keras2_dir / "functional" / "ckpt")


def test_pairs_table_and_pairing_a_layer_by_hand(keras2_dir, keras):
    path = str(keras2_dir / "functional" / "ckpt")
    model = keras2_models.branched(keras)
    m = cw.match(model, path, align=True)
    pairs = layer_pairs(m).set_index("model_layer")
    assert pairs.loc["_operations/1", "paired_by"] == "ambiguous"
    assert pd.isna(pairs.loc["_operations/1", "ckpt_layer"])
    assert pairs.loc["_operations/1", "candidates"] == ["model/layer_with_weights-0"]
    assert pairs.loc["_operations/4", "ckpt_layer"] == "model/layer_with_weights-1"
    rename = pair_layer(m, "_operations/2", "model/layer_with_weights-0")
    assert rename == {
        "model/layer_with_weights-0/kernel": "_operations/2/_kernel",
        "model/layer_with_weights-0/bias": "_operations/2/bias",
    }
    m = cw.match(model, path, align=True, rename=rename)
    pairs = layer_pairs(m).set_index("model_layer")
    assert pairs.loc["_operations/2", "paired_by"] == "rename"
    assert pairs.loc["_operations/1", "paired_by"] == "unpaired"
    assert pairs.loc["_operations/1", "candidates"] == ["model/layer_with_weights-0"]
    with pytest.raises(cw.SelectionError, match="not of one kind"):
        pair_layer(m, "_operations/4", "model/layer_with_weights-0")
    with pytest.raises(cw.SelectionError, match="did you mean"):
        pair_layer(m, "_operations/9", "model/layer_with_weights-0")


def test_pairs_view_lists_each_layer_with_its_variables(branched):
    model, path = branched
    records = {r["model_layer"]: r for r in pairs_view(cw.match(model, path, align=True))}
    assert records[FIRST]["ckpt_layer"] is None and records[FIRST]["candidates"] == [STORED]
    assert records[FIRST]["variables"] == [f"{FIRST}/_kernel", f"{FIRST}/bias"]
    assert records[NORM]["paired_by"] == "align"
    assert pairs_view(cw.match(models.net(), path)) == []  # nothing aligned, nothing by hand


def test_a_hand_pair_replaces_the_layers_earlier_pair_and_can_be_dropped(branched):
    model, path = branched
    m = cw.match(model, path, align=True)
    rename = with_layer_pair(m, None, "A", FIRST, STORED)
    assert rename == {f"{STORED}/kernel": f"{FIRST}/_kernel", f"{STORED}/bias": f"{FIRST}/bias"}
    m = cw.match(model, path, align=True, rename=rename)
    moved = with_layer_pair(m, rename, "A", SECOND, STORED)
    assert moved == {f"{STORED}/kernel": f"{SECOND}/_kernel", f"{STORED}/bias": f"{SECOND}/bias"}
    assert without_layer_pair(m, rename, "A", FIRST) == {}
    with pytest.raises(ValueError, match=f"'{SECOND}' is not paired by hand"):
        without_layer_pair(m, rename, "A", SECOND)
    with pytest.raises(ValueError, match="Source A is paired by rename rules"):
        with_layer_pair(m, [("^x", "y")], "A", FIRST, STORED)
    with pytest.raises(cw.SelectionError, match="names no layer"):
        without_layer_pair(m, rename, "A", "_operations/9")
