"""Keras 2 checkpoints (written by tf_keras in its own process) into Keras 3 models."""

from __future__ import annotations

import numpy as np
import pytest

import ckpt_widgets as cw
from tests import keras2_models
from tests.conftest import (
    assert_code_reproduces,
    assert_restored_from_file,
    assert_unchanged,
)

FORMATS = ["ckpt", "weights", "weights.h5", "model.h5"]


def fresh(name, keras):
    keras.utils.set_random_seed(3)
    return keras2_models.BUILDERS[name](keras)


# Keras 2 cannot write a subclassed model's weights as legacy h5.
CASES = [
    (n, f)
    for n in keras2_models.BUILDERS
    for f in FORMATS
    if not (n == "subclassed" and f.endswith(".h5"))
]


@pytest.mark.parametrize(("name", "fmt"), CASES, ids=[f"{n}-{f}" for n, f in CASES])
def test_keras2_checkpoint_restores_into_keras3(keras2_dir, keras, tf, name, fmt):
    path = str(keras2_dir / name / fmt)
    model = fresh(name, keras)
    m = cw.match(model, path, align=True)
    model_rows = m.table.iloc[: len(m.variables)]
    assert (model_rows["status"] == "match").all(), model_rows[["model_path", "reason"]]
    twin = fresh(name, keras)
    before = [v.numpy() for v in model.weights]
    report = cw.restore(model, path, align=True)
    assert len(report.restored) == len(model.weights)
    assert_restored_from_file(model, report)
    expected = np.load(keras2_dir / name / "predictions.npy")
    np.testing.assert_allclose(
        model.predict(keras2_models.inputs_for(name), verbose=0), expected, rtol=1e-5, atol=1e-6
    )
    assert_code_reproduces(report.code, model, twin, tf)
    report.undo()
    assert_unchanged(model.weights, before)


def test_without_align_nothing_pairs_and_the_message_says_align(keras2_dir, keras):
    model = fresh("functional", keras)
    m = cw.match(model, str(keras2_dir / "functional" / "ckpt"))
    assert m.counts()["match"] == 0
    with pytest.raises(cw.NothingToRestoreError):
        cw.restore(model, m)


def test_alignment_table_says_how_layers_were_paired(keras2_dir, keras):
    model = fresh("sequential", keras)
    m = cw.match(model, str(keras2_dir / "sequential" / "weights"), align=True)
    assert set(m.table.iloc[: len(m.variables)]["paired_by"]) == {"align"}
    assert m.alignment["ckpt_layer"].tolist() == [
        "layer_with_weights-0", "layer_with_weights-1", "layer_with_weights-2"
    ]  # fmt: skip
    assert m.alignment["kind"].iloc[0] == "embeddings (20, 4)"
    unused = m.table[m.table["status"] == "unused"]
    assert set(unused["group"]) == {"optimizer"}, "the Adam state is listed, not paired"


def test_untracked_blocks_of_keras3_take_keras2_list_entries(keras2_dir, keras):
    model = fresh("subclassed", keras)
    m = cw.match(model, str(keras2_dir / "subclassed" / "ckpt"), align=True)
    rows = m.table.iloc[: len(m.variables)]
    blocks = rows[rows["ckpt_path"].str.startswith("model/blocks/")]
    assert len(blocks) == 4 and (blocks["model_path"] == "").all()
    assert (blocks["status"] == "match").all()


def test_ambiguous_layers_are_reported_not_guessed(keras2_dir, keras, tf):
    path = str(keras2_dir / "functional" / "ckpt")
    model = keras2_models.branched(keras)
    before = [v.numpy() for v in model.weights]
    m = cw.match(model, path, align=True)
    ambiguous = m.alignment[m.alignment["paired_by"] == "ambiguous"]
    assert ambiguous["model_layer"].tolist() == ["_operations/1", "_operations/2"]
    assert ambiguous["candidates"].iloc[0] == ["model/layer_with_weights-0"]
    sure = m.alignment[m.alignment["paired_by"] == "align"]["ckpt_layer"].tolist()
    assert sure == ["model/layer_with_weights-1", "model/layer_with_weights-2"]
    with pytest.raises(cw.AlignmentError, match=r"_operations/1.*_operations/2"):
        cw.restore(model, path, align=True)
    assert_unchanged(model.weights, before)
    # Excluding the ambiguous layers, or pairing one by hand, lets the rest restore.
    report = cw.restore(model, path, align=True, exclude=["_operations/1", "_operations/2"])
    assert len(report.restored) == 6
    report.undo()
    first = model.layers[1]
    rename = {
        "model/layer_with_weights-0/kernel": first.kernel.path,
        "model/layer_with_weights-0/bias": first.bias.path,
    }
    report = cw.restore(model, path, align=True, rename=rename)
    assert len(report.restored) == 8
    assert_restored_from_file(model, report)
    assert_unchanged(model.layers[2].weights, before[2:4])


def test_legacy_h5_lists_layers_in_order(keras2_dir):
    src = cw.open_checkpoint(str(keras2_dir / "sequential" / "weights.h5"))
    assert src.format == "keras"
    assert src.variables["path"].str.endswith(":0").all()
    assert src.variables["layer"].tolist()[:1] == ["embedding"]
    assert list(src.variables["index"])[1:5] == [0, 1, 2, 3]  # gamma, beta, mean, variance


def test_legacy_h5_matches_by_layer_name_without_align(keras2_dir, keras):
    model = fresh("functional", keras)
    names = {layer.name for layer in model.layers if layer.weights}
    src = cw.open_checkpoint(str(keras2_dir / "functional" / "weights.h5"))
    m = cw.match(model, src)
    paired = m.table[m.table["paired_by"] == "name"]
    assert set(paired["layer"]) == names & set(src.variables["layer"])


def test_legacy_model_file_config_is_never_read(keras2_dir, keras, tmp_path):
    import shutil

    import h5py

    path = tmp_path / "model.h5"
    shutil.copy(keras2_dir / "functional" / "model.h5", path)
    with h5py.File(path, "a") as f:
        f.attrs["model_config"] = "raise SystemExit  # not JSON, never parsed"
    model = fresh("functional", keras)
    report = cw.restore(model, str(path), align=True)
    assert len(report.restored) == len(model.weights)
    assert_restored_from_file(model, report)


@pytest.mark.parametrize(
    ("layer_names", "message"),
    [([b"dense"], "not a readable Keras weights file"), ([], "holds no Keras layer weights")],
    ids=["missing-group", "no-layers"],
)
def test_broken_legacy_h5_is_one_clear_error(tmp_path, layer_names, message):
    import h5py

    path = tmp_path / "broken.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = layer_names
    with pytest.raises(cw.CheckpointError, match=message):
        cw.open_checkpoint(str(path))
