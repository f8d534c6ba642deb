"""Keras 3 weight files (.weights.h5, .keras) as sources: listed, matched by layer name."""

from __future__ import annotations

import io
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


def test_directory_or_empty_file_is_refused(tmp_path):
    (tmp_path / "x.weights.h5").mkdir()
    with pytest.raises(cw.CheckpointError, match="is a directory, not a Keras weights file"):
        cw.open_checkpoint(tmp_path / "x.weights.h5")
    for name in ("empty.weights.h5", "empty.keras", "empty.h5"):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(cw.CheckpointError, match="not a readable Keras weights file"):
            cw.open_checkpoint(tmp_path / name)


def test_read_block_reads_the_leading_block(keras_files):
    import h5py

    directory, _, _ = keras_files
    path = directory / "cnn.weights.h5"
    src = cw.open_checkpoint(path)
    key = "layers/conv2d/vars/0"
    with h5py.File(path, "r") as f:
        stored = f[key][()]
    assert_same(src.read_block(key, (2, 3, 1, 9)), stored[:2, :3, :1, :])
    assert_same(src.read_block(key, stored.shape), stored)
    with pytest.raises(cw.ShapeMismatchError, match="the ranks differ"):
        src.read_block(key, (2, 3))


@pytest.fixture(scope="module")
def wide_top(tmp_path_factory):
    """A models.cnn() weights file whose top kernel is stored as (8_000_000, 2): 64 MB."""
    import h5py

    path = tmp_path_factory.mktemp("wide") / "wide.weights.h5"
    models.cnn(seed=65).save_weights(str(path))
    with h5py.File(path, "a") as f:
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = np.arange(16_000_000, dtype="float32").reshape(-1, 2)
    return path


def test_adapt_reads_only_the_block_that_fits(wide_top):
    import tracemalloc

    import h5py

    from ckpt_widgets.preview import preview as pv

    model = models.cnn(seed=66)
    m = cw.match(model, wide_top)
    top = m.table[(m.table["layer"] == "top") & (m.table["status"] == "shape_mismatch")]
    tracemalloc.start()
    try:
        pv.preview(m, top["model_path"].iat[0], adapt="overlap")
        cw.restore(model, m, include="top", adapt="overlap")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16_000_000  # the stored kernel is 64 MB; its (6, 2) block is 48 bytes
    with h5py.File(wide_top, "r") as f:
        assert_same(model.get_layer("top").kernel.numpy(), f["layers/dense/vars/0"][:6])


def test_archive_recompressed_or_on_another_file_system(keras_files, tf, tmp_path):
    import h5py

    directory, _, _ = keras_files
    original = directory / "net.keras"
    deflated = tmp_path / "deflated.keras"  # a user re-zipped it: compressed members
    with zipfile.ZipFile(original) as src, zipfile.ZipFile(deflated, "w") as out:
        for info in src.infolist():
            out.writestr(info.filename, src.read(info), compress_type=zipfile.ZIP_DEFLATED)
    remote = "ram://ckpt-widgets-test/keras/net.keras"
    tf.io.gfile.makedirs("ram://ckpt-widgets-test/keras")
    tf.io.gfile.copy(str(original), remote, overwrite=True)
    with (
        zipfile.ZipFile(original) as archive,
        h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as f,
    ):
        for path in (deflated, remote):
            src = cw.open_checkpoint(path)
            assert len(src.variables) == 20
            for key in src.variables["key"]:
                assert_same(src.read(key), f[key][()])


def test_big_endian_datasets_restore_bit_for_bit(keras_files, tmp_path):
    """HDF5 stores any byte order and h5py reads it as stored ('>f4'); Keras's
    load_weights takes such a file, so the restore must too, with the same values."""
    import h5py

    directory, saved, _ = keras_files
    path = tmp_path / "big_endian.weights.h5"
    path.write_bytes((directory / "cnn.weights.h5").read_bytes())
    with h5py.File(path, "a") as f:
        keys = []
        f.visititems(lambda name, obj: keys.append(name) if isinstance(obj, h5py.Dataset) else None)
        for key in keys:
            value, attrs = f[key][()], dict(f[key].parent.attrs)
            del f[key]
            f.create_dataset(key, data=value.astype(value.dtype.newbyteorder(">")))
            f[key].parent.attrs.update(attrs)
    model = models.cnn(seed=63)
    cw.restore(model, str(path))
    for v, w in zip(model.weights, saved.weights):
        assert_same(v.numpy(), w.numpy())


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    """A stack of Dense layers saved by Keras in shards of about 2 KB: an index and four
    files, some layers' kernel and bias in different shards."""
    directory = tmp_path_factory.mktemp("sharded")
    saved = _dense_stack(seed=67)
    saved.save_weights(str(directory / "stack.weights.json"), max_shard_size=2e-6)
    return directory, saved


def _dense_stack(seed: int):
    import keras

    layers = [keras.layers.Dense(16, name=f"d{i}") for i in range(6)]
    model = keras.Sequential([keras.Input((16,)), *layers, keras.layers.Dense(4, name="top")])
    models.perturb(model, seed)
    return model


def test_sharded_weights_restore_bit_for_bit_from_every_shard(sharded, tf):
    """Keras (>= 3.10) writes a '.weights.json' index and several '.weights.h5' shards; a
    layer's variables may be split over two shards. Restored as Keras's load_weights does."""
    directory, saved = sharded
    shards = sorted(directory.glob("stack_*.weights.h5"))
    assert len(shards) > 2
    src = cw.open_checkpoint(directory / "stack.weights.json")
    layers = dict(zip(src.variables["key"], src.variables["layer"]))
    assert layers["layers/dense_1/vars/1"] == "d1"  # its kernel is in the shard before
    expected = _dense_stack(seed=68)
    expected.load_weights(str(directory / "stack.weights.json"))
    model = _dense_stack(seed=68)
    report = cw.restore(model, str(directory / "stack.weights.json"))
    assert len(report.restored) == len(model.weights)
    for v, w, s in zip(model.weights, expected.weights, saved.weights):
        assert_same(v.numpy(), w.numpy())
        assert_same(v.numpy(), s.numpy())
    twin = _dense_stack(seed=68)
    assert_code_reproduces(report.code, model, twin, tf)


def test_one_shard_of_sharded_weights_is_refused(sharded):
    """A shard holds only some layers (or half a layer): restoring from it as if it were the
    whole file would leave the rest of the model silently unrestored."""
    directory, _ = sharded
    for shard in sorted(directory.glob("stack_*.weights.h5")):
        with pytest.raises(cw.CheckpointError, match=r"one shard of .*stack\.weights\.json"):
            cw.open_checkpoint(shard)


def test_sharded_index_naming_files_outside_its_folder_or_missing_is_refused(sharded, tmp_path):
    import json

    directory, _ = sharded
    index = json.loads((directory / "stack.weights.json").read_text())
    for name, message in (
        ("../elsewhere.weights.h5", "names a file outside its folder"),
        ("/etc/passwd", "names a file outside its folder"),
        ("gone_00009.weights.h5", "is missing its shard 'gone_00009.weights.h5'"),
    ):
        bad = dict(index, weight_map={k: [name] for k in index["weight_map"]})
        (tmp_path / "bad.weights.json").write_text(json.dumps(bad))
        with pytest.raises(cw.CheckpointError, match=message):
            cw.open_checkpoint(tmp_path / "bad.weights.json")
    (tmp_path / "junk.weights.json").write_text("{not json")
    with pytest.raises(cw.CheckpointError, match="not a readable Keras sharded weights index"):
        cw.open_checkpoint(tmp_path / "junk.weights.json")


def test_shards_disagreeing_with_their_index_are_refused(sharded, tmp_path):
    """A group the index places in another shard, or a dataset stored in two shards: which
    one Keras's load_weights reads is not what a plain listing would take."""
    import json
    import shutil

    import h5py

    directory, _ = sharded
    for shard in directory.glob("stack_*.weights.h5"):
        shutil.copy(shard, tmp_path / shard.name)
    index = json.loads((directory / "stack.weights.json").read_text())
    moved = dict(index["weight_map"], **{"/layers/dense/vars": "stack_00001.weights.h5"})
    (tmp_path / "stack.weights.json").write_text(json.dumps(dict(index, weight_map=moved)))
    with pytest.raises(cw.CheckpointError, match="which the index does not place there"):
        cw.open_checkpoint(tmp_path / "stack.weights.json")
    twice = dict(index["weight_map"])
    twice["/layers/dense/vars"] = ["stack_00000.weights.h5", "stack_00001.weights.h5"]
    (tmp_path / "stack.weights.json").write_text(json.dumps(dict(index, weight_map=twice)))
    with h5py.File(tmp_path / "stack_00001.weights.h5", "a") as f:
        f["layers/dense/vars/0"] = np.zeros((16, 16), "float32")
    with pytest.raises(cw.CheckpointError, match="'layers/dense/vars/0' is stored in two shards"):
        cw.open_checkpoint(tmp_path / "stack.weights.json")
