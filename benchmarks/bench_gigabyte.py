"""A checkpoint of 2 GB and more, against plain TensorFlow in the same run.

    .venv/bin/python benchmarks/bench_gigabyte.py [--gb 2.2] [--repeat 3]
    CKPT_BENCH_GB=0.1 .venv/bin/python benchmarks/bench_gigabyte.py   # a quick check
    .venv/bin/python benchmarks/bench_gigabyte.py --only preview [--repeat 3]

A Keras model of an ``Embedding`` (about 46 % of the bytes: 1 GB at the default size)
and pairs of ``Dense`` layers (1024 -> 4096 -> 1024) is written with
``tf.train.Checkpoint(model=m)`` into a temporary folder, in several ``.data`` shards
(``MaxShardSizePolicy`` just above the embedding's size, so no tensor is split), and
deleted at the end. Measured, each in a fresh process so that memory figures are not
blurred by earlier work:

- listing (``open_checkpoint().variables`` vs ``list_variables`` + parsing the graph),
  ``match``, the widget's first paint on the Python side (building
  ``CheckpointWidget(model, src)`` and its rows);
- a full restore vs ``Checkpoint(model=m).read()``, a ~10 % restore vs TensorFlow's
  nested ``Checkpoint`` of the same layers, and ``report.undo()``;
- peak extra memory (``VmHWM`` after resetting it, or RSS sampled every ms) of a full
  restore with ``undo="disk"`` against TensorFlow's own full read;
- the preview and ``variable_stats`` of the embedding, read in 4 MB pieces through one
  buffer, and ``cw.compare(model, file)``, against ``CheckpointReader.get_tensor`` of it
  (wall and CPU seconds: CPU time is what a shared machine still measures).

``--only preview`` writes the embedding alone (no ``Dense`` pairs: a quicker write) and
times only the embedding's cases, ``--repeat`` times each in fresh processes, with the
load average at the start of each run: the preview against a live model of zeros and
against a random one, the explore preview without a model, ``variable_stats`` and
TensorFlow's whole read.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import shutil
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from rss import peak_extra  # benchmarks/ is on sys.path when a script runs
from timing import paired_times

HIDDEN, INNER = 1024, 4096
PAIR_BYTES = 2 * HIDDEN * INNER * 4


def sizes(gigabytes: float) -> tuple[int, int]:
    """Embedding rows and Dense pairs for about ``gigabytes`` GiB in all."""
    vocab = max(64, round(gigabytes * 0.46 * 2**30 / (HIDDEN * 4)))
    pairs = max(2, round(gigabytes * 0.54 * 2**30 / PAIR_BYTES))
    return vocab, pairs


def build(gigabytes: float, random: bool, embedding_only: bool = False):
    """The model; ``random=False`` fills it with zeros (fast: it is restored into);
    ``embedding_only``: no ``Dense`` pairs."""
    import keras

    vocab, pairs = sizes(gigabytes)
    pairs = 0 if embedding_only else pairs
    init = "uniform" if random else "zeros"
    dense = "glorot_uniform" if random else "zeros"
    inputs = keras.Input((8,), dtype="int32")
    x = keras.layers.Embedding(vocab, HIDDEN, embeddings_initializer=init, name="embedding")(inputs)
    for i in range(pairs):
        x = keras.layers.Dense(INNER, kernel_initializer=dense, name=f"up{i}")(x)
        x = keras.layers.Dense(HIDDEN, kernel_initializer=dense, name=f"down{i}")(x)
    return keras.Model(inputs, x)


def write(directory: str, gigabytes: float, embedding_only: bool, queue) -> None:
    import tensorflow as tf

    model = build(gigabytes, random=True, embedding_only=embedding_only)
    largest = max(v.numpy().nbytes for v in model.weights)
    policy = tf.train.experimental.MaxShardSizePolicy(max_shard_size=largest + (8 << 20))
    options = tf.train.CheckpointOptions(experimental_sharding_callback=policy)
    start = time.perf_counter()
    prefix = tf.train.Checkpoint(model=model).write(
        os.path.join(directory, "ckpt"), options=options
    )
    took = time.perf_counter() - start
    total = sum(v.numpy().nbytes for v in model.weights)
    queue.put((prefix, total, largest, len(model.weights), took))


# -- memory ---------------------------------------------------------------------------------

PREVIEW_RANDOM = "preview(embedding), live side random"
PREVIEW_CASES = (
    "plain get_tensor(embedding)",
    "preview(embedding)",
    PREVIEW_RANDOM,
    "explore preview(embedding), no model",
    "variable_stats(embedding)",
)


def memory_case(prefix: str, gigabytes: float, case: str, embedding_only: bool, queue) -> None:
    import tensorflow as tf

    import ckpt_widgets as cw
    from ckpt_widgets.preview.preview import preview
    from ckpt_widgets.widget.explore_rows import source_preview

    listing = cw.open_checkpoint(prefix).variables
    embedding_key = listing["key"][listing["nbytes"].idxmax()]
    if case == "plain get_tensor(embedding)":
        reader = tf.train.load_checkpoint(prefix)
        run = lambda: reader.get_tensor(embedding_key).shape  # noqa: E731
    elif case == "variable_stats(embedding)":
        src = cw.open_checkpoint(prefix)
        run = lambda: cw.variable_stats(src, [embedding_key])  # noqa: E731
    elif case == "explore preview(embedding), no model":
        src = cw.open_checkpoint(prefix)
        path = listing["path"][listing["key"] == embedding_key].iat[0]
        run = lambda: source_preview(src, path)  # noqa: E731
    else:
        random = case == PREVIEW_RANDOM
        model = build(gigabytes, random=random, embedding_only=embedding_only)
        m = cw.match(model, prefix)
        if case == "plain Checkpoint(model=m).read()":
            run = lambda: tf.train.Checkpoint(model=model).read(prefix).expect_partial()  # noqa: E731
        elif case == 'restore(undo="disk"), everything':
            run = lambda: cw.restore(model, m, undo="disk")  # noqa: E731
        elif case == "compare(model, file)":  # the embedding in pieces, the rest whole
            run = lambda: cw.compare(model, m.source)  # noqa: E731
        else:  # the preview of the embedding, with the live model's side
            path = m.table["model_path"][m.table["key"] == embedding_key].iat[0]
            run = lambda: preview(m, path)  # noqa: E731
    cpu = time.process_time()  # CPU seconds: what a loaded machine still measures
    extra, took, _ = peak_extra(run)
    queue.put((case, extra, took, time.process_time() - cpu))


# -- speed ----------------------------------------------------------------------------------


def speed(prefix: str, gigabytes: float, repeat: int, queue) -> None:
    import tensorflow as tf
    from tensorflow.core.protobuf.trackable_object_graph_pb2 import TrackableObjectGraph

    import ckpt_widgets as cw

    model = build(gigabytes, random=False)
    rows = []

    def list_baseline():
        tf.train.list_variables(prefix)
        graph = TrackableObjectGraph()
        graph.ParseFromString(
            tf.train.load_checkpoint(prefix).get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH")
        )

    ours, base = paired_times(lambda: cw.open_checkpoint(prefix).variables, list_baseline, 5)
    rows.append(("open_checkpoint().variables vs list_variables + graph", ours, base))
    src = cw.open_checkpoint(prefix)
    ours, _ = paired_times(lambda: cw.match(model, src), list_baseline, 5)
    rows.append(("match(model, src) vs the same listing", ours, base))
    ours, _ = paired_times(lambda: cw.CheckpointWidget(model, src), list_baseline, 3)
    rows.append(("widget first paint (Python: match + rows) vs listing", ours, base))

    m = cw.match(model, src)
    plain_full = lambda: tf.train.Checkpoint(model=model).read(prefix).expect_partial()  # noqa: E731
    ours, full = paired_times(lambda: cw.restore(model, m), plain_full, repeat)
    rows.append(("full restore() vs Checkpoint(model=m).read()", ours, full))

    layers = [layer for layer in model.layers if layer.weights]
    total = sum(v.numpy().nbytes for v in model.weights)
    subset, chosen = [], 0
    for layer in layers[::-1]:  # the last Dense layers, about 10 % of the bytes
        nbytes = sum(v.numpy().nbytes for v in layer.weights)
        if chosen + nbytes <= 0.1 * total or not subset:
            subset.append(layer)
            chosen += nbytes
    nested = {str(model._operations.index(layer)): layer for layer in subset}

    def plain_subset():
        node = tf.train.Checkpoint(_operations=tf.train.Checkpoint(**nested))
        tf.train.Checkpoint(model=node).read(prefix).expect_partial()

    ours, base_subset = paired_times(
        lambda: cw.restore(model, m, include=subset), plain_subset, repeat
    )
    share = f"{100 * chosen / total:.0f} %"
    rows.append((f"{share} restore vs nested Checkpoint of the same", ours, base_subset))
    rows.append((f"{share} restore vs the full plain read", ours, full))
    report = cw.restore(model, m)
    start = time.perf_counter()
    report.undo()
    rows.append(
        ("undo() of a full restore vs the full plain read", time.perf_counter() - start, full)
    )
    queue.put(rows)


def previews(prefix: str, gigabytes: float, repeat: int) -> None:
    """The embedding's cases, each ``repeat`` times in fresh processes, in turn."""
    head = f"{'extra':>8} {'wall':>7} {'CPU':>7} {'load':>5}"
    print(f"\n{'case (each in a fresh process)':40} {head}")
    for _ in range(repeat):
        for case in PREVIEW_CASES:
            load = os.getloadavg()[0]
            name, extra, seconds, cpu = in_process(memory_case, prefix, gigabytes, case, True)
            print(f"{name:40} {extra / 2**20:6.0f}MB {seconds:6.2f}s {cpu:6.2f}s {load:5.1f}")


def in_process(target, *args):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    while True:
        with contextlib.suppress(Exception):  # queue.Empty
            result = queue.get(timeout=1)
            process.join()
            return result
        if not process.is_alive():
            raise RuntimeError(f"{target.__name__}{args[1:]} failed; see above")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gb", type=float, default=float(os.environ.get("CKPT_BENCH_GB", 2.2)))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["preview"], help="only the embedding's previews")
    args = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="ckpt-bench-gb-")
    only = args.only == "preview"
    try:
        prefix, total, largest, count, took = in_process(write, directory, args.gb, only)
        shards = len([n for n in os.listdir(directory) if ".data-" in n])
        print(
            f"checkpoint: {count} variables, {total / 2**30:.2f} GiB in {shards} data files, "
            f"largest {largest / 2**20:.0f} MiB (written in {took:.0f} s)"
        )
        if only:
            previews(prefix, args.gb, args.repeat)
            return
        print(f"{'measure':58} {'ours':>9} {'plain TF':>9} {'ratio':>6}")
        for name, ours, base in in_process(speed, prefix, args.gb, args.repeat):
            print(f"{name:58} {ours * 1e3:7.0f}ms {base * 1e3:7.0f}ms {ours / base:5.2f}x")

        print(f"\n{'peak extra resident memory':40} {'extra':>10} {'time':>8} {'CPU':>8}")
        memory = {}
        for case in (
            "plain Checkpoint(model=m).read()",
            'restore(undo="disk"), everything',
            "plain get_tensor(embedding)",
            "preview(embedding)",
            "variable_stats(embedding)",
            "compare(model, file)",
        ):
            name, extra, seconds, cpu = in_process(memory_case, prefix, args.gb, case, False)
            memory[name] = extra
            print(f"{name:40} {extra / 2**20:8.0f}MB {seconds:7.2f}s {cpu:7.2f}s")
        plain = memory["plain Checkpoint(model=m).read()"]
        ours = memory['restore(undo="disk"), everything']
        print(
            f'\nrestore(undo="disk") extra memory = {ours / largest:.2f}x the largest variable '
            f"(TensorFlow's own full read: {plain / largest:.2f}x; target: at most 1.5x the "
            "largest plus TensorFlow's own)"
        )
        print(
            f"preview of the {largest / 2**20:.0f} MiB embedding: "
            f"{memory['preview(embedding)'] / 2**20:.0f} MB extra (target < 200 MB)"
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
