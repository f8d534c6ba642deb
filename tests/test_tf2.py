"""The TF2 object-based source: listing by object path, reading, shards, damaged files."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

import ckpt_widgets as cw
from tests.conftest import assert_same


def test_lists_each_variable_once_under_its_model_path(net_ckpt):
    prefix, model = net_ckpt
    table = cw.open_checkpoint(prefix).variables
    assert table["key"].is_unique and table["path"].is_unique
    model_rows = table[table["group"] == "model"]
    assert sorted(model_rows["path"]) == sorted(
        [
            "model/backbone/_functional/_operations/1/_kernel",
            "model/backbone/_functional/_operations/1/bias",
            "model/backbone/_functional/_operations/2/_kernel",
            "model/backbone/_functional/_operations/2/bias",
            "model/head/_kernel",
            "model/head/bias",
        ]
    )
    # After fit, TensorFlow stores the backbone under the optimizer's key...
    kernel = model_rows.set_index("path").loc["model/backbone/_functional/_operations/1/_kernel"]
    assert kernel["key"].startswith("model/optimizer/_trainable_variables/")
    assert kernel["shape"] == (2, 4) and kernel["dtype"] == "float32"
    assert kernel["size"] == 8 and kernel["nbytes"] == 32
    # ...and the optimizer's own state is listed as optimizer.
    optimizer = table[table["group"] == "optimizer"]
    assert len(optimizer) == 2 + 2 * len(model.trainable_weights)
    assert optimizer["path"].str.startswith("model/optimizer/").all()


def test_read_by_path_alias_or_key(net_ckpt):
    prefix, model = net_ckpt
    src = cw.open_checkpoint(prefix)
    expected = model.backbone.layers[0].kernel.numpy()
    path = "model/backbone/_functional/_operations/1/_kernel"
    assert_same(src.read(path), expected)
    assert_same(src.read(src.key_of(path)), expected)
    assert_same(src.read("model/optimizer/_trainable_variables/0"), expected)
    with pytest.raises(KeyError, match="did you mean"):
        src.read("model/backbone/_functional/_operations/1/_kernl")


def test_listing_reads_no_tensor_values(net_ckpt, tf, monkeypatch):
    prefix, _ = net_ckpt
    reads: list[str] = []
    real_load = tf.compat.v1.train.NewCheckpointReader

    class CountingReader:
        def __init__(self, reader):
            self._reader = reader

        def get_tensor(self, key):
            reads.append(key)
            return self._reader.get_tensor(key)

        def __getattr__(self, name):
            return getattr(self._reader, name)

    monkeypatch.setattr(
        tf.compat.v1.train, "NewCheckpointReader", lambda p: CountingReader(real_load(p))
    )
    src = cw.open_checkpoint(prefix)
    assert len(src.variables) > 0
    assert reads == ["_CHECKPOINTABLE_OBJECT_GRAPH"]  # the graph only, no variable
    src.read("model/head/bias")
    assert reads[1:] == ["model/head/bias/.ATTRIBUTES/VARIABLE_VALUE"]


def test_truncated_data_file(net_ckpt, tmp_path):
    prefix, _ = net_ckpt
    for name in os.listdir(os.path.dirname(prefix)):
        shutil.copy(os.path.join(os.path.dirname(prefix), name), tmp_path / name)
    data = next(tmp_path.glob("ckpt.data-*"))
    data.write_bytes(data.read_bytes()[:100])
    with pytest.raises(cw.CheckpointError, match="are complete and belong together"):
        cw.open_checkpoint(str(tmp_path / "ckpt"))


def test_sharded_checkpoint(tf, tmp_path):
    variables = {f"v{i}": tf.Variable(np.full((100,), i, "float32")) for i in range(6)}
    policy = tf.train.experimental.MaxShardSizePolicy(max_shard_size=500)
    options = tf.train.CheckpointOptions(experimental_sharding_callback=policy)
    prefix = tf.train.Checkpoint(**variables).write(str(tmp_path / "ckpt"), options=options)
    assert len(list(tmp_path.glob("ckpt.data-*"))) > 1
    src = cw.open_checkpoint(prefix)
    assert sorted(src.variables["path"]) == sorted(variables)
    for name, v in variables.items():
        assert_same(src.read(name), v.numpy())
    os.remove(next(iter(sorted(tmp_path.glob("ckpt.data-*")))))
    with pytest.raises(cw.CheckpointError, match="missing its data shard"):
        cw.open_checkpoint(prefix)


def test_tf1_name_based_checkpoint(tf, tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        with tf.compat.v1.variable_scope("layer1"):
            weight = tf.compat.v1.get_variable("weight", [2, 3])
            bias = tf.compat.v1.get_variable("bias", [3])
        step = tf.compat.v1.train.get_or_create_global_step()
        loss = tf.reduce_sum(weight) + tf.reduce_sum(bias)
        train = tf.compat.v1.train.AdamOptimizer().minimize(loss, global_step=step)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            session.run(train)
            prefix = tf.compat.v1.train.Saver().save(session, str(tmp_path / "model"))
            stored = session.run(weight)
    src = cw.open_checkpoint(prefix)
    assert src.format == "tf1"
    groups = dict(zip(src.variables["path"], src.variables["group"]))
    assert groups["layer1/weight"] == "model" and groups["layer1/bias"] == "model"
    assert groups["layer1/weight/Adam"] == "optimizer" and groups["beta1_power"] == "optimizer"
    assert groups["global_step"] == "other"
    assert_same(src.read("layer1/weight"), stored)


def test_random_bytes_are_not_a_checkpoint(tmp_path):
    (tmp_path / "ckpt.index").write_bytes(os.urandom(300))
    (tmp_path / "ckpt.data-00000-of-00001").write_bytes(os.urandom(300))
    with pytest.raises(cw.CheckpointError, match="not a readable TensorFlow checkpoint"):
        cw.open_checkpoint(tmp_path / "ckpt")


def test_object_graph_with_an_edge_out_of_range(tf, tmp_path):
    from tensorflow.core.protobuf.trackable_object_graph_pb2 import TrackableObjectGraph

    graph = TrackableObjectGraph()
    root = graph.nodes.add()
    child = root.children.add()
    child.local_name, child.node_id = "model", 5
    prefix = str(tmp_path / "crafted")
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=["_CHECKPOINTABLE_OBJECT_GRAPH"],
        shape_and_slices=[""],
        tensors=[tf.constant(graph.SerializeToString())],
    )
    with pytest.raises(cw.CheckpointError, match="edge 'model' points to node 5 of 1"):
        cw.open_checkpoint(prefix)


def write_graph(tf, prefix: str, graph) -> str:
    """Save ``graph`` (a TrackableObjectGraph) with one variable ``v`` = [1, 2]."""
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=["_CHECKPOINTABLE_OBJECT_GRAPH", "v/.ATTRIBUTES/VARIABLE_VALUE"],
        shape_and_slices=["", ""],
        tensors=[tf.constant(graph.SerializeToString()), tf.constant([1.0, 2.0])],
    )
    return prefix


@pytest.mark.parametrize("slot_id", [5, -1])
def test_object_graph_with_a_slot_id_out_of_range(tf, tmp_path, slot_id):
    from tensorflow.core.protobuf.trackable_object_graph_pb2 import TrackableObjectGraph

    graph = TrackableObjectGraph()
    root, variable = graph.nodes.add(), graph.nodes.add()
    edge = root.children.add()
    edge.local_name, edge.node_id = "v", 1
    attribute = variable.attributes.add()
    attribute.name, attribute.checkpoint_key = "VARIABLE_VALUE", "v/.ATTRIBUTES/VARIABLE_VALUE"
    slot = root.slot_variables.add()  # -1 would alias the last node, the variable itself
    slot.original_variable_node_id, slot.slot_variable_node_id, slot.slot_name = 1, slot_id, "m"
    prefix = write_graph(tf, str(tmp_path / "crafted"), graph)
    with pytest.raises(cw.CheckpointError, match=f"slot 'm' of node 0 points to node {slot_id}"):
        cw.open_checkpoint(prefix)


def test_read_block_reads_the_leading_block(tf, tmp_path):
    stored = np.arange(200 * 3, dtype="float32").reshape(200, 3)
    prefix = tf.train.Checkpoint(w=tf.Variable(stored), s=tf.Variable(2.5)).write(
        str(tmp_path / "ckpt")
    )
    oracle = tf.train.load_checkpoint(prefix)
    src = cw.open_checkpoint(prefix)
    expected = oracle.get_tensor("w/.ATTRIBUTES/VARIABLE_VALUE")
    assert_same(src.read_block("w", (10, 2)), expected[:10, :2])
    assert_same(src.read_block("w", (500, 2)), expected[:, :2])  # clipped to what is stored
    assert_same(src.read_block("w", (500, 9)), expected)
    assert_same(src.read_block("s", ()), oracle.get_tensor("s/.ATTRIBUTES/VARIABLE_VALUE"))
    with pytest.raises(cw.ShapeMismatchError, match="the ranks differ"):
        src.read_block("w", (10,))


def test_tensor_declaring_more_than_the_data_files_hold(tf, tmp_path):
    prefix = str(tmp_path / "ckpt")
    tf.raw_ops.SaveV2(  # a (10, 2) slice of a declared (1000000, 2) tensor: 80 bytes stored
        prefix=prefix,
        tensor_names=["w"],
        shape_and_slices=["1000000 2 0,10:0,2"],
        tensors=[tf.ones((10, 2))],
    )
    with pytest.raises(cw.CheckpointError, match=r"'w' declares shape \(1000000, 2\)"):
        cw.open_checkpoint(prefix)


def test_a_checkpoint_written_again_after_it_was_opened_is_not_read(tf, keras, tmp_path):
    """Training writes the same prefix again while a Match (or a widget) holds it open:
    after a fit with another layer frozen, ``optimizer/_trainable_variables/0`` holds
    another layer's tensor, so the old pairing would restore ``b`` from ``a`` in silence."""

    def trained(seed, frozen):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3, name="a")])
        model.add(keras.layers.Dense(3, name="b"))
        model.get_layer(frozen).trainable = False
        model.compile("sgd", "mse")
        model.fit(np.ones((2, 3)), np.ones((2, 3)), verbose=0)
        return model

    prefix = tf.train.Checkpoint(model=trained(1, frozen="a")).write(str(tmp_path / "ckpt"))
    model = trained(2, frozen="a")
    made = cw.match(model, prefix)
    rewriter = trained(3, frozen="b")
    tf.train.Checkpoint(model=rewriter).write(prefix)
    before = [v.numpy() for v in model.weights]
    with pytest.raises(cw.RestoreError, match=r"written again after it was opened.*open it again"):
        cw.restore(model, made, include="b")
    for v, old in zip(model.weights, before):
        assert_same(v.numpy(), old)
    with pytest.raises(cw.CheckpointError, match="written again"):
        made.source.read(made.table["key"].iat[0])
    cw.restore(model, prefix, include="b")  # opened again: b gets b's new tensor
    assert_same(model.get_layer("b").kernel.numpy(), rewriter.get_layer("b").kernel.numpy())


def test_pieces_of_a_checkpoint_written_again_are_not_read(tf, keras, tmp_path):
    """The preview, statistics and compare read large tensors in pieces straight from the
    data file: a prefix written again since it was opened is refused there too."""
    first = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3, name="a")])
    prefix = tf.train.Checkpoint(model=first).write(str(tmp_path / "ckpt"))
    source = cw.open_checkpoint(prefix)
    key = source.variables["key"].iat[0]
    second = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3, name="a")])
    tf.train.Checkpoint(model=second).write(prefix)
    with pytest.raises(cw.CheckpointError, match="written again"):
        next(source.read_pieces(key, 4))
