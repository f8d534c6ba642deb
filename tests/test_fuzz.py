"""Fuzzing: random and corrupted bytes raise the package's own errors, never anything else."""

from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ckpt_widgets as cw

counter = itertools.count()
FUZZ = settings(
    max_examples=int(os.environ.get("CKPT_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def valid_graph(tf, tmp_path_factory):
    from tests import models

    prefix = tf.train.Checkpoint(model=models.net(seed=1)).write(
        str(tmp_path_factory.mktemp("fuzz") / "ckpt")
    )
    return cw.open_checkpoint(prefix).reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH")


def write_graph(tf, directory, graph_bytes: bytes) -> str:
    prefix = str(directory / f"g{next(counter)}")
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=["_CHECKPOINTABLE_OBJECT_GRAPH", "x/.ATTRIBUTES/VARIABLE_VALUE"],
        shape_and_slices=["", ""],
        tensors=[tf.constant(graph_bytes), tf.constant([1.0, 2.0])],
    )
    return prefix


def open_or_own_error(prefix: str) -> None:
    try:
        src = cw.open_checkpoint(prefix)
    except cw.CheckpointError:
        return
    assert len(src.variables) >= 1  # whatever parsed, the stored tensor is listed


@FUZZ
@given(graph_bytes=st.binary(max_size=300))
def test_random_object_graphs(tf, tmp_path, graph_bytes):
    open_or_own_error(write_graph(tf, tmp_path, graph_bytes))


@FUZZ
@given(data=st.data())
def test_corrupted_object_graphs(tf, tmp_path, valid_graph, data):
    graph = bytearray(valid_graph)
    for _ in range(data.draw(st.integers(1, 8))):
        graph[data.draw(st.integers(0, len(graph) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(graph)))
    open_or_own_error(write_graph(tf, tmp_path, bytes(graph[:cut])))


@FUZZ
@given(index=st.binary(min_size=1, max_size=400))
def test_random_index_files(tmp_path, index):
    name = f"r{next(counter)}"
    (tmp_path / f"{name}.index").write_bytes(index)
    (tmp_path / f"{name}.data-00000-of-00001").write_bytes(b"\0" * 64)
    open_or_own_error(str(tmp_path / name))


@pytest.fixture(scope="module", params=["keras3.weights.h5", "legacy.h5"])
def valid_weights(request, tmp_path_factory):
    """A Keras 3 weights file, and a legacy h5 file (the layout Keras 2 wrote)."""
    from tests import models

    path = tmp_path_factory.mktemp("fuzz_h5") / request.param
    if request.param == "legacy.h5":
        models.functional(seed=2).save(str(path))
    else:
        models.net(seed=2).save_weights(str(path))
    return path.read_bytes()


@FUZZ
@given(data=st.data())
def test_corrupted_keras_weight_files(tmp_path, valid_weights, data):
    blob = bytearray(valid_weights)
    for _ in range(data.draw(st.integers(1, 16))):
        blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(blob)))
    path = tmp_path / f"w{next(counter)}.weights.h5"
    path.write_bytes(bytes(blob[:cut]))
    try:
        src = cw.open_checkpoint(path)
        for key in src.variables["key"]:
            src.read(key)
    except cw.CheckpointError:
        pass
