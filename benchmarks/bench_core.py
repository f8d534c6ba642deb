"""Time ckpt-widgets against plain TensorFlow on a ResNet50 checkpoint, in one run.

    .venv/bin/python benchmarks/bench_core.py [--repeat 7]

Prints the median of each measure and the ratio to its plain-TensorFlow baseline; each
measure and its baseline run in turn, so both see the same load.
"""

from __future__ import annotations

import argparse
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from timing import median_time, paired_times  # benchmarks/ is on sys.path when a script runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    import keras
    import tensorflow as tf
    from tensorflow.core.protobuf.trackable_object_graph_pb2 import TrackableObjectGraph

    import ckpt_widgets as cw

    directory = tempfile.mkdtemp(prefix="ckpt-bench-")
    saved = keras.applications.ResNet50(weights=None)
    prefix = tf.train.Checkpoint(model=saved).write(os.path.join(directory, "ckpt"))
    model = keras.applications.ResNet50(weights=None)
    size_mb = sum(v.numpy().nbytes for v in saved.weights) / 2**20
    print(f"ResNet50 checkpoint: {len(saved.weights)} variables, {size_mb:.0f} MB")

    def list_baseline():
        tf.train.list_variables(prefix)
        graph = TrackableObjectGraph()
        graph.ParseFromString(
            tf.train.load_checkpoint(prefix).get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH")
        )

    def plain_full_restore():
        tf.train.Checkpoint(model=model).read(prefix).expect_partial()

    src = cw.open_checkpoint(prefix)
    m = cw.match(model, src)
    layers = [layer for layer in model.layers if layer.weights]
    subset, total, chosen = [], sum(v.numpy().nbytes for v in model.weights), 0
    for layer in layers[::-1]:  # the last layers hold most bytes: take about 10%
        nbytes = sum(v.numpy().nbytes for v in layer.weights)
        if chosen + nbytes <= 0.1 * total:
            subset.append(layer)
            chosen += nbytes

    share = f"{100 * chosen / total:.0f}%"

    def plain_subset_restore():
        operations = {str(model._operations.index(layer)): layer for layer in subset}
        node = tf.train.Checkpoint(_operations=tf.train.Checkpoint(**operations))
        tf.train.Checkpoint(model=node).read(prefix).expect_partial()

    rows = [
        ("open_checkpoint().variables", lambda: cw.open_checkpoint(prefix).variables,
         "list_variables + parse graph", list_baseline),
        ("match(model, src)", lambda: cw.match(model, src),
         "list_variables + parse graph", list_baseline),
        ("restore() all", lambda: cw.restore(model, m),
         "Checkpoint(model=).read() all", plain_full_restore),
        (f"restore() {share} of bytes", lambda: cw.restore(model, m, include=subset),
         "Checkpoint(model=).read() all", plain_full_restore),
        (f"restore() {share} of bytes", lambda: cw.restore(model, m, include=subset),
         f"nested Checkpoint, same {share}", plain_subset_restore),
        (f"restore() {share}, undo=False", lambda: cw.restore(model, m, include=subset, undo=False),
         f"nested Checkpoint, same {share}", plain_subset_restore),
    ]  # fmt: skip
    print(f"{'measure':34} {'ours':>9} {'baseline':34} {'plain TF':>9} {'ratio':>7}")
    for name, ours, base_name, base in rows:
        t_ours, t_base = paired_times(ours, base, args.repeat)
        print(
            f"{name:34} {t_ours * 1e3:7.1f}ms {base_name:34} {t_base * 1e3:7.1f}ms "
            f"{t_ours / t_base:6.2f}x"
        )
    print_listing_profile(prefix, args.repeat)


def print_listing_profile(prefix: str, repeat: int) -> None:
    """Where open_checkpoint's time goes: finding and checking the files and reading the
    index (TensorFlow's reader), parsing and walking the object graph, building the table."""
    from ckpt_widgets.files.graph import ObjectGraph
    from ckpt_widgets.files.tf2 import TF2Source
    from ckpt_widgets.files.tf_reader import open_tensors

    stored = open_tensors(prefix)
    parts = [
        ("find + check files, read the index", lambda: open_tensors(prefix)),
        ("parse + walk the object graph", lambda: ObjectGraph.parse(stored.graph)),
        ("graph + variables table", lambda: TF2Source(stored)),
    ]
    print("open_checkpoint(), by part:")
    for name, fn in parts:
        print(f"  {name:34} {median_time(fn, repeat) * 1e3:7.1f}ms")


if __name__ == "__main__":
    main()
