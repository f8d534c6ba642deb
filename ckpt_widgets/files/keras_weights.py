"""Keras weight files as checkpoint sources: Keras 3 ``.weights.h5`` and ``.keras``
archives, and Keras 2's legacy ``.h5`` files.

Keras 3 stores each layer's own variables as ``…/vars/<i>`` datasets; the ``vars`` group's
attribute ``name`` holds the layer's name, which is how we pair them with a live model.
Keras 2 (``save_weights("x.h5")`` or ``save("x.h5")``) stores ``<layer>/<layer>/kernel:0``
datasets, listed in order by the attributes ``layer_names`` and ``weight_names``.
Only the weights are read: a ``.keras`` archive's ``config.json`` and a legacy file's
``model_config`` are never opened, so no code or object from a file is ever built.
Opening refuses a file that would read outside itself (external storage, virtual datasets,
external links) or far more than it stores (zip and HDF5 bombs, unwritten datasets).
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ckpt_widgets.errors import CheckpointError, did_you_mean, first_line

from .keras_shards import index_of_shard, is_sharded_index, shard_groups
from .paths import check_regular_file, open_binary
from .source import COLUMNS as SOURCE_COLUMNS
from .source import PairsBy, SourceTables, WithoutGraph, leading_block

if TYPE_CHECKING:
    import numpy as np

COLUMNS = [*SOURCE_COLUMNS, "layer", "index"]
ARCHIVE_WEIGHTS = "model.weights.h5"
MAX_INFLATED = 64 << 20
MAX_EXPANSION = 100
MAX_EXPANSION_RULE = "more than 64 MiB and more than 100 times the bytes stored is refused"
"""Declared sizes beyond this rule (zip members, compressed HDF5 datasets) are bombs, not
weights: Keras stores both uncompressed, and float weights barely compress."""


def is_keras_file(path: str) -> bool:
    """Whether ``path`` names a Keras weights file (``.h5``, ``.hdf5``), archive or sharded
    weights index (``.weights.json``)."""
    return path.endswith((".h5", ".hdf5", ".keras")) or is_sharded_index(path)


class KerasWeightsSource(WithoutGraph, SourceTables):
    """A Keras ``.weights.h5`` / ``.keras`` file, opened once, listed without reading values.

    Opening refuses, with :class:`CheckpointError`, a file that would read anything outside
    itself or far more than it stores (see :func:`_refusal` and :func:`_archive_member`).
    A Keras 3 file pairs by the structure Keras's ``save_weights`` walks; a Keras 2 file,
    which stores layer names, by layer name and weight index. Sharded weights open by their
    ``.weights.json`` index, all shards as one source; a shard alone is refused.
    """

    format = "keras"
    pairs_by: PairsBy

    def __init__(self, path: str):
        import pandas as pd

        self.prefix = self.path = path
        _refuse_a_lone_shard(path)
        self._shards = _shards(path)
        self._files: list[Any] = []
        self._shard_of: dict[str, int] = {}
        rows: list[dict[str, Any]] = []
        legacy = None
        for shard, groups in self._shards.items():
            file, shard_rows, legacy = _open_h5(shard)
            if groups is not None:
                _check_shard(shard_rows, groups, legacy, shard, path)
            self._add_shard(file, shard_rows, shard)
            rows.extend(shard_rows)
        if is_sharded_index(path):
            _name_continued_groups(rows)
            rows.sort(key=lambda r: (r["path"].rpartition("/")[0], r["index"]))
        if not rows:
            raise CheckpointError(
                f"'{path}' holds no Keras layer weights (neither Keras 3 'vars' groups nor "
                "Keras 2 'layer_names'); save it with model.save_weights('….weights.h5')."
            )
        self.pairs_by = "structure" if legacy is None else "layer"
        self.variables = pd.DataFrame(rows, columns=COLUMNS)
        self._keys = set(self.variables["key"])
        self._layers = {row["path"]: row["layer"] for row in rows}

    def _add_shard(self, file: Any, rows: list[dict[str, Any]], shard: str) -> None:
        """Keep an opened (shard) file; a key stored in two shards is refused."""
        for row in rows:
            if row["key"] in self._shard_of:
                first = list(self._shards)[self._shard_of[row["key"]]]
                raise CheckpointError(
                    f"'{self.path}' is refused: '{row['key']}' is stored in two shards, "
                    f"'{first}' and '{shard}'."
                )
            self._shard_of[row["key"]] = len(self._files)
        self._files.append(file)

    def _dataset(self, key: str) -> Any:
        """The h5py dataset ``key`` (in its shard, for sharded weights)."""
        return self._files[self._shard_of[key]][key]

    def read(self, path_or_key: str) -> np.ndarray:
        """Read one stored array by its path in the file."""
        return self._read(self.key_of(path_or_key), ())

    def read_block(self, path_or_key: str, shape: tuple[int, ...]) -> np.ndarray:
        """Read only the leading block ``[0:shape[0], 0:shape[1], …]`` of one stored array,
        clipped to its stored shape (so ``shape`` may be larger)."""
        key = self.key_of(path_or_key)
        block = leading_block(self._dataset(key).shape, shape, key)
        return self._read(key, tuple(slice(0, n) for n in block))

    def read_tensors(self, keys: list[str]) -> list[np.ndarray]:
        """Read several stored arrays by key."""
        return [self._read(key, ()) for key in keys]

    def read_pieces(
        self, path_or_key: str, piece: int, buffer: np.ndarray | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """One stored array in flat pieces of whole rows, at most ``piece`` elements unless
        one row holds more (h5py reads row blocks). See ``CheckpointSource.read_pieces``."""
        import numpy as np

        key = self.key_of(path_or_key)
        dataset = self._dataset(key)
        if not dataset.shape:
            yield 0, self._read(key, ()).reshape(-1)
            return
        per_row = math.prod(dataset.shape[1:])
        rows = max(1, piece // max(1, per_row))
        if buffer is not None and buffer.size < rows * per_row:  # one row is larger
            buffer = np.empty(rows * per_row, buffer.dtype)
        for start in range(0, dataset.shape[0], rows):
            yield start * per_row, self._rows(key, start, rows, buffer)

    def _rows(self, key: str, start: int, rows: int, buffer: np.ndarray | None) -> np.ndarray:
        """Rows ``start, start + rows`` of ``key``, flat (a view of ``buffer`` when given)."""
        dataset = self._dataset(key)
        stop = min(start + rows, dataset.shape[0])
        if buffer is None:
            return self._read(key, (slice(start, stop),)).reshape(-1)
        out = buffer[: (stop - start) * math.prod(dataset.shape[1:])]
        try:
            dataset.read_direct(out.reshape(stop - start, *dataset.shape[1:]), slice(start, stop))
        except Exception as exc:  # a damaged file fails only when the data is read
            raise self._read_failed(key, exc) from None
        return out

    def _read(self, key: str, where: tuple[slice, ...]) -> np.ndarray:
        import numpy as np

        try:
            value = np.asarray(self._dataset(key)[where])
        except Exception as exc:  # a damaged file fails only when the data is read
            raise self._read_failed(key, exc) from None
        # HDF5 keeps any byte order ('>f4'); variables and the bit-for-bit check use ours.
        return value.astype(value.dtype.newbyteorder("="), copy=False)

    def _read_failed(self, key: str, exc: BaseException) -> CheckpointError:
        return CheckpointError(
            f"Cannot read '{key}' from '{self.path}' ({first_line(exc)}); the file "
            "may be truncated or damaged."
        )

    def key_of(self, path_or_key: str) -> str:
        """The dataset path (paths and keys are the same in a Keras file)."""
        if path_or_key in self._keys:
            return path_or_key
        hint = did_you_mean(path_or_key, sorted(self._keys))
        raise KeyError(f"'{path_or_key}' is no variable of '{self.path}'{hint}")

    def layer_of(self, path: str) -> str:
        """The group holding a Keras 3 layer's ``vars`` (``layers/block/query``: layer
        names repeat), or a Keras 2 file's layer name."""
        parts = path.split("/")
        return "/".join(parts[:-2]) if parts[-2:-1] == ["vars"] else self._layers[path]

    def reader_code(self, note: str = "") -> tuple[list[str], list[str]]:
        """``import h5py`` (and ``zipfile`` for a ``.keras`` archive); ``reader = h5py.File``."""
        lines = ["# Read the stored arrays from the Keras weights file and assign them."]
        if is_sharded_index(self.path):
            return ["import h5py"], [
                *lines,
                f'reader = [h5py.File(shard, "r") for shard in {list(self._shards)!r}]',
            ]
        if not self.path.endswith(".keras"):
            return ["import h5py"], [*lines, f'reader = h5py.File({self.path!r}, "r")']
        return ["import io", "import zipfile", "import h5py"], [
            *lines,
            f"with zipfile.ZipFile({self.path!r}) as archive:",
            f'    data = io.BytesIO(archive.read("{ARCHIVE_WEIGHTS}"))',
            'reader = h5py.File(data, "r")',
        ]

    def read_code(self, key: str) -> str:
        """``reader[key][()]`` (``reader[shard][key][()]`` for sharded weights)."""
        if is_sharded_index(self.path):
            return f"reader[{self._shard_of[key]}][{key!r}][()]"
        return f"reader[{key!r}][()]"

    def __repr__(self) -> str:
        return f"KerasWeightsSource({self.path!r}, {len(self.variables)} variables)"


def _unreadable(path: str, exc: BaseException) -> CheckpointError:
    return CheckpointError(
        f"'{path}' is not a readable Keras weights file ({first_line(exc)}); save it "
        "with model.save_weights('….weights.h5') or model.save('….keras')."
    )


# -- reading the file: only regular files, no zip bombs ----------------------------------


def _shards(path: str) -> dict[str, set[str] | None]:
    """The files to open: a sharded index's shards with the groups it places in each, or
    the file itself (``None``: any group)."""
    if is_sharded_index(path):
        return dict(shard_groups(path))
    return {path: None}


def _open_h5(path: str) -> tuple[Any, list[dict[str, Any]], Any]:
    """The opened HDF5 file at ``path`` (checked), its rows and its Keras 2 root or None."""
    import h5py

    data = _load(path)
    try:
        file = h5py.File(io.BytesIO(data), "r")
        _check_links(file, path)
        legacy = _legacy_root(file)
        rows = _list(file) if legacy is None else _list_legacy(file, legacy)
        _check_datasets(file, rows, len(data), path)
    except CheckpointError:
        raise
    except Exception as exc:  # h5py raises many types on damaged files
        raise _unreadable(path, exc) from None
    return file, rows, legacy


def _name_continued_groups(rows: list[dict[str, Any]]) -> None:
    """Give a layer split over two shards its name in both (only the first shard's ``vars``
    group holds the ``name`` attribute)."""
    groups = [(r["key"].rpartition("/")[0], r["layer"]) for r in rows]
    names = {group: name for group, name in groups if name != group}
    for row in rows:
        group = row["key"].rpartition("/")[0]
        if row["layer"] == group and group in names:
            row["layer"] = names[group]


def _refuse_a_lone_shard(path: str) -> None:
    index = index_of_shard(path)
    if index is not None:
        raise CheckpointError(
            f"'{path}' is one shard of the sharded weights '{index}', holding only some of "
            "their layers; open the '.weights.json' index instead."
        )


def _check_shard(
    rows: list[dict[str, Any]], groups: set[str], legacy: Any, shard: str, index: str
) -> None:
    """Refuse a shard that is not Keras 3 weights or holds a group its index does not place
    in it (Keras's ``load_weights`` would never read it from there)."""
    if legacy is not None:
        raise CheckpointError(f"'{index}' is refused: its shard '{shard}' is a Keras 2 file.")
    for row in rows:
        group = row["key"].rpartition("/")[0]
        if group not in groups:
            raise CheckpointError(
                f"'{index}' is refused: its shard '{shard}' holds '{row['key']}', which the "
                "index does not place there."
            )


def _load(path: str) -> bytes:
    """The HDF5 bytes of ``path``: the file itself, or a ``.keras`` archive's weights."""
    check_regular_file(path, "a Keras weights file")
    try:
        with open_binary(path) as handle:
            if path.endswith(".keras"):
                return _archive_member(handle, path)
            return handle.read()
    except CheckpointError:
        raise
    except Exception as exc:  # OSError, zipfile.BadZipFile, tf.errors.OpError, ...
        raise _unreadable(path, exc) from None


def _archive_member(handle: Any, path: str) -> bytes:
    """The weights member of a ``.keras`` zip, its declared sizes checked before inflating.

    A member declaring more than :data:`MAX_INFLATED` bytes and more than
    :data:`MAX_EXPANSION` times its compressed size is refused as a zip bomb (Keras stores
    members uncompressed; weights barely compress). It is inflated a block at a time and
    never past its declared size.
    """
    handle.seek(0, io.SEEK_END)
    archive_size = handle.tell()  # not seek's result: TensorFlow's GFile returns None
    handle.seek(0)
    with zipfile.ZipFile(handle) as archive:
        info = archive.getinfo(ARCHIVE_WEIGHTS)
        declared, stored = info.file_size, info.compress_size
        if stored > archive_size:
            raise CheckpointError(
                f"'{path}' is damaged: its '{ARCHIVE_WEIGHTS}' claims {stored} compressed "
                f"bytes but the archive holds {archive_size}."
            )
        if too_expanded(declared, stored):
            raise CheckpointError(
                f"'{path}' looks like a zip bomb: its '{ARCHIVE_WEIGHTS}' would inflate "
                f"{stored} bytes to {declared} ({MAX_EXPANSION_RULE}); it was not inflated."
            )
        buffer = io.BytesIO()
        with archive.open(info) as member:
            while block := member.read(1 << 20):
                buffer.write(block)
        return buffer.getvalue()


def too_expanded(declared: int, stored: int) -> bool:
    """Whether ``declared`` bytes from ``stored`` ones breaks :data:`MAX_EXPANSION_RULE`."""
    return declared > MAX_INFLATED and declared > MAX_EXPANSION * stored


# -- what in an HDF5 file is refused --------------------------------------------------------


def _check_links(file: Any, path: str) -> None:
    """Refuse external and user-defined links: they lead into other files."""
    import h5py

    inside = (h5py.h5l.TYPE_HARD, h5py.h5l.TYPE_SOFT)
    found: list[str] = []

    def visit(name: bytes, info: Any) -> None:
        if info.type not in inside and not found:
            found.append(name.decode(errors="replace"))

    file.id.links.visit(visit, info=True)
    if found:
        raise CheckpointError(
            f"'{path}' links '{found[0]}' to another file (an HDF5 external link); weights "
            "files never do, so it is refused rather than followed."
        )


def _check_datasets(file: Any, rows: list[dict[str, Any]], file_size: int, path: str) -> None:
    """Refuse the file if any listed dataset would read outside it or beyond what it stores."""
    for row in rows:
        reason = _refusal(file[row["key"]], row["nbytes"], file_size)
        if reason:
            raise CheckpointError(f"'{path}' is refused: dataset '{row['key']}' {reason}.")


def _refusal(dataset: Any, declared: int, file_size: int) -> str | None:
    """Why reading ``dataset`` is unsafe or would not give stored values, or None.

    Refused: virtual datasets and external storage (values from other files); variable-
    length or reference data; storage missing in part or whole (HDF5 would give fill
    values); storage larger than the file; more than :data:`MAX_EXPANSION_RULE`.
    """
    import h5py

    plist = dataset.id.get_create_plist()
    layout = plist.get_layout()
    if dataset.is_virtual or layout == h5py.h5d.VIRTUAL:
        return "is a virtual dataset: its values would come from other files"
    if plist.get_external_count():
        return "keeps its values in an external file"
    if dataset.dtype.hasobject:
        return "holds variable-length or reference data, which weights never are"
    stored = dataset.id.get_storage_size()
    if declared and not stored:
        return f"declares {declared} bytes but stores none (it would read as fill values)"
    if layout == h5py.h5d.CHUNKED and dataset.id.get_num_chunks() < _chunk_count(dataset):
        return "has chunks that were never written (they would read as fill values)"
    if stored > file_size:
        return f"claims {stored} stored bytes but the file holds {file_size}"
    if layout == h5py.h5d.CONTIGUOUS and dataset.id.get_offset() + stored > file_size:
        return "points past the end of the file"
    if too_expanded(declared, stored):
        return f"declares {declared} bytes but stores only {stored} ({MAX_EXPANSION_RULE})"
    return None


def _chunk_count(dataset: Any) -> int:
    """Chunks needed to cover ``dataset``'s current extent."""
    return math.prod(-(-int(n) // int(c)) for n, c in zip(dataset.shape, dataset.chunks))


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
