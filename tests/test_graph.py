"""files/graph.py directly: walks, path helpers, and a parsed object graph (built here
with TensorFlow's own TrackableObjectGraph proto, or written by tf.train.Checkpoint)."""

from __future__ import annotations

import pytest

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
