"""Readable names and optimizer slot owners. Expected names come from Keras (attribute
names set in the test models, ``layer.name``, ``variable.name``, the optimizer's own
lists); expected links are checked by the values the writer holds."""

from __future__ import annotations

import numpy as np

import ckpt_widgets as cw
from ckpt_widgets.engine.model import ModelGraph
from ckpt_widgets.engine.names import checkpoint_labels, readable_names
from tests import models
from tests.conftest import assert_same


def keras_names(model) -> dict[int, str]:
    """``{id(variable): "backbone/<layer.name>/<variable.name>"}`` for a ``models.net``:
    the attribute names its code sets, then Keras's layer and variable names."""
    out = {id(v): f"head/{v.name}" for v in model.head.weights}
    for layer in model.backbone.layers:
        out.update({id(v): f"backbone/{layer.name}/{v.name}" for v in layer.weights})
    return out


def test_readable_names_are_attribute_names_then_keras_names():
    model = models.net(seed=3)
    expected = keras_names(model)
    assert readable_names(ModelGraph.of(model)) == [expected[id(v)] for v in model.weights]


def test_a_functional_models_operations_read_as_layer_names():
    model = models.functional(seed=3)
    want = [f"{layer.name}/{v.name}" for layer in model.layers for v in layer.weights]
    assert readable_names(ModelGraph.of(model)) == want


def test_rollup_labels_submodules_by_readable_name(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(seed=4)
    rollup = cw.match(model, prefix).rollup()
    assert rollup.columns[0] == "label"
    first = model.backbone.layers[0]
    assert rollup.loc["backbone/_functional/_operations/1", "label"] == f"backbone/{first.name}"
    assert rollup.loc["head", "label"] == "head"


def test_report_names_each_variable_readably_first(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(seed=5)
    expected = keras_names(model)
    report = cw.restore(model, prefix, include=["backbone"])
    by_name = {v.path: v for v in model.weights}
    assert report.restored.columns[0] == "label" and report.skipped.columns[0] == "label"
    for label, name in zip(report.restored["label"], report.restored["name"]):
        assert label == expected[id(by_name[name])]
    assert sorted(report.skipped["label"]) == sorted(expected[id(v)] for v in model.head.weights)


def _slot_paths(optimizer) -> dict[int, int]:
    """``{id(slot variable): k}`` where the optimizer tracks it as ``_variables/k``."""
    return {id(v): k for k, v in enumerate(optimizer.variables)}


def test_optimizer_slots_are_named_by_the_weight_and_slot(net_ckpt):
    prefix, trained = net_ckpt
    model = models.net(seed=6)
    m = cw.match(model, prefix)
    labels = checkpoint_labels(m.source, m)
    expected = keras_names(trained)
    opt = trained.optimizer
    index = _slot_paths(opt)
    reader = __import__("tensorflow").train.load_checkpoint(prefix)
    checked = 0
    for word, slots in (("momentum", opt._momentums), ("velocity", opt._velocities)):
        for ref, slot in zip(opt._trainable_variables, slots):
            path = f"model/optimizer/_variables/{index[id(slot)]}"
            assert labels[path] == f"{opt.name} {word} of {expected[id(ref)]}"
            key = f"{path}/.ATTRIBUTES/VARIABLE_VALUE"
            assert_same(reader.get_tensor(key), slot.numpy())  # the path is that slot's
            checked += 1
    assert checked == 2 * len(opt._trainable_variables) == 12


def test_slots_are_named_without_a_model_by_their_variables_stored_path(net_ckpt):
    prefix, trained = net_ckpt
    src = cw.open_checkpoint(prefix)
    labels = checkpoint_labels(src)
    opt = trained.optimizer
    index = _slot_paths(opt)
    for ref, slot in zip(opt._trainable_variables, opt._momentums):
        label = labels[f"model/optimizer/_variables/{index[id(slot)]}"]
        assert label.startswith(f"{opt.name} momentum of model/")
        owner = label.removeprefix(f"{opt.name} momentum of ")
        assert_same(src.read(owner), ref.numpy())  # the named path holds the slot's weight


def test_tensorflow_slot_variables_are_named_by_their_original_variable(tf, tmp_path):
    v = tf.Variable(np.arange(3, dtype="float32"))
    opt = tf.compat.v1.train.AdamOptimizer(0.1)
    opt.minimize(lambda: tf.reduce_sum(v * v), var_list=[v])
    prefix = tf.train.Checkpoint(weight=v, opt=opt).write(str(tmp_path / "ckpt"))
    src = cw.open_checkpoint(prefix)
    labels = checkpoint_labels(src)
    for slot_name in opt.get_slot_names():
        slot = opt.get_slot(v, slot_name)
        (path,) = [p for p, label in labels.items() if label == f"{slot_name} of weight"]
        assert_same(src.read(path), slot.numpy())


def test_a_list_of_another_shape_is_not_taken_for_slots(tf, tmp_path):
    holder = tf.Module()
    holder._trainable_variables = [tf.Variable(np.zeros((2, 3), "float32"))]
    holder._momentums = [tf.Variable(np.zeros(4, "float32"))]
    root = tf.train.Checkpoint(optimizer=holder)
    prefix = root.write(str(tmp_path / "ckpt"))
    assert checkpoint_labels(cw.open_checkpoint(prefix)) == {}
