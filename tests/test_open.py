"""open_checkpoint, the dispatcher: which source each file opens as, directories, paths
of every type, and paths that lead nowhere or to something else."""

from __future__ import annotations

import os
import shutil

import pytest

import ckpt_widgets as cw
from ckpt_widgets.files.keras_weights import KerasWeightsSource
from ckpt_widgets.files.tf1 import TF1Source
from ckpt_widgets.files.tf2 import TF2Source
from tests.conftest import assert_same


@pytest.mark.parametrize(
    ("fmt", "cls", "label", "pairs_by"),
    [
        ("checkpoint", TF2Source, "tf2", "path"),
        ("weights.h5", KerasWeightsSource, "keras", "structure"),
        ("keras", KerasWeightsSource, "keras", "structure"),
        ("tf1", TF1Source, "tf1", "name"),
        ("keras2", KerasWeightsSource, "keras", "layer"),
    ],
)
def test_each_format_opens_as_its_source(every_format, fmt, cls, label, pairs_by):
    paths, _, _ = every_format
    src = cw.open_checkpoint(paths[fmt])
    assert type(src) is cls and isinstance(src, cw.CheckpointSource)
    assert (src.format, src.pairs_by) == (label, pairs_by)
    assert (src.object_graph is None) == (fmt != "checkpoint")
    assert src.path == os.path.abspath(paths[fmt])
    assert cw.open_checkpoint(src) is src  # an opened source is used as it is


def test_missing_keras_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No Keras weights file"):
        cw.open_checkpoint(tmp_path / "none.weights.h5")


def test_directory_opens_latest_checkpoint(functional_ckpt):
    directory, model = functional_ckpt
    src = cw.open_checkpoint(directory)
    assert src.prefix.endswith("ckpt-2")
    assert_same(src.read("model/_operations/3/_kernel"), model.get_layer("decoder").kernel.numpy())


def test_prefix_given_with_index_suffix(conv_ckpt):
    prefix, _ = conv_ckpt
    assert cw.open_checkpoint(prefix + ".index").prefix == prefix


def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        cw.open_checkpoint(tmp_path / "nothing")


def test_empty_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no TensorFlow checkpoint"):
        cw.open_checkpoint(tmp_path)


def test_directory_without_state_file(conv_ckpt, tmp_path):
    prefix, _ = conv_ckpt
    for name in os.listdir(os.path.dirname(prefix)):
        if name != "checkpoint":
            shutil.copy(os.path.join(os.path.dirname(prefix), name), tmp_path / name)
    with pytest.raises(FileNotFoundError, match="pass a prefix such as"):
        cw.open_checkpoint(tmp_path)


def test_a_plain_file_is_not_a_prefix(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(cw.CheckpointError, match="not a TensorFlow checkpoint prefix"):
        cw.open_checkpoint(tmp_path / "notes.txt")


def test_unreadable_index(tmp_path):
    (tmp_path / "ckpt.index").mkdir()  # exists, cannot be read as a file
    (tmp_path / "ckpt.data-00000-of-00001").write_bytes(b"")
    with pytest.raises(cw.CheckpointError, match="is a directory, not a checkpoint index"):
        cw.open_checkpoint(tmp_path / "ckpt")


def test_state_file_that_is_not_text(conv_ckpt, tmp_path):
    prefix, _ = conv_ckpt
    for name in os.listdir(os.path.dirname(prefix)):
        shutil.copy(os.path.join(os.path.dirname(prefix), name), tmp_path / name)
    (tmp_path / "checkpoint").write_bytes(b'model_checkpoint_path: "\xff\xfe"\n')
    with pytest.raises(cw.CheckpointError, match=r"'checkpoint' state file .* cannot be read"):
        cw.open_checkpoint(tmp_path)


def test_bytes_and_path_like_paths(conv_ckpt):
    prefix, model = conv_ckpt

    class Where(os.PathLike):
        def __fspath__(self):
            return prefix

    kernel = model.get_layer("conv1").kernel.numpy()
    for path in (prefix.encode(), Where()):
        src = cw.open_checkpoint(path)
        assert src.prefix == prefix
        assert_same(src.read("net/_functional/_operations/1/_kernel"), kernel)


def test_path_of_another_type_or_not_utf8(tmp_path):
    with pytest.raises(TypeError, match=r"must be a str, bytes or os\.PathLike, not int"):
        cw.open_checkpoint(5)
    with pytest.raises(cw.CheckpointError, match="contains a NUL character"):
        cw.open_checkpoint("ckpt\0.weights.h5")
    folder = os.fsencode(tmp_path) + b"/\xff"
    os.mkdir(folder)
    with pytest.raises(cw.CheckpointError, match=r"is not a valid UTF-8 name"):
        cw.open_checkpoint(folder + b"/ckpt")
    with pytest.raises(cw.CheckpointError, match=r"is not a valid UTF-8 name"):
        cw.open_checkpoint(os.fsdecode(folder + b"/x.weights.h5"))


def test_a_path_holding_brackets_says_why_tensorflow_cannot_open_it(tf, tmp_path):
    """TensorFlow matches a checkpoint's path as a file pattern: '[x]' matches 'x' only,
    so the files are there and it still finds none. Say that, not "damaged"."""
    folder = tmp_path / "run [2]"
    prefix = tf.train.Checkpoint(v=tf.Variable([1.0, 2.0])).write(str(folder / "ckpt"))
    with pytest.raises(cw.CheckpointError, match=r"file pattern.* without '\[' and '\]'"):
        cw.open_checkpoint(prefix)
    tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(1.0)), str(folder), 1).save()
    with pytest.raises(cw.CheckpointError, match=r"cannot be searched by TensorFlow.*file pattern"):
        cw.open_checkpoint(folder)
