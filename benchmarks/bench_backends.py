"""Time a TensorFlow checkpoint restored into a Keras model on JAX against the hand loop.

    .venv/bin/python benchmarks/bench_backends.py [--repeat 5] [--backend jax|torch]

A ResNet50 (random weights) is saved with ``tf.train.Checkpoint(model=m).write`` on the
TensorFlow backend; a process with ``KERAS_BACKEND=jax`` (or ``torch``) builds the same
architecture and
times, in one run: ``cw.restore`` (match, plan, snapshot for undo, read + ``assign``,
bit-for-bit verification) and the loop a user writes today, ``tf.train.load_checkpoint``
plus ``assign`` for every weight, with the keys worked out beforehand and no check.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from timing import median_time  # benchmarks/ is on sys.path when a script runs


def write(directory: str) -> str:
    import keras
    import tensorflow as tf

    model = keras.applications.ResNet50(weights=None)
    return tf.train.Checkpoint(model=model).write(os.path.join(directory, "ckpt"))


def restore_elsewhere(prefix: str, repeat: int) -> None:
    import keras
    import numpy as np
    import tensorflow as tf

    import ckpt_widgets as cw

    model = keras.applications.ResNet50(weights=None)
    paths = cw.model_variables(model)["path"]
    keys = [f"model/{_escape(p)}/.ATTRIBUTES/VARIABLE_VALUE" for p in paths]

    def by_hand() -> None:
        reader = tf.train.load_checkpoint(prefix)
        for variable, key in zip(model.weights, keys):
            variable.assign(reader.get_tensor(key))

    def ours() -> None:
        cw.restore(model, prefix, undo=False)

    def ours_subset() -> None:
        cw.restore(model, prefix, include="conv5_*", undo=False)

    hand = median_time(by_hand, repeat)
    expected = [np.asarray(v.numpy()) for v in model.weights]
    full = median_time(ours, repeat)
    assert all(np.array_equal(v.numpy(), e) for v, e in zip(model.weights, expected))
    subset = median_time(ours_subset, repeat)
    size = sum(e.nbytes for e in expected) / 2**20
    print(f"backend {keras.backend.backend()}, ResNet50, {len(keys)} variables, {size:.0f} MB")
    for label, seconds in (
        ("hand-written reader + assign loop (no check)", hand),
        ("cw.restore, everything (verified)", full),
        ("cw.restore, include='conv5_*' (verified)", subset),
    ):
        print(f"{label:46s} {seconds * 1e3:8.1f} ms  x{seconds / hand:.2f}")


def _escape(path: str) -> str:
    """A checkpoint key's spelling of an object path (``.`` doubled, ``/`` in names)."""
    return "/".join(name.replace(".", "..").replace("/", ".S") for name in path.split("/"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backend", default="jax", choices=["jax", "torch"])
    parser.add_argument("--restore", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.restore:
        restore_elsewhere(args.restore, args.repeat)
        return
    with tempfile.TemporaryDirectory() as directory:
        prefix = write(directory)
        env = {**os.environ, "KERAS_BACKEND": args.backend, "JAX_PLATFORMS": "cpu"}
        command = [sys.executable, __file__, "--restore", prefix, "--repeat", str(args.repeat)]
        subprocess.run(command, env=env, check=True)


if __name__ == "__main__":
    main()
