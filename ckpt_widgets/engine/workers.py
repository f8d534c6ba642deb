"""Restores run by several workers (MultiWorkerMirroredStrategy): all succeed or none.

Every worker runs the same ``cw.restore(...)`` on its own copy of the model, as it runs
``Checkpoint.read``. One worker's restore can fail where the others' succeeded (a shard
missing on its machine), and mirrored variables must hold the same values everywhere;
so once each worker has restored and verified its variables, the workers agree in one
collective all-reduce. A model outside a multi-worker strategy never reaches it.
"""

from __future__ import annotations

from typing import Any

from ckpt_widgets.errors import RollbackError

MESSAGE_BYTES = 512
"""Room for each worker's one-line error in the all-reduce (UTF-8, cut beyond)."""


def multi_worker_strategy(model: Any) -> Any | None:
    """The strategy of more than one worker that ``model``'s variables belong to, or None."""
    import tensorflow as tf

    if tf.distribute.has_strategy():
        strategy = tf.distribute.get_strategy()
    else:
        weights = getattr(model, "weights", None) or getattr(model, "variables", None) or []
        first = weights[0] if len(weights) else None
        inner = getattr(first, "value", None)  # a Keras 3 variable's TensorFlow variable
        strategy = getattr(inner, "_distribute_strategy", None) or getattr(
            first, "_distribute_strategy", None
        )
    workers = getattr(getattr(strategy, "extended", None), "_num_workers", 1)
    return strategy if workers > 1 else None


def agree_across_workers(strategy: Any, failure: BaseException | None) -> str | None:
    """Tell every worker whether this worker's restore failed, and hear theirs.

    Every worker must call it once per restore, failed or not. One all-reduce of a
    ``[workers, 2 + MESSAGE_BYTES]`` int32 tensor: each worker fills only its own row
    (whether it failed, and its error's first line), so the sum holds every row. Returns
    one sentence naming each worker that failed and why, or None when none did. A worker
    whose rollback failed (:class:`RollbackError`) is named with what it could not put back.
    """
    import numpy as np
    import tensorflow as tf

    extended = strategy.extended
    rows = np.zeros((extended._num_workers, 2 + MESSAGE_BYTES), np.int32)
    if failure is not None:
        text = f"{worker_name(strategy)}: {_line(failure)}"
        data = np.frombuffer(text.encode()[:MESSAGE_BYTES], np.uint8)
        row = rows[extended._id_in_cluster]
        row[0] = 2 if isinstance(failure, RollbackError) else 1
        row[1] = len(data)
        row[2 : 2 + len(data)] = data
    mine, nothing = tf.constant(rows), tf.zeros_like(rows)
    local_replicas = len(extended.worker_devices)
    values = strategy.experimental_distribute_values_from_function(
        lambda ctx: mine if ctx.replica_id_in_sync_group % local_replicas == 0 else nothing
    )
    heard = strategy.reduce(tf.distribute.ReduceOp.SUM, values, axis=None).numpy()
    failed = [_text(row) for row in heard if row[0]]
    if not failed:
        return None
    who = "every other worker's" if (heard[:, 0] == 2).any() else "every worker's"
    return (
        f"The restore failed on {'; on '.join(failed)}; {who} variables were put back as they were."
    )


def _line(exc: BaseException) -> str:
    """The first line of ``exc``'s message, without its closing full stop."""
    lines = str(exc).strip().splitlines()
    return lines[0].rstrip(".") if lines else type(exc).__name__


def _text(row: Any) -> str:
    """The message a worker put in its row."""
    import numpy as np

    return bytes(row[2 : 2 + row[1]].astype(np.uint8)).decode(errors="replace")


def worker_name(strategy: Any) -> str:
    """``"worker 1 (task worker:1)"``: the worker's index among all, and its task."""
    extended = strategy.extended
    return f"worker {extended._id_in_cluster} (task {extended._task_type}:{extended._task_id})"
