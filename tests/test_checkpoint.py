"""open_checkpoint: listing by object path, files, shards, TF1 names, errors."""

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


def test_directory_opens_latest_checkpoint(functional_ckpt):
    directory, model = functional_ckpt
    src = cw.open_checkpoint(directory)
    assert src.prefix.endswith("ckpt-2")
    assert_same(src.read("model/_operations/3/_kernel"), model.get_layer("decoder").kernel.numpy())


def test_prefix_given_with_index_suffix(conv_ckpt):
    prefix, _ = conv_ckpt
    assert cw.open_checkpoint(prefix + ".index").prefix == prefix


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


def test_random_bytes_are_not_a_checkpoint(tmp_path):
    (tmp_path / "ckpt.index").write_bytes(os.urandom(300))
    (tmp_path / "ckpt.data-00000-of-00001").write_bytes(os.urandom(300))
    with pytest.raises(cw.CheckpointError, match="not a readable TensorFlow checkpoint"):
        cw.open_checkpoint(tmp_path / "ckpt")


def test_a_plain_file_is_not_a_prefix(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(cw.CheckpointError, match="not a TensorFlow checkpoint prefix"):
        cw.open_checkpoint(tmp_path / "notes.txt")


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


def test_unreadable_index(tmp_path):
    (tmp_path / "ckpt.index").mkdir()  # exists, cannot be read as a file
    (tmp_path / "ckpt.data-00000-of-00001").write_bytes(b"")
    with pytest.raises(cw.CheckpointError, match="not a readable TensorFlow checkpoint"):
        cw.open_checkpoint(tmp_path / "ckpt")
