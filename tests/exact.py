"""Checks that a restore changed exactly the chosen variables, each to the tensor stored at
its own place, with the expected values taken from the writer model (never from
ckpt_widgets), and helpers to write a model in the three file formats it reads."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

FORMATS = ("checkpoint", "weights.h5", "keras")


def write_all(model: Any, directory: Path) -> dict[str, str]:
    """``model`` written as ``tf.train.Checkpoint(model=...).write``, ``save_weights`` and
    ``save``: ``{format: path}``."""
    import tensorflow as tf

    directory.mkdir(parents=True, exist_ok=True)
    model.save_weights(str(directory / "model.weights.h5"))
    model.save(str(directory / "model.keras"))
    return {
        "checkpoint": tf.train.Checkpoint(model=model).write(str(directory / "ckpt")),
        "weights.h5": str(directory / "model.weights.h5"),
        "keras": str(directory / "model.keras"),
    }


def stored_reader(path: str) -> Callable[[str], np.ndarray]:
    """Reads a tensor by its key from a file, with ``tf.train.load_checkpoint`` or h5py
    (for a ``.keras`` archive, its ``model.weights.h5``), never with ckpt_widgets."""
    import h5py
    import tensorflow as tf

    if path.endswith(".weights.h5"):
        data = Path(path).read_bytes()
    elif path.endswith(".keras"):
        with zipfile.ZipFile(path) as archive:
            data = archive.read("model.weights.h5")
    else:
        return tf.train.load_checkpoint(path).get_tensor

    def read(key: str) -> np.ndarray:
        with h5py.File(io.BytesIO(data), "r") as f:
            return f[key][()]

    return read


def write_keras2_h5(path: Path) -> dict[str, np.ndarray]:
    """A Keras 2 legacy ``.h5`` weights file of one Dense layer, written with h5py (no
    Keras 2 needed): the stored arrays by dataset path."""
    import h5py

    rng = np.random.default_rng(3)
    stored = {
        "dense/dense/kernel:0": rng.standard_normal((3, 2)).astype("float32"),
        "dense/dense/bias:0": rng.standard_normal(2).astype("float32"),
    }
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"dense"]
        f.create_group("dense").attrs["weight_names"] = [b"dense/kernel:0", b"dense/bias:0"]
        for key, value in stored.items():
            f.create_dataset(key, data=value)
    return stored


def pairs(model_weights: list[Any], writer_weights: list[Any]) -> dict[int, np.ndarray]:
    """``{id(variable): the writer's value at the same place}`` for two lists of weights of
    the same architecture, in the same order."""
    assert len(model_weights) == len(writer_weights)
    expected = {}
    for v, w in zip(model_weights, writer_weights):
        assert tuple(v.shape) == tuple(w.shape)
        expected[id(v)] = w.numpy().copy()
    return expected


def object_at(model: Any, path: str) -> Any:
    """The object at ``path`` (``/``-joined edge names) in TensorFlow's object graph."""
    import tensorflow as tf

    node = model
    for edge in path.split("/") if path else []:
        node = tf.train.TrackableView(node).children(node)[edge]
    return node


def path_of(model: Any, target: Any) -> str:
    """The shortest object path from ``model`` to ``target`` in TensorFlow's object graph
    (a breadth-first walk of ``tf.train.TrackableView``)."""
    import tensorflow as tf

    queue, seen = [(model, "")], {id(model)}
    while queue:
        node, path = queue.pop(0)
        if node is target:
            return path
        for edge, child in tf.train.TrackableView(node).children(node).items():
            if id(child) not in seen:
                seen.add(id(child))
                queue.append((child, f"{path}/{edge}" if path else edge))
    raise LookupError(f"{target!r} is not reachable from {model!r}")


def weights_under(node: Any) -> list[Any]:
    """The variables a submodule holds: a Keras layer's ``weights``, a variable itself, or
    those of every child of a container (such as ``_operations``)."""
    import keras
    import tensorflow as tf

    if isinstance(node, keras.layers.Layer):
        return list(node.weights)
    if isinstance(node, (keras.Variable, tf.Variable)):
        return [node]
    children = tf.train.TrackableView(node).children(node).values()
    return [v for child in children for v in weights_under(child)]


def same(a: Any, b: Any) -> bool:
    """Bit-for-bit equality (shape, dtype and bytes)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def assert_exact(model: Any, expected: dict[int, np.ndarray], before: list[np.ndarray]) -> None:
    """Each variable of ``model`` whose id is in ``expected`` holds that value; every other
    still holds its value in ``before``; all bit for bit. The message names the culprits."""
    wrong, touched = [], []
    for i, (v, old) in enumerate(zip(model.weights, before)):
        if id(v) in expected and not same(v.numpy(), expected[id(v)]):
            wrong.append(f"{i}:{v.path}")
        if id(v) not in expected and not same(v.numpy(), old):
            touched.append(f"{i}:{v.path}")
    assert not wrong, (
        f"{len(wrong)} of {len(expected)} restored variables hold another tensor: {wrong[:6]}"
    )
    assert not touched, f"{len(touched)} variables changed that were not selected: {touched[:6]}"


def assert_report_lists(model: Any, report: Any, expected: dict[int, np.ndarray]) -> None:
    """``report.restored`` lists exactly the variables in ``expected``, each stored tensor
    feeding one variable."""
    import ckpt_widgets as cw

    paths = cw.model_variables(model)["path"]
    wanted = sorted(p for v, p in zip(model.weights, paths) if id(v) in expected)
    assert sorted(report.restored["model_path"]) == wanted
    keys = list(report.restored["key"])
    assert len(keys) == len(set(keys)), "one stored tensor restored into several variables"


def assert_undone(model: Any, report: Any, before: list[np.ndarray]) -> None:
    """``report.undo()`` puts every variable back bit for bit."""
    report.undo()
    assert_exact(model, {}, before)
