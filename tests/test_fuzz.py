"""Fuzzing: random and corrupted files raise the package's own errors, never anything else;
files that are valid (also after a mutation that keeps them valid) open and read the values
TensorFlow's reader or h5py reads."""

from __future__ import annotations

import contextlib
import itertools
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ckpt_widgets as cw
from tests.conftest import assert_same

counter = itertools.count()
FUZZ = settings(
    max_examples=int(os.environ.get("CKPT_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
X_KEY = "x/.ATTRIBUTES/VARIABLE_VALUE"


@pytest.fixture(scope="module")
def valid_graph(tf, tmp_path_factory):
    from tests import models

    prefix = tf.train.Checkpoint(model=models.net(seed=1)).write(
        str(tmp_path_factory.mktemp("fuzz") / "ckpt")
    )
    return tf.train.load_checkpoint(prefix).get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH")


def write_graph(tf, directory, graph_bytes: bytes) -> str:
    prefix = str(directory / f"g{next(counter)}")
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=["_CHECKPOINTABLE_OBJECT_GRAPH", X_KEY],
        shape_and_slices=["", ""],
        tensors=[tf.constant(graph_bytes), tf.constant([1.0, 2.0])],
    )
    return prefix


def graph_is_valid(graph_bytes: bytes) -> bool:
    """What protobuf says: the bytes parse, there is a root, every node id is in range."""
    from tensorflow.core.protobuf.trackable_object_graph_pb2 import TrackableObjectGraph

    graph = TrackableObjectGraph()
    try:
        graph.ParseFromString(graph_bytes)
    except Exception:
        return False
    count = len(graph.nodes)
    ids = [c.node_id for n in graph.nodes for c in n.children] + [
        i
        for n in graph.nodes
        for s in n.slot_variables
        for i in (s.original_variable_node_id, s.slot_variable_node_id)
    ]
    return count > 0 and all(0 <= i < count for i in ids)


def opens_iff_valid(tf, prefix: str, graph_bytes: bytes) -> None:
    """A valid graph opens and reads what TensorFlow reads; an invalid one is refused."""
    if not graph_is_valid(graph_bytes):
        with pytest.raises(cw.CheckpointError):
            cw.open_checkpoint(prefix)
        return
    src = cw.open_checkpoint(prefix)
    assert X_KEY in set(src.variables["key"])  # the stored tensor is listed, however named
    oracle = tf.train.load_checkpoint(prefix)
    for path, key in zip(src.variables["path"], src.variables["key"]):
        assert_same(src.read(path), oracle.get_tensor(key))


@FUZZ
@given(graph_bytes=st.binary(max_size=300))
def test_random_object_graphs(tf, tmp_path, graph_bytes):
    opens_iff_valid(tf, write_graph(tf, tmp_path, graph_bytes), graph_bytes)


@FUZZ
@given(data=st.data())
def test_corrupted_object_graphs(tf, tmp_path, valid_graph, data):
    graph = bytearray(valid_graph)
    for _ in range(data.draw(st.integers(1, 8))):
        graph[data.draw(st.integers(0, len(graph) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(graph)))
    opens_iff_valid(tf, write_graph(tf, tmp_path, bytes(graph[:cut])), bytes(graph[:cut]))


NAMES = st.sampled_from(["model", "optimizer", "backbone", "_kernel", "bias", "0", "1", "a.b"])


@st.composite
def object_graphs(draw):
    """A valid object graph: random named edges between 1-8 nodes, ``x`` on some nodes."""
    from tensorflow.core.protobuf.trackable_object_graph_pb2 import TrackableObjectGraph

    count = draw(st.integers(1, 8))
    graph = TrackableObjectGraph()
    for _ in range(count):
        node = graph.nodes.add()
        for name in draw(st.lists(NAMES, max_size=3, unique=True)):
            edge = node.children.add()
            edge.local_name, edge.node_id = name, draw(st.integers(0, count - 1))
        if draw(st.booleans()):
            attribute = node.attributes.add()
            attribute.name, attribute.checkpoint_key = "VARIABLE_VALUE", X_KEY
    return graph


def follow(graph, path: str) -> int | None:
    """The node ``path`` reaches from the root through ``graph``'s edges, or None."""
    node = 0
    for name in path.split("/") if path else []:
        edges = {c.local_name: c.node_id for c in graph.nodes[node].children}
        if name not in edges:
            return None
        node = edges[name]
    return node


@FUZZ
@given(graph=object_graphs())
def test_valid_object_graphs_open_and_name_real_paths(tf, tmp_path, graph):
    graph_bytes = graph.SerializeToString()
    prefix = write_graph(tf, tmp_path, graph_bytes)
    opens_iff_valid(tf, prefix, graph_bytes)
    src = cw.open_checkpoint(prefix)
    for path, node in zip(src.variables["path"], src.variables["node_id"]):
        if node >= 0:  # named through the graph: the path leads to a node storing x
            reached = follow(graph, path)
            assert reached is not None
            assert X_KEY in {a.checkpoint_key for a in graph.nodes[reached].attributes}


def readable_by_tf(tf, prefix: str) -> dict | None:
    """Every tensor TensorFlow's reader reads from ``prefix``, or None if it cannot open it
    or read all of them."""
    try:
        reader = tf.train.load_checkpoint(prefix)
        return {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map()}
    except Exception:
        return None


@FUZZ
@given(index=st.binary(min_size=1, max_size=400))
def test_random_index_files(tf, tmp_path, index):
    name = f"r{next(counter)}"
    (tmp_path / f"{name}.index").write_bytes(index)
    (tmp_path / f"{name}.data-00000-of-00001").write_bytes(b"\0" * 64)
    prefix = str(tmp_path / name)
    expected = readable_by_tf(tf, prefix)
    try:
        src = cw.open_checkpoint(prefix)
    except cw.CheckpointError:
        return
    for key in src.variables["key"]:
        if expected is None:  # TensorFlow fails somewhere: ours reads or says why
            with contextlib.suppress(cw.CheckpointError):
                src.read(key)
        else:
            assert_same(src.read(key), expected[key])


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


def h5py_values(path, keys) -> dict:
    """What h5py reads for each of ``keys`` in ``path`` (None where it cannot read it)."""
    import h5py

    values: dict = dict.fromkeys(keys)
    try:
        with h5py.File(path, "r") as f:
            for key in keys:
                with contextlib.suppress(Exception):
                    values[key] = f[key][()]
    except Exception:
        pass
    return values


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
    except cw.CheckpointError:
        return
    expected = h5py_values(path, list(src.variables["key"]))
    for key, value in expected.items():
        if value is None:
            with pytest.raises(cw.CheckpointError):
                src.read(key)
        else:
            assert_same(src.read(key), value)


@pytest.fixture(scope="module")
def data_regions(valid_weights, tmp_path_factory):
    """``(offset, size)`` in the file of each listed dataset's stored values."""
    import h5py

    path = tmp_path_factory.mktemp("regions") / "w.weights.h5"
    path.write_bytes(valid_weights)
    keys = cw.open_checkpoint(path).variables["key"]
    with h5py.File(path, "r") as f:
        regions = [(f[k].id.get_offset(), f[k].id.get_storage_size()) for k in keys]
    return [(offset, size) for offset, size in regions if size and offset is not None]


@FUZZ
@given(data=st.data())
def test_weight_files_with_changed_values_read_as_h5py_reads_them(
    tmp_path, valid_weights, data_regions, data
):
    """Changing stored values keeps a file valid: it must open and read the new values."""
    blob = bytearray(valid_weights)
    for _ in range(data.draw(st.integers(1, 8))):
        offset, size = data.draw(st.sampled_from(data_regions))
        blob[offset + data.draw(st.integers(0, size - 1))] = data.draw(st.integers(0, 255))
    path = tmp_path / f"v{next(counter)}.weights.h5"
    path.write_bytes(bytes(blob))
    src = cw.open_checkpoint(path)
    assert len(src.variables) > 0
    for key, value in h5py_values(path, list(src.variables["key"])).items():
        assert_same(src.read(key), value)
