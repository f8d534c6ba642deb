"""files.bundle: each tensor's data file, offset and size, checked against TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest

from ckpt_widgets.files.bundle import Located, locate, read_pieces


@pytest.fixture(scope="module")
def written(tf, tmp_path_factory):
    """A checkpoint of tensors of several dtypes and shapes, and its reader's keys."""
    rng = np.random.default_rng(4)
    tensors = {
        "w32": rng.standard_normal((5, 7)).astype("float32"),
        "w64": rng.standard_normal(11),
        "b16": rng.standard_normal((3, 4)).astype("float16"),
        "ids": rng.integers(-9, 9, (6,)).astype("int64"),
        "flag": np.array([True, False, True]),
        "scalar": np.float32(2.5),
    }
    ckpt = tf.train.Checkpoint(**{k: tf.Variable(v) for k, v in tensors.items()})
    prefix = ckpt.write(str(tmp_path_factory.mktemp("bundle") / "ckpt"))
    reader = tf.train.load_checkpoint(prefix)
    keys = [k for k in reader.get_variable_to_shape_map() if k.endswith("VARIABLE_VALUE")]
    return prefix, reader, keys


def test_each_tensor_is_located_at_the_bytes_tensorflow_reads(written):
    prefix, reader, keys = written
    assert len(keys) == 6
    dtypes = reader.get_variable_to_dtype_map()
    for key in keys:
        want = reader.get_tensor(key)
        found = locate(prefix, key)
        assert found is not None and found.path == f"{prefix}.data-00000-of-00001"
        assert found.size == want.nbytes
        with open(found.path, "rb") as f:
            f.seek(found.offset)
            raw = f.read(found.size)
        got = np.frombuffer(raw, dtypes[key].as_numpy_dtype).reshape(want.shape)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("reuse", [False, True])
def test_pieces_put_together_are_the_stored_tensor(written, reuse):
    prefix, reader, _ = written
    key = "w32/.ATTRIBUTES/VARIABLE_VALUE"
    want = reader.get_tensor(key).reshape(-1)
    buffer = np.empty(8, np.float32) if reuse else None
    pieces = [(s, v.copy()) for s, v in read_pieces(locate(prefix, key), "float32", 35, 8, buffer)]
    assert [s for s, _ in pieces] == [0, 8, 16, 24, 32]
    np.testing.assert_array_equal(np.concatenate([v for _, v in pieces]), want)


def test_what_cannot_be_read_directly_is_not_located(written, tmp_path):
    prefix, _, _ = written
    assert locate(prefix, "no/such/key") is None
    assert locate(str(tmp_path / "missing"), "w32/.ATTRIBUTES/VARIABLE_VALUE") is None
    (tmp_path / "junk.index").write_bytes(b"not a table" * 10)
    assert locate(str(tmp_path / "junk"), "w32/.ATTRIBUTES/VARIABLE_VALUE") is None


def test_sizes_and_offsets_that_disagree_are_refused(written):
    prefix, _, _ = written
    found = locate(prefix, "w32/.ATTRIBUTES/VARIABLE_VALUE")
    with pytest.raises(ValueError, match=f"stores {found.size} bytes, not 36"):
        next(read_pieces(found, "float32", 9, 4))
    with pytest.raises(ValueError, match="a buffer of 8 float32 elements is needed"):
        next(read_pieces(found, "float32", 35, 8, np.empty(4, np.float32)))
    beyond = Located(found.path, 1 << 30, found.size)
    with pytest.raises(ValueError, match="ends before the tensor's last byte"):
        list(read_pieces(beyond, "float32", 35, 8))
