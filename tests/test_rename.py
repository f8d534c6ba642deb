"""rename: dicts, suggest_rename frames and regex rules, as match and restore apply them,
and the Rules box's text."""

from __future__ import annotations

import re

import pytest

import ckpt_widgets as cw
from ckpt_widgets.engine.rename import (
    add_pairs,
    apply_rules,
    as_pairs,
    compile_rules,
    hand_pairs,
    parse_rules,
)
from tests import models
from tests.conftest import assert_same, assert_unchanged


def test_the_forms_of_rename_as_pairs():
    import pandas as pd

    frame = pd.DataFrame({"model_path": ["head/bias"], "ckpt_path": ["model/h/bias"]})
    assert as_pairs(frame) == {"model/h/bias": "head/bias"}
    assert as_pairs({"a": "b"}) == {"a": "b"}
    assert as_pairs(None) == {}
    assert as_pairs([("^a", "b")]) is None


def test_hand_pairs_refuse_a_source_paired_by_rules():
    assert hand_pairs({"a": "b"}, "A") == {"a": "b"}
    with pytest.raises(ValueError, match="Source B is paired by rename rules"):
        hand_pairs([("^a", "b")], "B")


def test_rules_box_text_becomes_rules():
    text = "# comment\n^model/old/ => new/\n\n  a(\\d) =>  b\\1 \n"
    assert parse_rules(text) == [("^model/old/", "new/"), (r"a(\d)", r"b\1")]
    with pytest.raises(ValueError, match="Rule 1 needs the form 'pattern => replacement'"):
        parse_rules("no arrow")
    with pytest.raises(ValueError, match="Rule 2: '\\(\\[' is no regex"):
        parse_rules("ok => fine\n([ => x")


def test_rules_apply_in_turn():
    rules = compile_rules([(r"^model/", ""), (r"old_(\w+)", r"\1")])
    assert apply_rules(rules, "model/old_head/bias") == "head/bias"


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
        return models.built(Twins(), 3, seed)

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


def test_pairs_add_to_a_dict_and_replace_anything_else():
    assert add_pairs({"a": "x", "b": "y"}, {"b": "z"}) == {"a": "x", "b": "z"}
    assert add_pairs([("^a", "b")], {"b": "z"}) == {"b": "z"}
    assert add_pairs(None, {}) == {}
