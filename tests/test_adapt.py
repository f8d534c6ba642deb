"""adapt: one rule fits a stored tensor into a variable of another shape, for the restore,
the preview and the generated code alike."""

from __future__ import annotations

import numpy as np
import pytest

import ckpt_widgets as cw
from ckpt_widgets.engine.adapt import adapted, block_code, check_mode, overlap, start_code
from tests import models
from tests.conftest import assert_same

SHAPES = {  # stored shape -> live shape, 1-D to 4-D: growing, shrinking, and both at once
    "grow": [(3,), (2, 3), (2, 3, 2), (1, 2, 3, 2)],
    "shrink": [(5,), (4, 5), (3, 4, 3), (2, 3, 4, 3)],
    "mixed": [(6,), (2, 5), (3, 1, 4), (2, 3, 1, 4)],
}
LIVE = [(4,), (3, 4), (2, 3, 3), (2, 2, 3, 3)]


def test_overlap_is_the_leading_block_both_shapes_hold():
    assert overlap((3, 4), (5, 2)) == (slice(0, 3), slice(0, 2))
    assert overlap((), ()) == ()
    assert block_code((3, 4), (5, 2)) == "[0:3, 0:2]"
    assert block_code((), ()) == "[...]"


@pytest.mark.parametrize("how", ["overlap", "zeros"])
def test_adapted_copies_the_block_and_keeps_or_zeroes_the_rest(how):
    current = np.arange(12, dtype="float32").reshape(3, 4) + 100
    stored = -np.arange(10, dtype="float32").reshape(5, 2)
    value = adapted(stored, current, how)
    assert_same(value[:3, :2], stored[:3, :2])
    rest = current[:, 2:] if how == "overlap" else np.zeros((3, 2), "float32")
    assert_same(value[:, 2:], rest)
    assert_same(current, np.arange(12, dtype="float32").reshape(3, 4) + 100)  # untouched


def test_adapted_keeps_the_same_shape_or_another_rank_as_it_is():
    stored = np.ones((2, 2), "float32")
    assert adapted(stored, np.zeros((2, 2), "float32"), "zeros") is stored
    assert adapted(stored, np.zeros((2, 2, 1), "float32"), "zeros") is stored


@pytest.mark.parametrize("how", ["overlap", "zeros"])
def test_the_printed_rule_is_the_applied_rule(how):
    current = np.arange(24, dtype="float32").reshape(2, 3, 4)
    stored = -np.arange(30, dtype="float32").reshape(3, 2, 5)
    scope = {"np": np, "current": current, "stored": stored}
    block = block_code(current.shape, stored.shape)
    exec(f"value = {start_code('current', how)}\nvalue{block} = stored{block}", scope)
    assert_same(scope["value"], adapted(stored, current, how))


def test_an_unknown_mode_is_one_sentence():
    with pytest.raises(cw.OptionError, match="adapt='pad' is not one of None"):
        check_mode("pad")


def _shaped(keras, shapes, seed):
    """A model holding one variable of each shape in ``shapes`` (attributes ``w0``…)."""

    class Shaped(keras.Model):
        def __init__(self):
            super().__init__()
            for k, shape in enumerate(shapes):
                setattr(self, f"w{k}", self.add_weight(shape=shape, initializer="zeros"))

        def call(self, x):
            return x

    model = Shaped()
    models.perturb(model, seed)
    return model


@pytest.mark.parametrize("how", ["overlap", "zeros"])
@pytest.mark.parametrize("change", sorted(SHAPES))
def test_generated_code_and_restore_agree_bit_for_bit(keras, tf, tmp_path, how, change):
    saved = _shaped(keras, SHAPES[change], seed=1)
    prefix = tf.train.Checkpoint(model=saved).write(str(tmp_path / "c"))
    ours, theirs = _shaped(keras, LIVE, seed=2), _shaped(keras, LIVE, seed=2)
    before = models.values(ours)
    report = cw.restore(ours, prefix, adapt=how)
    assert len(report.restored) == len(LIVE)
    exec(compile(report.code, "<report.code>", "exec"), {"tf": tf, "model": theirs})
    reader = tf.train.load_checkpoint(prefix)
    key_of = {tuple(s): k for k, s in reader.get_variable_to_shape_map().items()}
    for shape, mine, twin, old in zip(SHAPES[change], ours.weights, theirs.weights, before):
        stored = reader.get_tensor(key_of[shape])
        expected = old.copy() if how == "overlap" else np.zeros_like(old)
        block = tuple(slice(0, min(a, b)) for a, b in zip(old.shape, stored.shape))
        expected[block] = stored[block]
        assert_same(mine.numpy(), expected)
        assert_same(twin.numpy(), mine.numpy())
