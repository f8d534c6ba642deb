"""Time cw.compare on two ResNet50 checkpoints against reading both files, in one run.

    .venv/bin/python benchmarks/bench_compare.py [--repeat 5]

Writes ResNet50 (weights=None) once, then (1) the same model with about 10 % of its
variables perturbed and (2) a second, independently initialised ResNet50 (every variable
changed: the most arithmetic). The baseline reads every tensor of both files with
``CheckpointReader.get_tensor``, one pair at a time (the least work any comparison does).
Prints the medians, the ratio (target ≤ 2x) and the peak extra resident memory of each,
measured in a fresh process (as in ``bench_memory.py``).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench_memory import peak_extra_rss  # benchmarks/ is on sys.path when a script runs
from timing import median_time


def read_both(a: str, b: str) -> None:
    """The baseline: every tensor of both files, one pair at a time."""
    import tensorflow as tf

    reader_a, reader_b = tf.train.load_checkpoint(a), tf.train.load_checkpoint(b)
    for key in reader_a.get_variable_to_shape_map():
        reader_a.get_tensor(key)
        reader_b.get_tensor(key)


def compare(a: str, b: str) -> None:
    import ckpt_widgets as cw

    cw.compare(a, b)


def measure_rss(fn, a: str, b: str, queue) -> None:
    """Peak extra RSS of one call in this (fresh) process, after TensorFlow is loaded."""
    import tensorflow as tf

    import ckpt_widgets as cw

    cw.open_checkpoint(a)  # imports and first-use costs are not the comparison's
    tf.train.load_checkpoint(b)
    queue.put(peak_extra_rss(lambda: fn(a, b)))


def fresh_rss(fn, a: str, b: str) -> int:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=measure_rss, args=(fn, a, b, queue))
    process.start()
    extra = queue.get()
    process.join()
    return extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf

    import ckpt_widgets as cw

    directory = tempfile.mkdtemp(prefix="ckpt-bench-compare-")
    model = keras.applications.ResNet50(weights=None)
    a = tf.train.Checkpoint(model=model).write(os.path.join(directory, "a"))
    rng = np.random.default_rng(0)
    weights = model.weights
    for v in weights[:: max(1, len(weights) // 32)]:  # about 10 % of the variables
        v.assign(v.numpy() + rng.standard_normal(v.shape).astype("float32") * 1e-3)
    perturbed = tf.train.Checkpoint(model=model).write(os.path.join(directory, "perturbed"))
    other = keras.applications.ResNet50(weights=None)
    independent = tf.train.Checkpoint(model=other).write(os.path.join(directory, "other"))
    size_mb = sum(v.numpy().nbytes for v in weights) / 2**20
    print(f"ResNet50 checkpoints: {len(weights)} variables, {size_mb:.0f} MB each")

    header = f"{'compare(a, b), b =':42} {'ours':>9} {'read both files':>15} {'ratio':>7}"
    print(header, f"{'peak RSS ours':>14} {'peak RSS read':>14}")
    cases = [("10% of variables perturbed", perturbed), ("independent initialisation", independent)]
    for name, b in cases:
        table = cw.compare(a, b)
        changed = int((table["status"] == "changed").sum())
        t_ours = median_time(lambda b=b: cw.compare(a, b), args.repeat)
        t_base = median_time(lambda b=b: read_both(a, b), args.repeat)
        rss_ours, rss_base = fresh_rss(compare, a, b), fresh_rss(read_both, a, b)
        print(
            f"{name + f' ({changed} changed)':42} {t_ours * 1e3:7.1f}ms {t_base * 1e3:13.1f}ms "
            f"{t_ours / t_base:6.2f}x {rss_ours / 2**20:12.1f}MB {rss_base / 2**20:12.1f}MB"
        )


if __name__ == "__main__":
    main()
