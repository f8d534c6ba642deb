"""TF1 name-based checkpoints: listed by name, paired by rename rules, read and assigned."""

from __future__ import annotations

import pytest

import ckpt_widgets as cw
from tests import models
from tests.conftest import assert_code_reproduces, assert_same, assert_unchanged


@pytest.fixture(scope="module")
def tf1_ckpt(tf, tmp_path_factory):
    """A tf.compat.v1 Saver checkpoint with variable scopes fc1/fc2 (weights and biases)."""
    return models.write_tf1_saver(tf, tmp_path_factory.mktemp("tf1") / "model")


RULES = [
    (r"^fc(\d)/weights$", r"backbone/_functional/_operations/\1/_kernel"),
    (r"^fc(\d)/biases$", r"backbone/_functional/_operations/\1/bias"),
]


def test_rules_pair_tf1_names_with_model_paths(tf1_ckpt):
    prefix, _ = tf1_ckpt
    m = cw.match(models.net(), prefix, rename=RULES)
    pairs = m.table[m.table["status"] == "match"].set_index("model_path")["ckpt_path"]
    assert pairs.to_dict() == {
        "backbone/_functional/_operations/1/_kernel": "fc1/weights",
        "backbone/_functional/_operations/1/bias": "fc1/biases",
        "backbone/_functional/_operations/2/_kernel": "fc2/weights",
        "backbone/_functional/_operations/2/bias": "fc2/biases",
    }


def test_restore_reads_and_assigns_verified_and_undoable(tf1_ckpt, tf):
    prefix, stored = tf1_ckpt
    model = models.net(seed=3)
    before = models.values(model)
    report = cw.restore(model, prefix, rename=RULES)
    assert set(report.restored["how"]) == {"assign"}
    layers = model.backbone.layers
    assert_same(layers[0].kernel.numpy(), stored["fc1/weights"])
    assert_same(layers[1].bias.numpy(), stored["fc2/biases"])
    assert_same(model.head.kernel.numpy(), before[4])
    assert "reader.get_tensor('fc1/weights')" in report.code

    twin = models.net(seed=3)
    assert_code_reproduces(report.code, model, twin, tf)

    report.undo()
    assert_unchanged(model.weights, before)


def test_without_rules_nothing_matches_loudly(tf1_ckpt):
    prefix, _ = tf1_ckpt
    with pytest.raises(cw.NothingToRestoreError):
        cw.restore(models.net(), prefix)


def test_a_name_based_checkpoint_has_no_object_paths(tf1_ckpt):
    prefix, _ = tf1_ckpt
    src = cw.open_checkpoint(prefix)
    assert src.format == "tf1"
    assert src.object_paths() == []
