"""Peak extra memory of a partial restore (about 10% of ResNet50's bytes), per undo mode.

    .venv/bin/python benchmarks/bench_memory.py

Each measure runs in a fresh process: build the model, match, then measure the peak
resident memory above the start during one restore (``rss.peak_extra``: freed memory
handed back to the system first, then the kernel's high-water mark). Printed
against the selected bytes, and against the same subset restored by plain TensorFlow (a
nested tf.train.Checkpoint).
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from rss import peak_extra_rss  # benchmarks/ is on sys.path when a script runs


def subset_of(model):
    layers = [layer for layer in model.layers if layer.weights]
    total = sum(v.numpy().nbytes for v in model.weights)
    chosen, nbytes = [], 0
    for layer in layers[::-1]:
        size = sum(v.numpy().nbytes for v in layer.weights)
        if nbytes + size <= 0.1 * total:
            chosen.append(layer)
            nbytes += size
    return chosen, nbytes


def measure(prefix: str, mode: str, queue) -> None:
    import keras
    import tensorflow as tf

    import ckpt_widgets as cw

    model = keras.applications.ResNet50(weights=None)
    layers, nbytes = subset_of(model)
    m = cw.match(model, prefix)
    if mode == "plain TF (no undo, no check)":

        def run():
            node = tf.train.Checkpoint(
                model=tf.train.Checkpoint(
                    _operations=tf.train.Checkpoint(
                        **{str(model._operations.index(layer)): layer for layer in layers}
                    )
                )
            )
            node.read(prefix).expect_partial()
    else:
        undo = {"undo in memory": True, "undo on disk": "disk", "undo off": False}[mode]

        def run():
            run.report = cw.restore(model, m, include=layers, undo=undo)

    queue.put((mode, nbytes, peak_extra_rss(run)))


def main() -> None:
    import keras
    import tensorflow as tf

    directory = tempfile.mkdtemp(prefix="ckpt-bench-mem-")
    saved = keras.applications.ResNet50(weights=None)
    prefix = tf.train.Checkpoint(model=saved).write(os.path.join(directory, "ckpt"))
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    modes = ["plain TF (no undo, no check)", "undo in memory", "undo on disk", "undo off"]
    header = f"{'restore of ~10% of ResNet50':32} {'selected':>10} {'peak extra RSS':>15}"
    print(header, f"{'ratio':>6}")
    for mode in modes:
        process = context.Process(target=measure, args=(prefix, mode, queue))
        process.start()
        name, nbytes, extra = queue.get()
        process.join()
        print(f"{name:32} {nbytes / 2**20:8.1f}MB {extra / 2**20:13.1f}MB {extra / nbytes:5.2f}x")


if __name__ == "__main__":
    main()
