"""Every source satisfies the CheckpointSource protocol, and the same calls give the same
answers whatever the format: checked against tf.train.load_checkpoint, h5py and the
writer's own values, never against ckpt_widgets."""

from __future__ import annotations

import numpy as np
import pytest

import ckpt_widgets as cw
from tests import exact
from tests.conftest import assert_same

KERAS3 = ("checkpoint", "weights.h5", "keras")
EVERY = (*KERAS3, "tf1", "keras2")


def oracle(paths: dict[str, str], stored: dict[str, dict], fmt: str):
    """Reads a key of ``fmt``'s file the way the writer or the format's own library does."""
    if fmt in stored:
        return stored[fmt].__getitem__
    return exact.stored_reader(paths[fmt])


@pytest.mark.parametrize("fmt", EVERY)
def test_every_source_satisfies_the_protocol(every_format, fmt):
    paths, _, _ = every_format
    src = cw.open_checkpoint(paths[fmt])
    assert isinstance(src, cw.CheckpointSource)
    assert {"path", "key", "shape", "dtype", "size", "nbytes", "group", "node_id"} <= set(
        src.variables.columns
    )
    assert src.pairs_by in ("path", "name", "layer", "structure")


@pytest.mark.parametrize("fmt", EVERY)
def test_reads_agree_with_the_formats_own_reader(every_format, fmt):
    paths, _, stored = every_format
    src, read = cw.open_checkpoint(paths[fmt]), oracle(paths, stored, fmt)
    rows = src.variables[src.variables["group"] == "model"]
    assert len(rows)
    keys = rows["key"].tolist()
    for path, key, shape, dtype, nbytes in zip(
        rows["path"], keys, rows["shape"], rows["dtype"], rows["nbytes"]
    ):
        expected = read(key)
        assert (shape, dtype, nbytes) == (expected.shape, expected.dtype.name, expected.nbytes)
        assert_same(src.read(path), expected)
        assert_same(src.read(key), expected)
        half = tuple((n + 1) // 2 for n in shape)
        assert_same(src.read_block(key, half), expected[tuple(slice(0, n) for n in half)])
        assert isinstance(src.layer_of(path), str)
    for key, value in zip(keys, src.read_tensors(keys)):
        assert_same(np.asarray(value), read(key))


def test_one_model_in_every_keras3_format_gives_the_same_tables(every_format):
    """The same model written three ways: the same variables (shape, dtype, size, bytes)
    holding the same values, those of the writer model."""
    paths, model, _ = every_format
    expected = sorted((tuple(w.shape), w.numpy().tobytes()) for w in model.weights)
    tables = {}
    for fmt in KERAS3:
        src = cw.open_checkpoint(paths[fmt])
        rows = src.variables[src.variables["group"] == "model"]
        tables[fmt] = sorted(
            zip(rows["shape"], rows["dtype"], rows["size"], rows["nbytes"], strict=True)
        )
        values = sorted((s, src.read(k).tobytes()) for s, k in zip(rows["shape"], rows["key"]))
        assert values == expected
    assert tables["checkpoint"] == tables["weights.h5"] == tables["keras"]


@pytest.mark.parametrize("fmt", EVERY)
def test_reader_code_reads_what_the_source_reads(every_format, tf, fmt):
    """``reader_code`` + ``read_code``, the parts of ``report.code`` that read the file, run
    as printed and give the stored values."""
    paths, _, stored = every_format
    src, read = cw.open_checkpoint(paths[fmt]), oracle(paths, stored, fmt)
    imports, opening = src.reader_code()
    namespace = {"tf": tf}
    exec("\n".join([*imports, *opening]), namespace)
    assert opening[0].startswith("# ")
    for key in src.variables["key"]:
        assert_same(eval(src.read_code(key), namespace), read(key))


@pytest.mark.parametrize("fmt", ["tf1", "weights.h5", "keras2"])
def test_a_source_without_object_graph_resolves_nothing(every_format, fmt):
    paths, _, _ = every_format
    src = cw.open_checkpoint(paths[fmt])
    path = src.variables["path"].iloc[0]
    assert src.object_graph is None
    assert src.resolve(path) is None and src.resolve("") is None
    assert not src.is_variable(0) and src.object_paths() == []


@pytest.mark.parametrize("fmt", EVERY)
def test_variables_are_typed_as_pandas_infers_them(every_format, fmt):
    """The table built column by column has the dtypes pandas gives the same rows."""
    import pandas as pd

    paths, _, _ = every_format
    table = cw.open_checkpoint(paths[fmt]).variables
    pd.testing.assert_frame_equal(table, pd.DataFrame(table.to_dict("records")))
