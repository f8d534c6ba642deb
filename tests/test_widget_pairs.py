"""The widget's Pairs view: a Keras 2 checkpoint's layers beside a Keras 3 model's, paired by
alignment or by hand, ticked and restored (real files written by ``tf_keras``)."""

from __future__ import annotations

import pytest

import ckpt_widgets as cw
from tests import keras2_models, models
from tests.conftest import assert_code_reproduces, assert_restored_from_file, assert_same
from tests.front_end import click_restore, send

SEED = 5
FIRST, SECOND, NORM, LAST = "_operations/1", "_operations/2", "_operations/4", "_operations/5"
STORED = "model/layer_with_weights-0"  # the one Dense(8) of the Keras 2 model


def branched(keras):
    keras.utils.set_random_seed(SEED)
    return keras2_models.branched(keras)


@pytest.fixture
def widget(keras2_dir, keras):
    """``branched`` (two Dense(8) side by side) against the Keras 2 ``functional`` checkpoint."""
    return cw.CheckpointWidget(branched(keras), str(keras2_dir / "functional" / "ckpt"), align=True)


def by_layer(widget):
    return {p["model_layer"]: p for p in widget.pairs}


def unchanged(model, before, layers=None):
    """The variables of ``layers`` (every one by default) still hold ``before``'s values."""
    for v, old in zip(model.weights, before):
        if layers is None or v.path.split("/")[0] in {model.layers[i].name for i in layers}:
            assert_same(v.numpy(), old)


def test_pairs_list_the_ambiguous_layers_beside_the_aligned_ones(widget):
    pairs = by_layer(widget)
    assert list(pairs) == [FIRST, SECOND, NORM, LAST]
    ambiguous = [layer for layer, p in pairs.items() if p["paired_by"] == "ambiguous"]
    assert ambiguous == [FIRST, SECOND]
    assert pairs[FIRST]["ckpt_layer"] is None and pairs[FIRST]["candidates"] == [STORED]
    assert pairs[FIRST]["kind"] == "kernel (4, 8) + bias (8,)"
    assert pairs[FIRST]["layer"] == widget.model.layers[1].name
    assert pairs[FIRST]["variables"] == [f"{FIRST}/_kernel", f"{FIRST}/bias"]
    assert pairs[NORM]["paired_by"] == "align"
    assert pairs[NORM]["ckpt_layer"] == "model/layer_with_weights-1"
    assert widget.aligned and widget.header["align"] and widget.sources[0]["align"]


def test_restore_with_an_ambiguous_layer_ticked_refuses_and_changes_nothing(widget):
    before = models.values(widget.model)
    widget.selected = [p["model_layer"] for p in widget.pairs]
    with pytest.raises(cw.AlignmentError, match=rf"{FIRST}.*{SECOND}"):
        widget.restore()
    assert widget.error.startswith("AlignmentError: Cannot restore")
    assert widget.report is None
    unchanged(widget.model, before)


def test_pair_a_layer_by_hand_tick_and_restore(widget, keras, tf):
    model = widget.model
    before = models.values(model)
    widget.selected = [NORM]
    widget.pair_layer(SECOND, STORED)
    pairs = by_layer(widget)
    assert pairs[SECOND]["paired_by"] == "rename" and pairs[SECOND]["ckpt_layer"] == STORED
    assert pairs[FIRST]["paired_by"] == "unpaired", "it could still take the stored layer"
    assert pairs[FIRST]["candidates"] == [STORED]
    assert widget.rename == {
        f"{STORED}/kernel": f"{SECOND}/_kernel",
        f"{STORED}/bias": f"{SECOND}/bias",
    }
    assert widget.selected == [NORM], "ticks that still restore are kept"
    widget.selected = [p["model_layer"] for p in widget.pairs]
    report = widget.restore()
    assert len(report.restored) == 8
    assert_restored_from_file(widget.model, report)
    assert_same(model.layers[2].kernel.numpy(), widget.source.read(f"{STORED}/kernel"))
    unchanged(model, before, layers=[1])
    assert_code_reproduces(report.code, model, branched(keras), tf)


def test_pair_from_the_front_end_and_restore_by_the_button(widget):
    model = widget.model
    before = models.values(model)
    message = {"type": "pair_layer", "model": FIRST, "ckpt": STORED}
    send(widget, message)
    assert widget.error == "" and by_layer(widget)[FIRST]["paired_by"] == "rename"
    widget.selected = [FIRST, NORM]
    click_restore(widget)
    assert widget.error == "" and widget.result["restored"] == 6
    assert_restored_from_file(widget.model, widget.report)
    unchanged(model, before, layers=[2, 5])


def test_an_unticked_pair_is_left_out(widget):
    model = widget.model
    before = models.values(model)
    widget.pair_layer(FIRST, STORED)
    widget.selected = [p["model_layer"] for p in widget.pairs if p["model_layer"] != LAST]
    report = widget.restore()
    assert len(report.restored) == 6
    assert set(report.skipped[report.skipped["model_path"].str.startswith(LAST)]["reason"]) == {
        "not selected"
    }
    unchanged(model, before, layers=[2, 5])


def test_pairing_layers_of_different_kinds_is_refused(widget):
    pairs = widget.pairs
    with pytest.raises(cw.SelectionError, match="not of one kind"):
        widget.pair_layer(NORM, STORED)
    assert "not of one kind" in widget.error
    assert widget.pairs == pairs and widget.rename is None
    send(widget, {"type": "pair_layer", "model": "_operations/9", "ckpt": STORED})
    assert "'_operations/9' names no layer; did you mean" in widget.error
    assert widget.pairs == pairs and widget.rename is None


def test_unpair_gives_the_layer_back_to_alignment(widget):
    widget.pair_layer(FIRST, STORED)
    widget.pair_layer(FIRST, STORED)  # again: the same pairs, not twice
    assert len(widget.rename) == 2
    widget.unpair_layer(FIRST)
    assert widget.error == "" and widget.rename is None
    assert by_layer(widget)[FIRST]["paired_by"] == "ambiguous"
    with pytest.raises(ValueError, match="not paired by hand"):
        widget.unpair_layer(NORM)


def test_hand_pairs_and_rename_rules_do_not_mix(widget):
    widget.set_rules("^nothing/here$ => nothing")
    with pytest.raises(ValueError, match="paired by rename rules"):
        widget.pair_layer(FIRST, STORED)
    assert "clear the rules first" in widget.error


def test_align_layers_toggles_per_source(widget, keras2_dir):
    widget.selected = [NORM, LAST]
    send(widget, {"type": "set_align", "on": False})
    assert widget.error == "" and not widget.aligned and widget.pairs == []
    assert widget.header["counts"]["match"] == 0 and widget.selected == []
    widget.align_layers(True)
    assert widget.header["counts"]["match"] == 6 and len(widget.pairs) == 4
    label = widget.add_source(str(keras2_dir / "functional" / "weights"), align=True)
    assert label == "B" and widget.aligned and len(widget.pairs) == 4
    assert [s["align"] for s in widget.sources] == [True, True]
    widget.selected = [LAST]
    widget.show_source("A")
    widget.selected = [NORM]
    report = widget.restore()  # both sources, each matched with align=True
    assert isinstance(report, cw.CombinedReport) and len(report.restored) == 6
