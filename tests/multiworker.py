"""One worker of a MultiWorkerMirroredStrategy restore, run by tests/test_workers.py.

``python -m tests.multiworker CHECKPOINT OUT.json [WRITE_DIR]`` with ``TF_CONFIG`` set:
builds ``models.net`` in ``strategy.scope()``, restores the backbone from CHECKPOINT with
``cw.restore``, and writes to OUT.json the outcome and every variable's value on every
replica of this worker, before and after. It then undoes that restore and restores the
backbone and the head again with ``cw.restore_many`` (two parts), writing its outcome and
the values after it ("many", "after_many"). With WRITE_DIR it then trains a step on every
worker and writes ``tf.train.Checkpoint(model=...)`` as multi-worker training does: the
chief to ``WRITE_DIR/ckpt``, the others to ``WRITE_DIR/worker<i>/ckpt``.
"""

from __future__ import annotations

import base64
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["CUDA_VISIBLE_DEVICES"] = ""

INCLUDE = "backbone"
MANY = ("backbone", "head")
"""The parts ``cw.restore_many`` restores, one each, from the same checkpoint."""
TIMEOUT = 60
"""Seconds a collective waits for the other worker before failing (no hang in CI)."""


def replica_values(strategy, model) -> dict[str, dict]:
    """``{variable path: {dtype, shape, replicas: [base64 bytes, ...]}}``."""
    out = {}
    for v in model.weights:
        values = [t.numpy() for t in strategy.experimental_local_results(v.value)]
        out[v.path] = {
            "dtype": values[0].dtype.name,
            "shape": list(values[0].shape),
            "replicas": [base64.b64encode(value.tobytes()).decode() for value in values],
        }
    return out


def error(exc: Exception) -> dict:
    return {"type": type(exc).__name__, "message": str(exc)}


def outcome(restore) -> dict:
    """``{"restored": [names]}`` from ``restore()``'s report, or ``{"error": ...}``."""
    try:
        return {"restored": list(restore().restored["name"])}
    except Exception as exc:
        return {"error": error(exc)}


def train_and_write(tf, strategy, model, directory: str) -> str:
    """One SGD step on every worker (gradients all-reduced), then ``Checkpoint.write`` as
    multi-worker training does it: the chief to ``directory``, the others beside it."""
    import numpy as np

    x = tf.constant(np.random.default_rng(0).standard_normal((4, 2)).astype("float32"))
    variables = [v.value for v in model.trainable_variables]

    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x) - 1.0) ** 2)
        grads = tape.gradient(loss, variables)
        grads = tf.distribute.get_replica_context().all_reduce("SUM", grads)
        for v, g in zip(variables, grads):
            v.assign_sub(0.1 * g)

    strategy.run(tf.function(step))
    extended = strategy.extended
    chief = extended._id_in_cluster == 0
    folder = directory if chief else os.path.join(directory, f"worker{extended._id_in_cluster}")
    return tf.train.Checkpoint(model=model).write(os.path.join(folder, "ckpt"))


def main(checkpoint: str, out: str, write: str | None = None) -> None:
    import tensorflow as tf

    import ckpt_widgets as cw
    from tests import models

    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=TIMEOUT)
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    with strategy.scope():
        model = models.net(seed=2)
    result = {"worker": strategy.extended._id_in_cluster}
    result["before"] = replica_values(strategy, model)
    try:
        report = cw.restore(model, checkpoint, include=INCLUDE)
        result["restored"] = list(report.restored["name"])
    except Exception as exc:
        result["error"] = error(exc)
    result["after"] = replica_values(strategy, model)
    if "error" not in result:
        report.undo()
    result["many"] = outcome(
        lambda: cw.restore_many(model, [(checkpoint, {"include": p}) for p in MANY])
    )
    result["after_many"] = replica_values(strategy, model)
    if write:
        result["written"] = train_and_write(tf, strategy, model, write)
        result["trained"] = replica_values(strategy, model)
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
