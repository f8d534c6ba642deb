"""placement: where the model sits in the checkpoint (root, submodule, candidates)."""

from __future__ import annotations

import numpy as np
import pytest

import ckpt_widgets as cw
from ckpt_widgets.engine.placement import rank, suffix_candidates
from tests import models


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
