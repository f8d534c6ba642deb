"""Keras 3 weight files (.weights.h5, .keras) as sources: listed, matched by layer name."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

import ckpt_widgets as cw
from tests import models
from tests.conftest import assert_code_reproduces, assert_same


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("keras")
    cnn = models.cnn(seed=61)
    cnn.save_weights(str(directory / "cnn.weights.h5"))
    net = models.net(seed=62)
    models.fit_briefly(net)
    net.save(str(directory / "net.keras"))
    return directory, cnn, net


def test_weights_file_listed_and_restored(keras_files, tf):
    directory, saved, _ = keras_files
    path = str(directory / "cnn.weights.h5")
    src = cw.open_checkpoint(path)
    assert src.format == "keras"
    assert set(src.variables["layer"]) == {"conv1", "bn", "conv2", "top"}
    model = models.cnn(seed=63)
    report = cw.restore(model, path, include=["conv1", "bn"])
    assert set(report.restored["layer"]) == {"conv1", "bn"}
    for v, s in zip(model.weights, saved.weights):
        layer = v.path.split("/")[-2]
        if layer in ("conv1", "bn"):
            assert_same(v.numpy(), s.numpy())
        else:
            assert not np.array_equal(v.numpy(), s.numpy())
    twin = models.cnn(seed=63)
    assert_code_reproduces(report.code, model, twin, tf)
    report.undo()


def test_keras_archive_backbone_into_a_wider_head(keras_files, tf):
    directory, _, saved = keras_files
    path = str(directory / "net.keras")
    src = cw.open_checkpoint(path)
    assert (src.variables["group"] == "optimizer").sum() == 14
    model = models.net(head_units=7, seed=64)
    m = cw.match(model, src)
    statuses = dict(zip(m.table["layer"], m.table["status"]))
    assert statuses["d1"] == "match" and statuses["head"] == "shape_mismatch"
    report = cw.restore(model, m, include="backbone")
    for v, s in zip(model.backbone.weights, saved.backbone.weights):
        assert_same(v.numpy(), s.numpy())
    assert "zipfile.ZipFile(" in report.code
    twin = models.net(head_units=7, seed=64)
    assert_code_reproduces(report.code, model, twin, tf)


def test_h5_that_is_not_keras_weights(tmp_path):
    import h5py

    path = tmp_path / "other.weights.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.arange(3)
    with pytest.raises(cw.CheckpointError, match="holds no Keras layer weights"):
        cw.open_checkpoint(path)
    (tmp_path / "junk.weights.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(cw.CheckpointError, match="not a readable Keras weights file"):
        cw.open_checkpoint(tmp_path / "junk.weights.h5")


def test_keras_archive_broken_or_without_weights(tmp_path):
    (tmp_path / "broken.keras").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(cw.CheckpointError, match="not a readable Keras weights file"):
        cw.open_checkpoint(tmp_path / "broken.keras")
    with zipfile.ZipFile(tmp_path / "config_only.keras", "w") as archive:
        archive.writestr("config.json", '{"class_name": "Lambda", "config": {"function": "x"}}')
    with pytest.raises(cw.CheckpointError, match="not a readable Keras weights file"):
        cw.open_checkpoint(tmp_path / "config_only.keras")


def test_missing_keras_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No Keras weights file"):
        cw.open_checkpoint(tmp_path / "none.weights.h5")
