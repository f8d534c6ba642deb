"""placement: where the model sits in the checkpoint (root, submodule, candidates)."""

from __future__ import annotations

import numpy as np
import pytest

import ckpt_widgets as cw
from ckpt_widgets.engine.placement import rank, suffix_candidates
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


def pair_of_nets(keras, seed: int):
    """A model holding two ``models.net()`` of one architecture: ``left`` and ``right``."""

    class Pair(keras.Model):
        def __init__(self):
            super().__init__()
            self.left, self.right = models.net(seed=seed), models.net(seed=seed + 1)

        def call(self, x):
            return self.left(x) + self.right(x)

    pair = Pair()
    pair(np.zeros((1, 2), "float32"))
    return pair


def test_two_copies_of_the_model_in_one_checkpoint_are_never_chosen_between_by_a_guess(
    tf, tmp_path
):
    """``Checkpoint(model=m, ema=e)``: the ``model`` edge wins (not ``ema``, shorter);
    ``Checkpoint(generator=g, discriminator=d)`` of one architecture is refused until
    ``root=`` says which; one object under two edges is no choice at all."""
    a, e = models.net(seed=11), models.net(seed=12)
    model = models.net(seed=13)
    with_ema = tf.train.Checkpoint(model=a, ema=e).write(str(tmp_path / "ema"))
    assert cw.match(model, with_ema).root == "model"
    cw.restore(model, with_ema)
    for v, w in zip(model.weights, a.weights):
        assert_same(v.numpy(), w.numpy())
    gan = tf.train.Checkpoint(generator=a, discriminator=e).write(str(tmp_path / "gan"))
    before = models.values(model)
    said = r"fits the model equally well .*pass root='generator'"
    with pytest.raises(cw.SelectionError, match=said):
        cw.restore(model, gan)
    assert_unchanged(model.weights, before)
    cw.restore(model, gan, root="discriminator")
    for v, w in zip(model.weights, e.weights):
        assert_same(v.numpy(), w.numpy())
    aliased = tf.train.Checkpoint(best=a, last=a).write(str(tmp_path / "aliased"))
    assert cw.match(model, aliased).counts()["match"] == len(a.weights)


def test_a_checkpoint_fitting_two_submodules_alike_is_refused(keras, tf, tmp_path):
    """A checkpoint of one ``net`` fits the model's ``left`` and ``right`` alike: which one
    it was for is not guessed; restoring into the submodule itself says it."""
    single = models.net(seed=14)
    prefix = tf.train.Checkpoint(model=single).write(str(tmp_path / "single"))
    pair = pair_of_nets(keras, seed=15)
    before = models.values(pair)
    said = r"onto the model's 'left' and .* onto the model's 'right'.*restore into"
    with pytest.raises(cw.SelectionError, match=said):
        cw.restore(pair, prefix)
    assert_unchanged(pair.weights, before)
    cw.restore(pair.right, prefix)
    for v, w in zip(pair.right.weights, single.weights):
        assert_same(v.numpy(), w.numpy())
    assert_unchanged(pair.left.weights, before[: len(single.weights)])


def test_a_coincidence_of_shapes_does_not_beat_the_default_placement():
    default, coincidence = ("model", "", 1, 1), ("x", "", 2, 2)
    assert rank([default, coincidence])[0] == default
    convincing = ("y", "", 3, 1)
    assert rank([default, coincidence, convincing])[0] == convincing


def test_suffix_candidates_line_up_path_ends():
    live = {"path": ["backbone/dense/kernel", "backbone/dense/bias", ""]}
    ckpt = {
        "path": ["model/dense/kernel", "model/dense/bias", "optimizer/iter"],
        "node_id": [3, 4, 7],
    }
    assert suffix_candidates(live, ckpt) == [("model", "backbone")]
