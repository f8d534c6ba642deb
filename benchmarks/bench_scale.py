"""Listing and matching at scale, against the least work that lists a TF2 checkpoint.

    .venv/bin/python benchmarks/bench_scale.py [--gb 4] [--repeat 5]

1. A BERT-base-sized encoder (embeddings + 12 layers of attention and feed-forward,
   about 110M parameters, 440 MB).
2. A synthetic checkpoint of 10 000 variables and ``--gb`` GB in several shards.
3. ``match()`` of a 10 000-variable Keras model against its own checkpoint.
Baseline for listing: ``tf.train.list_variables`` plus parsing the object graph.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))  # for tests.bigmodel

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from timing import median_time  # benchmarks/ is on sys.path when a script runs


def bert_sized(tf):
    """tf.Module tree with BERT-base's variable shapes."""
    hidden, inner, vocab = 768, 3072, 30522

    def dense(n_in, n_out):
        module = tf.Module()
        module.kernel = tf.Variable(tf.zeros((n_in, n_out)))
        module.bias = tf.Variable(tf.zeros((n_out,)))
        return module

    def norm():
        module = tf.Module()
        module.gamma = tf.Variable(tf.ones((hidden,)))
        module.beta = tf.Variable(tf.zeros((hidden,)))
        return module

    encoder = tf.Module()
    encoder.word_embeddings = tf.Variable(tf.zeros((vocab, hidden)))
    encoder.position_embeddings = tf.Variable(tf.zeros((512, hidden)))
    encoder.type_embeddings = tf.Variable(tf.zeros((2, hidden)))
    encoder.embeddings_norm = norm()
    encoder.layers = []
    for _ in range(12):
        layer = tf.Module()
        layer.query, layer.key, layer.value = (dense(hidden, hidden) for _ in range(3))
        layer.attention_output = dense(hidden, hidden)
        layer.attention_norm = norm()
        layer.intermediate = dense(hidden, inner)
        layer.output = dense(inner, hidden)
        layer.output_norm = norm()
        encoder.layers.append(layer)
    encoder.pooler = dense(hidden, hidden)
    return encoder


def synthetic(tf, gigabytes: float, count: int = 10_000):
    """``count`` variables in 100 modules of 100, ``gigabytes`` in all."""
    per_variable = int(gigabytes * 2**30 / 4 / count)
    root = tf.Module()
    for m in range(count // 100):
        module = tf.Module()
        for v in range(100):
            setattr(module, f"w{v}", tf.Variable(tf.zeros((per_variable,))))
        setattr(root, f"block{m}", module)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gb", type=float, default=4.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import tensorflow as tf
    from tensorflow.core.protobuf.trackable_object_graph_pb2 import TrackableObjectGraph

    import ckpt_widgets as cw

    directory = tempfile.mkdtemp(prefix="ckpt-bench-scale-")

    def baseline(prefix):
        def run():
            tf.train.list_variables(prefix)
            graph = TrackableObjectGraph()
            graph.ParseFromString(
                tf.train.load_checkpoint(prefix).get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH")
            )

        return run

    rows = []
    encoder = bert_sized(tf)
    params = sum(int(tf.size(v)) for v in encoder.trainable_variables)
    prefix = tf.train.Checkpoint(model=encoder).write(os.path.join(directory, "bert"))
    del encoder
    rows.append((f"BERT-base-sized ({params / 1e6:.0f}M params)", prefix))

    policy = tf.train.experimental.MaxShardSizePolicy(max_shard_size=2**30)
    options = tf.train.CheckpointOptions(experimental_sharding_callback=policy)
    big = synthetic(tf, args.gb)
    start = time.perf_counter()
    prefix = tf.train.Checkpoint(model=big).write(os.path.join(directory, "big"), options=options)
    shards = len(tf.io.gfile.glob(prefix + ".data-*"))
    print(f"wrote {args.gb:g} GB in {shards} shards in {time.perf_counter() - start:.0f} s")
    del big
    rows.append((f"synthetic 10 000 variables, {args.gb:g} GB", prefix))

    print(f"{'open_checkpoint().variables':44} {'ours':>9} {'baseline':>9} {'ratio':>6}")
    for name, prefix in rows:
        ours = median_time(lambda p=prefix: cw.open_checkpoint(p).variables, args.repeat)
        base = median_time(baseline(prefix), args.repeat)
        print(f"{name:44} {ours * 1e3:7.1f}ms {base * 1e3:7.1f}ms {ours / base:5.1f}x")

    from tests.bigmodel import big_model

    model = big_model()
    prefix = tf.train.Checkpoint(model=model).write(os.path.join(directory, "keras10k"))
    src = cw.open_checkpoint(prefix)
    ours = median_time(lambda: cw.match(model, src), args.repeat)
    print(f"{'match(): 10 000 Keras variables each side':44} {ours * 1e3:7.1f}ms")


if __name__ == "__main__":
    main()
