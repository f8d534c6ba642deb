"""files/graph.py directly: walks, path helpers, and a parsed object graph (built here
with TensorFlow's own TrackableObjectGraph proto, or written by tf.train.Checkpoint)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ckpt_widgets.files.graph import GraphError, ObjectGraph, is_under, join, relative, walk

EDGES = {
    "root": [("model", "m"), ("optimizer", "opt")],
    "m": [("block", "b")],
    "b": [("dense", "d")],
    "d": [("kernel", "k")],
    "opt": [("_trainable_variables", "tv"), ("_momentums", "mo")],
    "tv": [("0", "k")],
    "mo": [("0", "slot")],
    "k": [],
    "slot": [],
}


def test_walk_names_each_node_by_its_shortest_path_optimizer_last():
    result = walk("root", lambda n: EDGES[n], lambda name, _: name == "optimizer")
    assert result.paths == {
        "root": "",
        "m": "model",
        "b": "model/block",
        "d": "model/block/dense",
        "k": "model/block/dense/kernel",  # not optimizer/_trainable_variables/0, though shorter
        "opt": "optimizer",
        "tv": "optimizer/_trainable_variables",
        "mo": "optimizer/_momentums",
        "slot": "optimizer/_momentums/0",
    }
    assert result.deferred == {"opt", "tv", "mo", "slot"}
    assert list(result.paths)[:5] == ["root", "m", "b", "d", "k"]  # breadth-first


def test_walk_without_deferred_edges_takes_the_shortest_path():
    result = walk("root", lambda n: EDGES[n], lambda name, child: False)
    assert result.paths["k"] == "optimizer/_trainable_variables/0"
    assert result.deferred == set()


def test_walk_survives_cycles():
    edges = {"a": [("b", "b")], "b": [("back", "a"), ("c", "c")], "c": [("b", "b")]}
    result = walk("a", lambda n: edges[n], lambda name, child: False)
    assert result.paths == {"a": "", "b": "b", "c": "b/c"}


@pytest.mark.parametrize(
    ("path", "prefix", "under", "rel"),
    [
        ("model/dense/kernel", "model", True, "dense/kernel"),
        ("model", "model", True, ""),
        ("model2/x", "model", False, None),
        ("anything", "", True, "anything"),
    ],
)
def test_is_under_and_relative(path, prefix, under, rel):
    assert is_under(path, prefix) is under
    if under:
        assert relative(path, prefix) == rel
        assert join(prefix, rel) == path


def test_join_skips_empty_parts():
    assert join("", "a", "", "b") == "a/b"
    assert join() == ""


def proto(tf, nodes):
    """A serialized TrackableObjectGraph: ``nodes`` is a list of (edges, key or None)."""
    from tensorflow.core.protobuf.trackable_object_graph_pb2 import TrackableObjectGraph

    graph = TrackableObjectGraph()
    for edges, key in nodes:
        node = graph.nodes.add()
        for name, child in edges:
            ref = node.children.add()
            ref.local_name, ref.node_id = name, child
        if key is not None:
            attribute = node.attributes.add()
            attribute.name, attribute.checkpoint_key = "VARIABLE_VALUE", key
    return graph.SerializeToString()


def test_parse_names_variables_through_the_model(tf):
    data = proto(
        tf,
        [
            ([("model", 1), ("optimizer", 3)], None),  # 0: root
            ([("kernel", 2)], None),  # 1: model
            ([], "optimizer/_trainable_variables/0/.ATTRIBUTES/VARIABLE_VALUE"),  # 2
            ([("_trainable_variables", 4)], None),  # 3: optimizer
            ([("0", 2)], None),  # 4
        ],
    )
    graph = ObjectGraph.parse(data)
    assert graph.paths[2] == "model/kernel"
    assert graph.deferred == {3, 4}
    assert graph.resolve("model/kernel") == 2
    assert graph.resolve("optimizer/_trainable_variables/0") == 2
    assert graph.resolve("") == 0 and graph.resolve("model/nothing") is None
    assert graph.variable_key(2).startswith("optimizer/_trainable_variables/0/")
    assert graph.variable_key(1) is None
    assert graph.saveable_descendants(0) == {2} and graph.saveable_descendants(4) == {2}
    assert graph.depth_first(0) == {0: 0, 1: 1, 2: 2, 3: 3, 4: 4}


def test_parse_matches_tensorflows_own_keys(tf, tmp_path):
    """Every variable TensorFlow wrote is found at its key, under the path we name it by."""
    layer = tf.Module()
    layer.kernel = tf.Variable([[1.0, 2.0]])
    layer.bias = tf.Variable([3.0])
    prefix = tf.train.Checkpoint(net=layer).write(str(tmp_path / "ckpt"))
    reader = tf.train.load_checkpoint(prefix)
    graph = ObjectGraph.parse(reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    keys = {graph.paths[n]: graph.variable_key(n) for n in graph.paths}
    assert keys["net/kernel"] == "net/kernel/.ATTRIBUTES/VARIABLE_VALUE"
    assert keys["net/bias"] == "net/bias/.ATTRIBUTES/VARIABLE_VALUE"
    assert set(reader.get_variable_to_shape_map()) >= {keys["net/kernel"], keys["net/bias"]}


@pytest.mark.parametrize(
    ("nodes", "problem"),
    [
        ([([("model", 5)], None)], r"is corrupt \(edge 'model' points to node 5 of 1\)"),
        ([([("model", -1)], None)], r"is corrupt \(edge 'model' points to node -1 of 1\)"),
        ([], "is empty"),
    ],
)
def test_parse_refuses_a_graph_that_contradicts_itself(tf, nodes, problem):
    with pytest.raises(GraphError, match=problem):
        ObjectGraph.parse(proto(tf, nodes))


def test_parse_refuses_bytes_that_are_no_graph(tf):
    with pytest.raises(GraphError, match="is corrupt; the checkpoint cannot be used"):
        ObjectGraph.parse(b"\xff\xff\xff")


def test_parse_keeps_tensorflows_slot_records_and_full_names(tf, tmp_path):
    """What names.py reads from the graph: TensorFlow's own slot records (checked against
    the optimizer's slots, by value) and the writer's names of the variables."""
    v = tf.Variable([1.0, 2.0, 3.0], name="weight")
    opt = tf.compat.v1.train.AdamOptimizer(0.1)
    opt.minimize(lambda: tf.reduce_sum(v * v), var_list=[v])
    prefix = tf.train.Checkpoint(weight=v, opt=opt).write(str(tmp_path / "ckpt"))
    reader = tf.train.load_checkpoint(prefix)
    graph = ObjectGraph.parse(reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    weight = graph.resolve("weight")
    assert {name for _, original, _, name in graph.slots if original == weight} == {"m", "v"}
    for optimizer, _, slot, name in graph.slots:
        assert optimizer == graph.resolve("opt")
        stored = reader.get_tensor(graph.variable_key(slot))
        assert stored.tobytes() == opt.get_slot(v, name).numpy().tobytes()
    assert graph.full_name(weight) == "weight"
    assert graph.full_name(0) == ""


# -- the graph read as columns (files/graph_columns.py) against the proto field by field --


def exact_parse(data):
    """The graph read field by field from the proto, the columns never tried."""
    from unittest import mock

    from ckpt_widgets.files import graph

    with mock.patch.object(graph, "read_flat", return_value=None):
        return ObjectGraph.parse(data)


def assert_same_graph(data):
    """``ObjectGraph.parse`` reads ``data`` as the exact proto read does, in every field
    and in order; returns whether it took the columns."""
    fast, exact = ObjectGraph.parse(data), exact_parse(data)
    assert list(fast.paths.items()) == list(exact.paths.items())
    assert fast.deferred == exact.deferred
    assert fast.slots == exact.slots
    assert [list(c.items()) for c in fast.children] == [list(c.items()) for c in exact.children]
    assert [dict(a) for a in fast.attributes] == [dict(a) for a in exact.attributes]
    assert fast.variable_keys() == exact.variable_keys()
    for node in range(len(exact.children)):
        assert fast.variable_key(node) == exact.variable_key(node)
        assert fast.full_name(node) == exact.full_name(node)
    return fast._flat is not None


def test_columns_read_written_checkpoints_as_the_proto_does(tf, net_ckpt, functional_ckpt):
    """A fitted model with its optimizer state (Checkpoint) and a CheckpointManager file:
    the columns are used, and graph and listing are the exact read's, every column and
    dtype."""
    from unittest import mock

    import pandas as pd

    import ckpt_widgets as cw
    from ckpt_widgets.files import graph

    for path in (net_ckpt[0], functional_ckpt[0]):
        prefix = tf.train.latest_checkpoint(path) or path
        data = tf.train.load_checkpoint(prefix).get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH")
        assert assert_same_graph(data)
        with mock.patch.object(graph, "read_flat", return_value=None):
            exact = cw.open_checkpoint(path).variables
        pd.testing.assert_frame_equal(cw.open_checkpoint(path).variables, exact, check_exact=True)


@pytest.mark.parametrize(
    "nodes",
    [
        [([("model", 1), ("back", 0)], None), ([], "k")],  # an edge to the root: id 0 left out
        [([("", 1)], None), ([], "k")],  # an empty edge name: left out
        [([("a", 1), ("a", 2)], None), ([], "k1"), ([], "k2")],  # a repeated edge name
        [([("a", 1)], None), ([], "")],  # an empty key
    ],
)
def test_columns_refuse_what_they_cannot_line_up_and_the_proto_reads_it(tf, nodes):
    data = proto(tf, nodes)
    assert not assert_same_graph(data)


def test_columns_leave_slot_records_to_the_proto(tf, tmp_path):
    v = tf.Variable([1.0, 2.0, 3.0], name="weight")
    opt = tf.compat.v1.train.AdamOptimizer(0.1)
    opt.minimize(lambda: tf.reduce_sum(v * v), var_list=[v])
    prefix = tf.train.Checkpoint(weight=v, opt=opt).write(str(tmp_path / "ckpt"))
    data = tf.train.load_checkpoint(prefix).get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH")
    assert not assert_same_graph(data)


def test_columns_refuse_bytes_not_in_canonical_order(tf):
    """A node storing its attribute before its edge (a valid proto that TensorFlow never
    writes): the exact read takes it."""
    child = b"\x0a\x05\x08\x01\x12\x01a"  # children { node_id: 1 local_name: "a" }
    attribute = b"\x12\x05\x1a\x03key"  # attributes { checkpoint_key: "key" }
    root = attribute + child
    data = b"\x0a" + bytes([len(root)]) + root + b"\x0a\x00"
    assert not assert_same_graph(data)
    assert ObjectGraph.parse(data).paths == {0: "", 1: "a"}


TEXT = ["a", "b", "optimizer", "_trainable_variables", "iter", "é", "x" * 130]


@st.composite
def graphs(draw):
    """A serialized TrackableObjectGraph of up to 8 nodes written by TensorFlow's proto:
    edges anywhere (cycles, repeated names), attributes (repeated, long, non-ASCII). Half
    the graphs also hold what the columns leave to the proto: edges to the root, empty
    names or keys, slot records; ``has_checkpoint_values`` or not."""
    from tensorflow.core.protobuf.trackable_object_graph_pb2 import TrackableObjectGraph

    rough = draw(st.booleans())
    names = st.sampled_from([*TEXT, ""] if rough else TEXT)
    count = draw(st.integers(1, 8))
    ids = st.integers(0 if rough or count == 1 else 1, count - 1)
    graph = TrackableObjectGraph()
    for _ in range(count):
        node = graph.nodes.add()
        for name, child in draw(st.lists(st.tuples(names, ids), max_size=4)):
            ref = node.children.add()
            ref.local_name, ref.node_id = name, child
        kinds = st.sampled_from(["VARIABLE_VALUE", "OTHER"])
        for name, key in draw(st.lists(st.tuples(kinds, names), max_size=2)):
            attribute = node.attributes.add()
            attribute.name, attribute.checkpoint_key, attribute.full_name = name, key, key[:3]
        if rough and draw(st.integers(0, 4)) == 0:
            slot = node.slot_variables.add()
            slot.original_variable_node_id = draw(st.integers(0, count - 1))
            slot.slot_variable_node_id = draw(st.integers(0, count - 1))
            slot.slot_name = "m"
        if draw(st.booleans()):
            node.has_checkpoint_values.value = draw(st.booleans())
    return graph.SerializeToString()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=graphs())
def test_columns_read_random_graphs_as_the_proto_does(tf, data):
    assert_same_graph(data)
