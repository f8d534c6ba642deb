"""Shared fixtures: TensorFlow loads once per session; checkpoints are real files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np
import pytest

from tests import models

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="session")
def tf():
    import tensorflow as tf

    return tf


@pytest.fixture(scope="session")
def keras():
    import keras

    return keras


@pytest.fixture(scope="session")
def net_ckpt(tf, tmp_path_factory):
    """A trained ``Net`` (Sequential backbone + Dense head) saved as Checkpoint(model=...)."""
    model = models.net(head_units=3, seed=1)
    models.fit_briefly(model)
    prefix = tf.train.Checkpoint(model=model).write(str(tmp_path_factory.mktemp("net") / "ckpt"))
    return prefix, model


@pytest.fixture(scope="session")
def functional_ckpt(tf, tmp_path_factory):
    """A Functional model with named layers, saved with CheckpointManager."""
    model = models.functional(seed=2)
    directory = tmp_path_factory.mktemp("functional")
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=model), str(directory), 3)
    manager.save()
    models.perturb(model, seed=3)
    manager.save()
    return str(directory), model


@pytest.fixture(scope="session")
def conv_ckpt(tf, tmp_path_factory):
    """A Sequential CNN saved under ``net`` with Checkpoint.save()."""
    model = models.cnn(seed=4)
    prefix = tf.train.Checkpoint(net=model).save(str(tmp_path_factory.mktemp("cnn") / "ckpt"))
    return prefix, model


@pytest.fixture(scope="session")
def keras2_dir(tmp_path_factory):
    """Checkpoints of every ``keras2_models`` architecture, written by Keras 2 (``tf_keras``)
    in a process of its own; see ``tests/keras2_writer.py``."""
    directory = tmp_path_factory.mktemp("keras2")
    subprocess.run(
        [sys.executable, "-m", "tests.keras2_writer", str(directory)], cwd=ROOT, check=True
    )
    return directory


@pytest.fixture(scope="session")
def every_format(tf, tmp_path_factory):
    """One model (``models.net``) written as a TF2 checkpoint, ``.weights.h5`` and
    ``.keras``, plus a TF1 Saver file and a Keras 2 ``.h5`` of other models:
    ``({format: path}, model, {format: {key: stored array}})`` for the last two."""
    from tests import exact, models

    directory = tmp_path_factory.mktemp("formats")
    model = models.net(seed=91)
    paths = exact.write_all(model, directory / "keras3")
    paths["tf1"], tf1_stored = models.write_tf1_saver(tf, directory / "tf1" / "model")
    paths["keras2"] = str(directory / "keras2.h5")
    keras2_stored = exact.write_keras2_h5(directory / "keras2.h5")
    return paths, model, {"tf1": tf1_stored, "keras2": keras2_stored}


def assert_same(actual, expected):
    """Bit-for-bit equality of two arrays."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype
    assert actual.tobytes() == expected.tobytes()


def assert_unchanged(weights, before) -> None:
    """Each variable of ``weights`` still holds its value in ``before``, bit for bit."""
    for v, old in zip(weights, before):
        assert_same(v.numpy(), old)


def assert_restored_from_file(model, report) -> None:
    """Every variable ``report`` restored holds the stored tensor, bit for bit."""
    import ckpt_widgets as cw

    src = cw.open_checkpoint(report.path)
    by_name = {v.path: v for v in model.weights}
    for name, key in zip(report.restored["name"], report.restored["key"]):
        assert_same(by_name[name].numpy(), src.read(key))


def assert_code_reproduces(code: str, model, twin, tf) -> None:
    """``code`` run on ``twin`` (built as ``model`` was before its restore) gives ``model``'s
    values bit for bit."""
    exec(compile(code, "<report.code>", "exec"), {"tf": tf, "model": twin})
    for ours, theirs in zip(model.weights, twin.weights):
        assert_same(theirs.numpy(), ours.numpy())


@pytest.fixture(scope="session")
def cnn_pair(tf, tmp_path_factory):
    """Two CNNs of the same architecture with different values, each saved with
    ``Checkpoint(model=...)``: ``((prefix_a, model_a), (prefix_b, model_b))``."""
    directory = tmp_path_factory.mktemp("pair")
    a, b = models.cnn(seed=100), models.cnn(seed=101)
    pa = tf.train.Checkpoint(model=a).write(str(directory / "a"))
    pb = tf.train.Checkpoint(model=b).write(str(directory / "b"))
    return (pa, a), (pb, b)
