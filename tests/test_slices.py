"""files.slices: a stored tensor in bounded pieces that cover it exactly, and no further."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

import ckpt_widgets as cw
from ckpt_widgets.errors import CheckpointError
from ckpt_widgets.files.slices import read_ahead, read_slices

SLICE = 64  # bytes: divides none of the tensors below


@pytest.fixture(scope="module")
def written(tf, tmp_path_factory):
    """Tiny tensors of several dtypes in a TF2 checkpoint, and TensorFlow's reader of it."""
    rng = np.random.default_rng(12)
    values = {
        "f32": rng.standard_normal((9, 5)).astype("float32"),
        "f64": rng.standard_normal(19),
        "i8": rng.integers(-100, 100, 67).astype("int8"),
        "flags": rng.random(71) < 0.5,
        "words": np.array([b"a", b"bb", b"ccc"]),
    }
    root = tf.train.Checkpoint(**{k: tf.Variable(v) for k, v in values.items()})
    prefix = root.write(str(tmp_path_factory.mktemp("slices") / "ckpt"))
    return prefix, tf.train.load_checkpoint(prefix)


def key(name: str) -> str:
    return f"{name}/.ATTRIBUTES/VARIABLE_VALUE"


@pytest.mark.parametrize("name", ["f32", "f64", "i8", "flags"])
@pytest.mark.parametrize("reuse", [False, True])
def test_pieces_cover_the_tensor_exactly(written, name, reuse):
    prefix, reader = written
    whole = reader.get_tensor(key(name)).reshape(-1)
    step = SLICE // whole.itemsize
    pieces = [
        (s, v.copy()) for s, v in read_slices(cw.open_checkpoint(prefix), key(name), SLICE, reuse)
    ]
    assert [s for s, _ in pieces] == list(range(0, whole.size, step))
    assert all(v.size == min(step, whole.size - s) for s, v in pieces)
    joined = np.concatenate([v for _, v in pieces])
    assert joined.dtype == whole.dtype and joined.tobytes() == whole.tobytes()


def test_strings_and_small_tensors_are_one_piece(written):
    prefix, reader = written
    src = cw.open_checkpoint(prefix)
    [(start, words)] = read_slices(src, key("words"), 1)
    assert start == 0 and list(words) == list(reader.get_tensor(key("words")))
    [(start, f64)] = read_slices(src, key("f64"), 1 << 20)
    np.testing.assert_array_equal(f64, reader.get_tensor(key("f64")))


def test_keras_file_pieces_are_whole_rows(tmp_path):
    import h5py

    from tests import models

    path = str(tmp_path / "m.weights.h5")
    models.cnn(seed=5).save_weights(path)
    src = cw.open_checkpoint(path)
    with h5py.File(path) as f:
        for k, shape in zip(src.variables["key"], src.variables["shape"]):
            pieces = list(read_slices(src, k, 64))
            row = math.prod(shape[1:]) if len(shape) > 1 else 1
            assert all(start % row == 0 for start, _ in pieces)
            assert np.concatenate([v for _, v in pieces]).tobytes() == f[k][()].tobytes()


def test_an_index_pointing_past_the_data_file_is_refused(written, tmp_path):
    """A data file shorter than the index says (truncated, or an offset beyond its end)."""
    src = _opened_then_truncated(written, tmp_path)
    with pytest.raises(CheckpointError, match="data file may be truncated"):
        list(read_slices(src, key("f32"), SLICE))


# -- read ahead ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["f32", "f64", "i8", "flags"])
def test_pieces_read_ahead_are_the_tensor_and_stay_valid(written, name):
    """ahead=True: the same pieces, each its own array (still the stored values once the
    next ones are read), read in another thread."""
    prefix, reader = written
    whole = reader.get_tensor(key(name)).reshape(-1)
    src = cw.open_checkpoint(prefix)
    pieces = list(read_slices(src, key(name), SLICE, ahead=True))
    plain = list(read_slices(src, key(name), SLICE))
    assert [s for s, _ in pieces] == [s for s, _ in plain]
    assert len({id(v) for _, v in pieces}) == len(pieces) > 1
    joined = np.concatenate([v for _, v in pieces])
    assert joined.dtype == whole.dtype and joined.tobytes() == whole.tobytes()


def test_an_error_while_reading_ahead_is_raised_after_the_pieces_before_it():
    def pieces():
        yield 0, np.zeros(2)
        raise CheckpointError("the data file changed while it was read")

    got = read_ahead(pieces())
    assert next(got)[0] == 0
    with pytest.raises(CheckpointError, match="changed while"):
        next(got)


def test_a_reader_that_stops_early_stops_the_thread_and_closes_the_pieces():
    import threading

    closed = threading.Event()

    def pieces():
        try:
            for i in range(1000):
                yield i, np.zeros(2)
        finally:
            closed.set()

    got = read_ahead(pieces())
    assert next(got)[0] == 0
    got.close()
    assert closed.is_set()
    assert not any(t.name == "ckpt-widgets read ahead" for t in threading.enumerate())


def test_a_corrupt_file_read_ahead_is_refused(written, tmp_path):
    """The reading thread's CheckpointError reaches the caller, as without read-ahead."""
    src = _opened_then_truncated(written, tmp_path)
    with pytest.raises(CheckpointError, match="data file may be truncated"):
        list(read_slices(src, key("f32"), SLICE, ahead=True))


def _opened_then_truncated(written, tmp_path):
    """A copy of the written checkpoint, opened, then its data file cut to 8 bytes."""
    prefix, _ = written
    copy = str(tmp_path / "ckpt")
    for suffix in (".index", ".data-00000-of-00001"):
        shutil.copyfile(prefix + suffix, copy + suffix)
    src = cw.open_checkpoint(copy)
    with open(copy + ".data-00000-of-00001", "r+b") as f:
        f.truncate(8)
    return src
