"""match: statuses, roll-up, align; placement and rename have their own files."""

from __future__ import annotations

import numpy as np
import pytest

import ckpt_widgets as cw
from tests import models
from tests.conftest import assert_unchanged


def test_statuses_and_rollup(net_ckpt):
    prefix, _ = net_ckpt
    m = cw.match(models.net(head_units=7), prefix)
    by_path = m.table.set_index("model_path")["status"].iloc[: len(m.variables)]
    assert by_path["head/_kernel"] == "shape_mismatch" and by_path["head/bias"] == "shape_mismatch"
    assert (by_path.drop(["head/_kernel", "head/bias"]) == "match").all()
    unused = m.table[m.table["status"] == "unused"]
    assert (unused["group"] == "optimizer").all() and len(unused) == 14
    rollup = m.rollup()
    assert rollup.loc["backbone", "match"] == 4 and rollup.loc["backbone", "worst"] == "match"
    assert rollup.loc["head", "shape_mismatch"] == 2
    assert rollup.loc["", "worst"] == "shape_mismatch" and rollup.loc["", "total"] == 6


def test_missing_variables(tf, tmp_path):
    small = models.net(seed=1)
    prefix = tf.train.Checkpoint(model=small.backbone).write(str(tmp_path / "ckpt"))
    m = cw.match(small, prefix)  # the file holds only the backbone, under "model"
    assert (m.root, m.model_root) == ("model", "backbone")
    statuses = dict(zip(m.table["model_path"], m.table["status"]))
    assert statuses["head/_kernel"] == "missing"
    assert statuses["backbone/_functional/_operations/2/bias"] == "match"


def test_checkpoint_of_another_model(conv_ckpt):
    prefix, _ = conv_ckpt
    m = cw.match(models.net(), prefix)
    assert m.counts()["match"] == 0
    assert m.counts()["missing"] == 6


def test_found_breakdown_and_model_size(tf, net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(head_units=7)
    m = cw.match(model, prefix, rename=[(r"^model/head/", "head/")])
    stored = dict(tf.train.list_variables(prefix))
    # The optimizer's own state; its _trainable_variables are the model's, stored once.
    optimizer_keys = [
        k for k in stored if k.startswith("model/optimizer/") and "_trainable_variables" not in k
    ]
    breakdown = m.breakdown()
    assert breakdown["match"] == 4 and breakdown["shape_mismatch"] == 2
    assert breakdown["optimizer"] == len(optimizer_keys) > 0
    assert breakdown["renamed"] == 2  # the head's kernel and bias, by the rule
    assert m.found() == 6
    params = sum(int(np.prod(v.shape)) for v in model.weights)
    nbytes = sum(np.asarray(v).nbytes for v in model.weights)
    assert m.model_size() == (params, nbytes)


def test_nothing_found_in_a_checkpoint_of_another_model(conv_ckpt):
    prefix, _ = conv_ckpt
    model = models.net()
    m = cw.match(model, prefix)
    assert m.found() == 0
    assert m.breakdown()["missing"] == len(model.weights)


def test_align_changes_nothing_where_paths_line_up(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(head_units=3, seed=9)
    plain, aligned = cw.match(model, prefix), cw.match(model, prefix, align=True)
    assert plain.table.equals(aligned.table)
    assert aligned.alignment.empty


def test_root_must_be_a_path(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(seed=95)
    before = models.values(model)
    with pytest.raises(cw.OptionError, match="root=5 is not an object path"):
        cw.restore(model, prefix, root=5)
    assert_unchanged(model.weights, before)


def test_a_legacy_h5_holding_two_layers_of_one_name_pairs_neither(keras, tmp_path):
    """A Keras 2 ``.h5`` pairs by layer name: a model with one ``proj`` must not take one
    of the file's two ``proj`` layers (in nested models ``s1`` and ``s2``) by their order."""

    def proj(name):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, name="proj")], name=name)

    inputs = keras.Input((4,))
    writer = keras.Model(inputs, proj("s2")(proj("s1")(inputs)))
    models.perturb(writer, seed=1)
    path = str(tmp_path / "legacy.h5")
    writer.save(path)
    model = proj("solo")
    before = models.values(model)
    rows = cw.match(model, path).table.iloc[: len(model.weights)]
    assert set(rows["paired_by"]) == {"ambiguous"} and rows["key"].isna().all()
    said = r"the file holds 2 layers named 'proj' \('model_weights/s1/s1/proj', 'model_weights/s2"
    with pytest.raises(cw.AlignmentError, match=said):
        cw.restore(model, path)
    assert_unchanged(model.weights, before)


def test_generated_layer_names_numbered_from_another_start_pair_nothing_by_name(keras, tmp_path):
    """Keras numbers unnamed layers by how many of the kind the session made: the writer's
    'dense_1' was its first Dense, the model's 'dense_1' is its second. Keras's
    load_weights pairs a legacy ``.h5`` by order; pairing by the name gave each live layer
    the stored weights of the layer before it."""

    def stack(names, seed):
        layers = [keras.layers.Dense(4, name=name) for name in names]
        model = keras.Sequential([keras.Input((4,)), *layers])
        models.perturb(model, seed)
        return model

    writer = stack(["dense_1", "dense_2", "dense_3"], seed=1)  # a session that made one before
    path = str(tmp_path / "legacy.h5")
    writer.save(path)
    model = stack(["dense", "dense_1", "dense_2"], seed=2)  # a fresh session
    before = models.values(model)
    rows = cw.match(model, path).table.iloc[: len(model.weights)]
    assert "name" not in set(rows["paired_by"])
    said = r"'dense_1' is the 1st layer named like 'dense' in the file but the 2nd in the model"
    with pytest.raises(cw.AlignmentError, match=said):
        cw.restore(model, path, include=["dense_1", "dense_2"])
    assert_unchanged(model.weights, before)
    oracle = stack(["dense", "dense_1", "dense_2"], seed=2)
    oracle.load_weights(path)  # by order: what align=True gives
    cw.restore(model, path, align=True)
    for ours, theirs in zip(model.weights, oracle.weights):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_tf1_keys_of_generated_layer_names_numbered_from_another_start_pair_nothing(tf, tmp_path):
    """A ``tf.compat.v1`` Saver file of a Keras model built in a session that had made a
    Dense before holds 'dense_1/kernel' for its first Dense; a fresh session's model names
    its second Dense 'dense_1'. Pairing by the key gave each live layer the stored weights
    of the layer before it, silently."""
    tf_keras = pytest.importorskip("tf_keras")
    keras = pytest.importorskip("keras")
    with tf.Graph().as_default():
        tf_keras.layers.Dense(4)  # a layer the writer's session made before the model
        x = inputs = tf_keras.Input((4,))
        for _ in range(3):
            x = tf_keras.layers.Dense(4)(x)
        tf_keras.Model(inputs, x)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            prefix = tf.compat.v1.train.Saver().save(session, str(tmp_path / "model"))
    x = inputs = keras.Input((4,))
    for name in ["dense", "dense_1", "dense_2"]:  # a fresh session's generated names
        x = keras.layers.Dense(4, name=name)(x)
    model = keras.Model(inputs, x)
    models.perturb(model, seed=2)
    before = models.values(model)
    rows = cw.match(model, prefix).table.iloc[: len(model.weights)]
    assert "name" not in set(rows["paired_by"])
    said = r"'dense_1' is the 1st layer named like 'dense' in the file but the 2nd in the model"
    with pytest.raises(cw.AlignmentError, match=said):
        cw.restore(model, prefix, include=["dense_1", "dense_2"])
    assert_unchanged(model.weights, before)
    layers = model.layers[1:]
    pairs = {f"dense_{n + 1}/{v.name}": v for n, layer in enumerate(layers) for v in layer.weights}
    cw.restore(model, prefix, rename=pairs)
    reader = tf.train.load_checkpoint(prefix)
    for key, variable in pairs.items():
        np.testing.assert_array_equal(variable.numpy(), reader.get_tensor(key))
    models.perturb(model, seed=3)
    cw.restore(model, prefix, align=True)  # by order, as the message offers
    for key, variable in pairs.items():
        np.testing.assert_array_equal(variable.numpy(), reader.get_tensor(key))


def test_tf1_keys_of_a_dozen_generated_names_pair_by_name_when_numbered_alike(tf, keras, tmp_path):
    """TF1 keys come sorted as text ('dense_10' before 'dense_2'); the places of generated
    names go by their numbers, so a file numbered as the model is still paired by name."""
    names = ["dense", *(f"dense_{n}" for n in range(1, 12))]
    x = inputs = keras.Input((3,))
    for name in names:
        x = keras.layers.Dense(3, name=name)(x)
    model = keras.Model(inputs, x)
    models.perturb(model, seed=4)
    prefix = models.save_tf1(tf, {v.path: v.numpy() for v in model.weights}, tmp_path / "m")
    models.perturb(model, seed=5)
    rows = cw.match(model, prefix).table.iloc[: len(model.weights)]
    assert set(rows["paired_by"]) == {"name"}
    cw.restore(model, prefix)
    reader = tf.train.load_checkpoint(prefix)
    for variable in model.weights:
        np.testing.assert_array_equal(variable.numpy(), reader.get_tensor(variable.path))
