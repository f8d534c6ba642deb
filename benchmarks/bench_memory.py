"""Peak extra memory of a partial restore (about 10% of ResNet50's bytes), per undo mode.

    .venv/bin/python benchmarks/bench_memory.py [--also 0.01,0.5,1.0] [--warm]

``--also`` measures plain TensorFlow and ``undo=False`` for other shares of the bytes
too, to tell the fixed cost of a restore from the cost per selected byte.

``--warm`` measures each case a second time in a process that has first restored one
other layer (outside the selection) the same way (plain TensorFlow for plain
TensorFlow, ``cw.restore`` for ours): the first ``RestoreV2`` of a process initialises
TensorFlow's kernels and keeps about 0.4 MB (1.5 MB with no model built before), paid
once per process by both sides. The cold figure stays the one reported first: it is
what a fresh notebook pays on its first restore.

Each measure runs in a fresh process: build the model, match, then measure the peak
resident memory above the start during one restore (``rss.peak_extra``: freed memory
handed back to the system first, then the kernel's high-water mark). Printed
against the selected bytes, and against the same subset restored by plain TensorFlow (a
nested tf.train.Checkpoint).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from rss import peak_extra_rss  # benchmarks/ is on sys.path when a script runs


def subset_of(model, share: float):
    layers = [layer for layer in model.layers if layer.weights]
    total = sum(v.numpy().nbytes for v in model.weights)
    chosen, nbytes = [], 0
    for layer in layers[::-1]:
        size = sum(v.numpy().nbytes for v in layer.weights)
        if nbytes + size <= share * total:
            chosen.append(layer)
            nbytes += size
    return chosen, nbytes


def measure(prefix: str, mode: str, share: float, queue, warm: bool = False) -> None:
    import keras
    import tensorflow as tf

    import ckpt_widgets as cw

    model = keras.applications.ResNet50(weights=None)
    layers, nbytes = subset_of(model, share)
    m = cw.match(model, prefix)
    if mode == "plain TF (no undo, no check)":

        def restore(chosen):
            node = tf.train.Checkpoint(
                model=tf.train.Checkpoint(
                    _operations=tf.train.Checkpoint(
                        **{str(model._operations.index(layer)): layer for layer in chosen}
                    )
                )
            )
            node.read(prefix).expect_partial()
    else:
        undo = {"undo in memory": True, "undo on disk": "disk", "undo off": False}[mode]

        def restore(chosen):
            return cw.restore(model, m, include=chosen, undo=undo)

    if warm:  # the first layer with weights outside the selection, restored the same way
        restore([layer for layer in model.layers if layer.weights and layer not in layers][:1])
    report = []
    queue.put((mode, nbytes, peak_extra_rss(lambda: report.append(restore(layers)))))


MODES = ["plain TF (no undo, no check)", "undo in memory", "undo on disk", "undo off"]


def main() -> None:
    import keras
    import tensorflow as tf

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--also", default="", help="other shares, e.g. 0.01,0.5,1.0")
    parser.add_argument("--warm", action="store_true", help="also after a prior restore")
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="ckpt-bench-mem-")
    saved = keras.applications.ResNet50(weights=None)
    prefix = tf.train.Checkpoint(model=saved).write(os.path.join(directory, "ckpt"))
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    cases = [(mode, 0.1, False) for mode in MODES]
    for share in filter(None, args.also.split(",")):
        cases += [(MODES[0], float(share), False), (MODES[-1], float(share), False)]
    if args.warm:
        cases += [(mode, 0.1, True) for mode in MODES]
    header = f"{'restore of a share of ResNet50':42} {'selected':>10} {'peak extra RSS':>15}"
    print(header, f"{'ratio':>6}")
    for mode, share, warm in cases:
        process = context.Process(target=measure, args=(prefix, mode, share, queue, warm))
        process.start()
        name, nbytes, extra = queue.get()
        process.join()
        name = f"{share:.0%} {name}{', warm' if warm else ''}"
        print(f"{name:42} {nbytes / 2**20:8.1f}MB {extra / 2**20:13.1f}MB {extra / nbytes:5.2f}x")


if __name__ == "__main__":
    main()
