"""match: where the model sits in the checkpoint, statuses, roll-up, rename."""

from __future__ import annotations

import re

import numpy as np
import pytest

import ckpt_widgets as cw
from tests import models
from tests.conftest import assert_same, assert_unchanged


@pytest.fixture(scope="module")
def placements(tf, tmp_path_factory):
    """The same Net saved at the root, under ``net``, under ``model`` and ``model/encoder``."""
    model = models.net(seed=5)
    directory = tmp_path_factory.mktemp("placements")
    outer = tf.train.Checkpoint(encoder=model)
    return model, {
        "": tf.train.Checkpoint(model).write(str(directory / "root")),
        "net": tf.train.Checkpoint(net=model).write(str(directory / "net")),
        "model": tf.train.Checkpoint(model=model).write(str(directory / "model")),
        "model/encoder": tf.train.Checkpoint(model=outer).write(str(directory / "deep")),
    }


@pytest.mark.parametrize("root", ["", "net", "model", "model/encoder"])
def test_detects_where_the_model_sits(placements, root):
    model, prefixes = placements
    m = cw.match(models.net(seed=6), prefixes[root])
    assert m.root == root and m.model_root == ""
    assert m.counts()["match"] == len(model.weights)
    assert (m.table["status"].iloc[: len(model.weights)] == "match").all()


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


def test_stored_model_is_now_a_submodule(keras, tf, tmp_path):
    classifier = models.cnn(seed=1)
    prefix = tf.train.Checkpoint(model=classifier).write(str(tmp_path / "ckpt"))

    class Wrapper(keras.Model):
        def __init__(self):
            super().__init__()
            self.backbone = models.cnn(seed=2)
            self.extra = keras.layers.Dense(3)

        def call(self, x):
            return self.extra(self.backbone(x))

    new = Wrapper()
    new(np.zeros((1, 8, 8, 3), "float32"))
    m = cw.match(new, prefix)
    assert (m.root, m.model_root) == ("model", "backbone")
    assert m.counts()["match"] == len(classifier.weights)


def test_root_override_and_unknown_root(placements):
    _, prefixes = placements
    m = cw.match(models.net(), prefixes["model/encoder"], root="model/encoder")
    assert m.root == "model/encoder"
    with pytest.raises(cw.SelectionError, match="did you mean 'model/encoder'"):
        cw.match(models.net(), prefixes["model/encoder"], root="model/encodr")


def test_checkpoint_of_another_model(conv_ckpt):
    prefix, _ = conv_ckpt
    m = cw.match(models.net(), prefix)
    assert m.counts()["match"] == 0
    assert m.counts()["missing"] == 6


def test_rename_dict_pairs_explicitly(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net()
    m = cw.match(model, prefix, rename={"model/head/bias": model.backbone.layers[0].bias.path})
    # a (4,) bias cannot take the (3,) head bias: paired but shape_mismatch
    row = m.table.set_index("model_path").loc["backbone/_functional/_operations/1/bias"]
    assert row["ckpt_path"] == "model/head/bias" and row["paired_by"] == "rename"
    assert row["status"] == "shape_mismatch"


def test_rename_regex_rules(tf, tmp_path):
    old = models.net(seed=3)
    holder = tf.train.Checkpoint(old_head=old.head)
    prefix = tf.train.Checkpoint(model=holder).write(str(tmp_path / "ckpt"))
    model = models.net()
    m = cw.match(model, prefix, rename=[(r"^model/old_head/", "head/")])
    statuses = dict(zip(m.table["model_path"], m.table["status"]))
    assert statuses["head/_kernel"] == "match" and statuses["head/bias"] == "match"


def test_align_changes_nothing_where_paths_line_up(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(head_units=3, seed=9)
    plain, aligned = cw.match(model, prefix), cw.match(model, prefix, align=True)
    assert plain.table.equals(aligned.table)
    assert aligned.alignment.empty


@pytest.fixture(scope="module")
def square_ckpt(tf, tmp_path_factory):
    """A ``Net`` whose two backbone layers have the same shapes (width 5), so a stored
    tensor fits either."""
    saved = models.net(seed=90, width=5)
    prefix = tf.train.Checkpoint(model=saved).write(str(tmp_path_factory.mktemp("sq") / "c"))
    return prefix, saved


D1, D2 = "backbone/_functional/_operations/1", "backbone/_functional/_operations/2"


@pytest.mark.parametrize(
    "rename",
    [
        {f"model/{D1}/bias": f"{D2}/bias", f"model/{D2}/bias": f"{D2}/bias"},
        [(r"^model/backbone/_functional/_operations/\d/bias$", f"{D2}/bias")],
    ],
    ids=["dict", "rules"],
)
def test_rename_two_stored_tensors_to_one_variable_is_refused(square_ckpt, rename):
    prefix, _ = square_ckpt
    model = models.net(seed=91, width=5)
    before = models.values(model)
    with pytest.raises(cw.RenameError, match=rf"'{D2}/bias' two stored tensors, '.*/1/bias'"):
        cw.restore(model, prefix, rename=rename)
    assert_unchanged(model.weights, before)


def test_rename_rules_feeding_one_stored_tensor_to_two_variables_are_refused(square_ckpt):
    prefix, _ = square_ckpt
    model = models.net(seed=92, width=5)
    before = models.values(model)
    rules = [(r"^model/backbone/_functional/_operations/1/bias$", f"{D2}/bias")]
    with pytest.raises(cw.RenameError, match=rf"to '{D2}/bias' while it still pairs with"):
        cw.restore(model, prefix, rename=rules)
    assert_unchanged(model.weights, before)


def test_a_rename_dict_may_feed_one_stored_tensor_to_two_variables(square_ckpt, tf):
    prefix, _ = square_ckpt
    model = models.net(seed=93, width=5)
    cw.restore(model, prefix, include="backbone", rename={f"model/{D1}/bias": f"{D2}/bias"})
    stored = tf.train.load_checkpoint(prefix).get_tensor(
        f"model/{D1}/bias/.ATTRIBUTES/VARIABLE_VALUE"
    )
    for layer in model.backbone.layers:
        assert_same(layer.bias.numpy(), stored)


BAD_GROUP = (r"^model/head/(\w+)$", r"head/\2")
UNBALANCED = (r"^model/(head/bias$", "head/bias")
NOT_A_PAIR = ("^model/head/bias$",)
BYTES_PART = (b"^model/head/bias$", "head/bias")


@pytest.mark.parametrize(
    ("rename", "named"),
    [
        ([BAD_GROUP], re.escape(f"rename rule {BAD_GROUP!r} is invalid: invalid group reference")),
        ([UNBALANCED], re.escape(f"rename rule {UNBALANCED!r} is invalid: missing )")),
        ([NOT_A_PAIR], re.escape(f"rename rule {NOT_A_PAIR!r} is not a (pattern")),
        ([BYTES_PART], re.escape(f"rename rule {BYTES_PART!r} is not a (pattern")),
        ("^model/head/bias$", "is neither a dict"),
        ({5: "head/bias"}, "rename key 5 is not a checkpoint path"),
    ],
    ids=["group-reference", "unbalanced", "not-a-pair", "bytes-part", "a-string", "int-key"],
)
def test_invalid_rename_rules_are_one_sentence_naming_the_rule(net_ckpt, rename, named):
    prefix, _ = net_ckpt
    model = models.net(seed=94)
    before = models.values(model)
    with pytest.raises(cw.RenameError, match=named):
        cw.match(model, prefix, rename=rename)
    with pytest.raises(cw.RenameError, match=named):
        cw.restore(model, prefix, rename=rename)
    assert_unchanged(model.weights, before)


def test_root_must_be_a_path(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(seed=95)
    before = models.values(model)
    with pytest.raises(cw.OptionError, match="root=5 is not an object path"):
        cw.restore(model, prefix, root=5)
    assert_unchanged(model.weights, before)


@pytest.fixture(scope="module")
def twin_blocks(tf, keras, tmp_path_factory):
    """A model whose two blocks share the name ``blk``: both query kernels are named
    ``m/blk/query/kernel`` by Keras, told apart only by object path (``a/…``, ``b/…``)."""

    class Block(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.query = keras.layers.Dense(3, name="query")

        def call(self, x):
            return self.query(x)

    class Twins(keras.Model):
        def __init__(self):
            super().__init__(name="m")
            self.a, self.b = Block(name="blk"), Block(name="blk")

        def call(self, x):
            return self.b(self.a(x))

    def build(seed):
        model = Twins()
        model(np.zeros((1, 3), "float32"))
        models.perturb(model, seed)
        return model

    saved = build(96)
    prefix = tf.train.Checkpoint(model=saved).write(str(tmp_path_factory.mktemp("tw") / "c"))
    return prefix, build


@pytest.mark.parametrize(
    "rename",
    [{"model/a/query/bias": "m/blk/query/bias"}, [(r"^model/a/query/bias$", "m/blk/query/bias")]],
    ids=["dict", "rules"],
)
def test_a_rename_target_named_by_a_repeated_keras_name_is_refused(twin_blocks, rename):
    prefix, build = twin_blocks
    model = build(97)
    before = models.values(model)
    with pytest.raises(cw.RenameError, match=r"names 2 model variables .*'a/query/bias'"):
        cw.restore(model, prefix, include="a/query/bias", rename=rename)
    assert_unchanged(model.weights, before)
