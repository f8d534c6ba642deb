"""The widget's construction with 10 000 variables, step by step, against plain TensorFlow.

    .venv/bin/python benchmarks/bench_widget.py [--repeat 5] [--profile]

The model is ``tests/bigmodel.py``'s ``big_model()`` (10 000 variables in 10 blocks),
written with ``tf.train.Checkpoint(model=m).write``. Each step is timed in CPU time
(``time.process_time``, the minimum of ``--repeat`` runs after a warm-up: other jobs on a
shared machine add wall time, not CPU time) on fresh inputs, so no cache of an earlier
run helps it. The baseline is ``tf.train.list_variables``: the least work that lists the
file. ``--profile`` prints cProfile's 25 costliest functions of one construction.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))  # for tests.bigmodel

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def cpu_time(fn: Callable[..., object], setup: Callable[[], object] | None = None, repeat: int = 5):
    """Minimum CPU seconds of ``fn(setup())`` (or ``fn()``) over ``repeat`` runs after a
    warm-up; ``setup`` runs untimed before each call."""
    best = float("inf")
    for n in range(repeat + 1):
        arg = setup() if setup else None
        gc.collect()
        start = time.process_time()
        fn(arg) if setup else fn()
        spent = time.process_time() - start
        if n:  # the first run warms up
            best = min(best, spent)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    import tensorflow as tf
    from ipywidgets.widgets.widget import _remove_buffers

    import ckpt_widgets as cw
    from ckpt_widgets.engine.matching import match
    from ckpt_widgets.engine.model import ModelGraph
    from ckpt_widgets.engine.names import model_labels
    from ckpt_widgets.widget.rows import checkpoint_tree, model_tree
    from tests.bigmodel import big_model

    model = big_model()
    with tempfile.TemporaryDirectory() as folder:
        prefix = tf.train.Checkpoint(model=model).write(os.path.join(folder, "ckpt"))
        src = cw.open_checkpoint(prefix)
        fresh = lambda: match(model, src)  # noqa: E731
        widget = lambda: cw.CheckpointWidget(model, src)  # noqa: E731
        cases = [
            ("plain TF: tf.train.list_variables", lambda: tf.train.list_variables(prefix)),
            ("open_checkpoint(p).variables", lambda: cw.open_checkpoint(prefix).variables),
            ("model walk: ModelGraph.of(model)", lambda: ModelGraph.of(model)),
            ("match(model, src)", lambda: match(model, src)),
            ("readable names: model_labels(m)", model_labels, fresh),
            ("model tree: model_tree(m)", model_tree, fresh),
            ("checkpoint tree: checkpoint_tree(m)", checkpoint_tree, fresh),
            ("CheckpointWidget(model, src)", widget),
            ("display: get_state + _remove_buffers", lambda w: _remove_buffers(w.get_state()),
             widget),
            ("Checkpoint tab opened: w.checkpoint_rows()", lambda w: w.checkpoint_rows(), widget),
        ]  # fmt: skip
        steps = [(case[0], cpu_time(*case[1:], repeat=args.repeat)) for case in cases]
        base = steps[0][1]
        print(f"big_model(): {len(model.weights)} variables; CPU ms, min of {args.repeat}")
        for name, spent in steps:
            print(f"  {name:<44} {spent * 1e3:8.1f} ms  {spent / base:7.1f}x")
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(widget)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
