"""Restore TensorFlow-backend checkpoints into Keras models on another Keras backend.

Run as ``KERAS_BACKEND=jax python -m tests.backend_checks DIR OUT`` (or ``torch``) after
``tests/test_backends.py`` wrote ``DIR`` (checkpoints, written on the TensorFlow backend).
Every check runs in this one process and saves what it saw into ``OUT/results.npz``
(variable values, predictions) and ``OUT/results.json`` (paths, restored rows, errors);
the test compares them with the writer's values. Nothing here decides pass or fail.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np

from tests import differential_models, keras2_models, models

WALK_MODELS = (
    "net", "net_fitted", "functional", "cnn", "rnn_stack", "shared_layers", "layers_in_a_dict",
    "bert",
)  # fmt: skip
"""Models whose object paths the JAX run compares with the TensorFlow backend's (the
other real architectures cost a minute more to build twice; the TensorFlow-backend
agreement test covers them all)."""

KERAS2_MODELS = ("functional", "sequential", "nested")

TF1_RULES = [
    (r"^fc(\d)/weights$", r"backbone/_functional/_operations/\1/_kernel"),
    (r"^fc(\d)/biases$", r"backbone/_functional/_operations/\1/bias"),
]
"""Names in the TF1 file (``tests/test_backends.py`` writes it) to the model's paths."""


def build(name: str):
    """The model ``name`` as the writer built it (same code, same seed)."""
    if name == "net":
        return models.net(seed=1)
    if name == "net_fitted":
        model = models.net(seed=1)
        models.fit_briefly(model)
        return model
    if name == "functional":
        return models.functional(seed=2)
    if name == "cnn":
        return models.cnn(seed=4)
    return differential_models.BUILDERS[name]()


def object_paths(model) -> list[str]:
    """Object path of every model weight, then of every optimizer variable."""
    import ckpt_widgets as cw
    from ckpt_widgets.engine.model import ModelGraph

    paths = list(cw.model_variables(model)["path"])
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and optimizer.variables:
        graph = ModelGraph.of(model)
        paths += [graph.paths.get(id(v), "") for v in optimizer.variables]
    return paths


class Checks:
    """Runs each check, keeping arrays and facts for the test."""

    def __init__(self, directory: Path, results: Path):
        self.dir = directory
        self.results = results
        self.arrays: dict[str, np.ndarray] = {}
        self.facts: dict[str, object] = {"backend": _backend()}

    def keep(self, prefix: str, model) -> None:
        for i, v in enumerate(model.weights):
            self.arrays[f"{prefix}/{i}"] = np.asarray(v.numpy())

    def run(self, name: str, check) -> None:
        start = time.perf_counter()
        try:
            check()
        except Exception:
            self.facts[f"{name}/error"] = traceback.format_exc()
        self.facts[f"{name}/seconds"] = round(time.perf_counter() - start, 2)

    def walk(self) -> None:
        self.facts["walk"] = {name: object_paths(build(name)) for name in WALK_MODELS}

    def backbone(self) -> None:
        import tensorflow as tf

        import ckpt_widgets as cw

        model = models.net(head_units=7, seed=5)
        self.keep("backbone/before", model)
        table = cw.match(model, self.file("net")).table
        self.facts["backbone/statuses"] = list(table["status"][: len(model.weights)])
        report = cw.restore(model, self.file("net"), include=["backbone"])
        self.keep("backbone/after", model)
        self.facts["backbone/how"] = sorted(set(report.restored["how"]))
        self.facts["backbone/code"] = report.code
        fresh = models.net(head_units=7, seed=6)
        self.keep("backbone/fresh_before", fresh)
        exec(report.code, {"tf": tf, "model": fresh})
        self.keep("backbone/code", fresh)
        report.undo()
        self.keep("backbone/undone", model)

    def widen(self) -> None:
        import ckpt_widgets as cw

        model = models.net(seed=5, width=6)
        self.keep("widen/before", model)
        report = cw.restore(model, self.file("net"), adapt="overlap")
        self.keep("widen/after", model)
        self.facts["widen/adapted"] = list(report.restored["adapted"])

    def full(self) -> None:
        import ckpt_widgets as cw

        for fmt in ("net", "net_h5"):
            model = models.net(seed=5)
            cw.restore(model, self.file(fmt))
            self.keep(f"{fmt}/after", model)
            self.arrays[f"{fmt}/predictions"] = model.predict(self.features(), verbose=0)

    def keras2(self) -> None:
        import keras

        import ckpt_widgets as cw

        for name in KERAS2_MODELS:
            keras.utils.set_random_seed(3)
            model = keras2_models.BUILDERS[name](keras)
            report = cw.restore(model, str(self.dir / "keras2" / name / "ckpt"), align=True)
            self.facts[f"keras2/{name}/restored"] = len(report.restored)
            self.facts[f"keras2/{name}/weights"] = len(model.weights)
            x = keras2_models.inputs_for(name)
            self.arrays[f"keras2/{name}/predictions"] = np.asarray(model.predict(x, verbose=0))

    def many(self) -> None:
        import ckpt_widgets as cw

        model = models.cnn(seed=9)
        self.keep("many/before", model)
        report = cw.restore_many(
            model,
            [(self.file("cnn_a"), {"include": "conv1"}), (self.file("cnn_b"), {"include": "top"})],
        )
        self.keep("many/after", model)
        report.undo()
        self.keep("many/undone", model)

    def optimizer(self) -> None:
        import ckpt_widgets as cw

        model = models.net(seed=5)
        models.fit_briefly(model)
        report = cw.restore(model, self.file("net"), optimizer=True)
        self.facts["optimizer/restored"] = len(report.restored)
        for i, v in enumerate(model.optimizer.variables):
            self.arrays[f"optimizer/after/{i}"] = np.asarray(v.numpy())

    def tf1(self) -> None:
        import ckpt_widgets as cw

        model = models.net(seed=5)
        self.keep("tf1/before", model)
        cw.restore(model, self.file("tf1"), rename=TF1_RULES)
        self.keep("tf1/after", model)

    def keras_file(self) -> None:
        import ckpt_widgets as cw

        model = models.cnn(seed=9)
        cw.restore(model, self.file("cnn_a_keras"))
        self.keep("keras_file/after", model)

    def widget(self) -> None:
        import ckpt_widgets as cw

        model = models.net(head_units=7, seed=5)
        self.keep("widget/before", model)
        w = cw.CheckpointWidget(model, self.file("net"))
        w.selected = ["backbone"]
        w.restore()
        self.keep("widget/after", model)

    def file(self, name: str) -> str:
        return json.loads((self.dir / "files.json").read_text())[name]

    @staticmethod
    def features() -> np.ndarray:
        return np.random.default_rng(0).standard_normal((8, 2)).astype("float32")

    def save(self) -> None:
        np.savez(self.results / "results.npz", **self.arrays)
        (self.results / "results.json").write_text(json.dumps(self.facts, indent=1))


def _backend() -> str:
    import keras

    return keras.backend.backend()


def main(directory: str, results: str) -> None:
    checks = Checks(Path(directory), Path(results))
    names = ("walk", "backbone", "widen", "full", "keras2", "many", "optimizer", "tf1")
    for name in (*names, "keras_file", "widget"):
        checks.run(name, getattr(checks, name))
    checks.save()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
