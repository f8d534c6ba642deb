"""Keras weight files as checkpoint sources: Keras 3 ``.weights.h5`` and ``.keras``
archives, and Keras 2's legacy ``.h5`` files.

Keras 3 stores each layer's own variables as ``…/vars/<i>`` datasets; the ``vars`` group's
attribute ``name`` holds the layer's name, which is how we pair them with a live model.
Keras 2 (``save_weights("x.h5")`` or ``save("x.h5")``) stores ``<layer>/<layer>/kernel:0``
datasets, listed in order by the attributes ``layer_names`` and ``weight_names``.
Only the weights are read: a ``.keras`` archive's ``config.json`` and a legacy file's
``model_config`` are never opened, so no code or object from a file is ever built.
"""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING, Any

from .errors import CheckpointError, did_you_mean, first_line

if TYPE_CHECKING:
    import numpy as np

COLUMNS = [
    "path", "key", "shape", "dtype", "size", "nbytes", "group", "node_id", "layer", "index",
]  # fmt: skip
ARCHIVE_WEIGHTS = "model.weights.h5"


def is_keras_file(path: str) -> bool:
    """Whether ``path`` names a Keras weights file (``.h5``, ``.hdf5``) or archive."""
    return path.endswith((".h5", ".hdf5", ".keras"))


class KerasWeightsSource:
    """A Keras ``.weights.h5`` / ``.keras`` file, opened once, listed without reading values."""

    format = "keras"

    def __init__(self, path: str):
        import h5py
        import pandas as pd
        import tensorflow as tf

        self.prefix = path
        self.children: list[dict[str, int]] = []  # no object graph
        try:
            with tf.io.gfile.GFile(path, "rb") as handle:
                data = handle.read()
            if path.endswith(".keras"):
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    data = archive.read(ARCHIVE_WEIGHTS)
            self._file = h5py.File(io.BytesIO(data), "r")
            legacy = _legacy_root(self._file)
            rows = _list(self._file) if legacy is None else _list_legacy(self._file, legacy)
        except Exception as exc:  # h5py and zipfile raise many types on damaged files
            raise CheckpointError(
                f"'{path}' is not a readable Keras weights file ({first_line(exc)}); save it "
                "with model.save_weights('….weights.h5') or model.save('….keras')."
            ) from None
        if not rows:
            raise CheckpointError(
                f"'{path}' holds no Keras layer weights (neither Keras 3 'vars' groups nor "
                "Keras 2 'layer_names'); save it with model.save_weights('….weights.h5')."
            )
        self.variables = pd.DataFrame(rows, columns=COLUMNS)
        self._keys = set(self.variables["key"])

    def read(self, path_or_key: str) -> np.ndarray:
        """Read one stored array by its path in the file."""
        import numpy as np

        key = self.key_of(path_or_key)
        try:
            return np.asarray(self._file[key][()])
        except Exception as exc:  # a damaged file fails only when the data is read
            raise CheckpointError(
                f"Cannot read '{key}' from '{self.prefix}' ({first_line(exc)}); the file "
                "may be truncated or damaged."
            ) from None

    def key_of(self, path_or_key: str) -> str:
        """The dataset path (paths and keys are the same in a Keras file)."""
        if path_or_key in self._keys:
            return path_or_key
        hint = did_you_mean(path_or_key, sorted(self._keys))
        raise KeyError(f"'{path_or_key}' is no variable of '{self.prefix}'{hint}")

    def resolve(self, path: str) -> None:
        """No object graph: nothing resolves by edges."""

    def is_variable(self, node: int) -> bool:
        return False

    def object_paths(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        return f"KerasWeightsSource({self.prefix!r}, {len(self.variables)} variables)"


def _list(file: Any) -> list[dict[str, Any]]:
    import h5py
    import numpy as np

    rows: list[dict[str, Any]] = []

    def visit(name: str, obj: Any) -> None:
        parent, _, index = name.rpartition("/")
        if not isinstance(obj, h5py.Dataset) or not parent.endswith("vars"):
            return
        if not index.isdigit():
            return
        layer = file[parent].attrs.get("name", parent)
        dtype = np.dtype(obj.dtype)
        shape = tuple(int(d) for d in obj.shape)
        size = int(np.prod(shape, dtype=np.int64)) if shape else 1
        rows.append(
            {
                "path": name,
                "key": name,
                "shape": shape,
                "dtype": dtype.name,
                "size": size,
                "nbytes": size * dtype.itemsize,
                "group": "optimizer" if name.startswith("optimizer/") else "model",
                "node_id": -1,
                "layer": layer.decode() if isinstance(layer, bytes) else str(layer),
                "index": int(index),
            }
        )

    file.visititems(visit)
    rows.sort(key=lambda r: (r["path"].rpartition("/")[0], r["index"]))
    return rows


def _legacy_root(file: Any) -> Any:
    """The group holding a Keras 2 file's layers, or ``None`` for a Keras 3 file."""
    if "layer_names" in file.attrs:
        return file
    group = file.get("model_weights")
    if group is not None and "layer_names" in group.attrs:
        return group
    return None


def _list_legacy(file: Any, root: Any) -> list[dict[str, Any]]:
    """Keras 2 ``.h5`` weights in the model's order: ``layer`` is the weight's own layer."""
    import numpy as np

    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for group_name in _strings(root.attrs["layer_names"]):
        group = root[group_name]
        for weight_name in _strings(group.attrs.get("weight_names", [])):
            dataset = group[weight_name]
            owner = weight_name.rsplit("/", 2)[-2] if "/" in weight_name else group_name
            index = seen.get(owner, 0)
            seen[owner] = index + 1
            dtype = np.dtype(dataset.dtype)
            shape = tuple(int(d) for d in dataset.shape)
            size = int(np.prod(shape, dtype=np.int64)) if shape else 1
            key = dataset.name.lstrip("/")
            rows.append(
                {
                    "path": key,
                    "key": key,
                    "shape": shape,
                    "dtype": dtype.name,
                    "size": size,
                    "nbytes": size * dtype.itemsize,
                    "group": "model",
                    "node_id": -1,
                    "layer": owner,
                    "index": index,
                }
            )
    return rows


def _strings(values: Any) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]
