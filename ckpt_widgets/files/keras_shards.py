"""Keras 3 sharded weights: a ``.weights.json`` index naming several ``.weights.h5`` shards.

``model.save_weights("x.weights.json", max_shard_size=…)`` (Keras >= 3.10) writes the index
and ``x_00000.weights.h5``, ``x_00001.weights.h5``, …; the index's ``weight_map`` gives,
for each ``/…/vars`` group, the shard file (or files: a layer may be split) holding it.
A shard alone holds only some layers, so it is never read as if it were the whole file.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from ckpt_widgets.errors import CheckpointError, first_line

from .paths import check_regular_file, exists, open_binary

INDEX_SUFFIX = ".weights.json"
MAX_INDEX_BYTES = 64 << 20
_SHARD_NAME = re.compile(r"^(?P<base>.*)_\d{5}\.weights\.h5$")


def is_sharded_index(path: str) -> bool:
    """Whether ``path`` names a sharded weights index (``….weights.json``)."""
    return path.endswith(INDEX_SUFFIX)


def shard_groups(index: str) -> dict[str, set[str]]:
    """The shard files ``index`` names, in its order, each with the ``…/vars`` groups the
    index places in it (without the leading ``/``).

    Raises :class:`CheckpointError` for an index that is not one, that names a file outside
    its own folder, or whose shard is missing.
    """
    folder = posixpath.dirname(index)
    shards: dict[str, set[str]] = {}
    for group, names in _weight_map(index).items():
        for name in _listed(names):
            if not _is_a_plain_file_name(name):
                raise CheckpointError(
                    f"'{index}' is refused: it names a file outside its folder ({name!r}); "
                    "Keras writes every shard next to its index."
                )
            shards.setdefault(posixpath.join(folder, name), set()).add(str(group).strip("/"))
    for shard in shards:
        if not exists(shard):
            raise CheckpointError(
                f"'{index}' is missing its shard '{posixpath.basename(shard)}'; copy every "
                "shard file next to the index."
            )
    return shards


def index_of_shard(path: str) -> str | None:
    """The index whose shard ``path`` is (named ``x_00001.weights.h5`` and listed by a
    ``x.weights.json`` beside it), or None."""
    found = _SHARD_NAME.match(posixpath.basename(path))
    if not found:
        return None
    index = posixpath.join(posixpath.dirname(path), found["base"] + INDEX_SUFFIX)
    if not exists(index):
        return None
    try:
        names = _weight_map(index).values()
    except CheckpointError:
        return None
    listed = {name for value in names for name in _listed(value)}
    return index if posixpath.basename(path) in listed else None


def _is_a_plain_file_name(name: Any) -> bool:
    """Whether ``name`` names a file in the index's own folder (no folder part, no ``..``)."""
    return isinstance(name, str) and posixpath.basename(name) == name and name not in ("", "..")


def _listed(names: Any) -> list[Any]:
    """A ``weight_map`` value as a list: Keras writes one file name, or a list of them."""
    return names if isinstance(names, list) else [names]


def _weight_map(index: str) -> dict[str, Any]:
    """The index's ``weight_map``, read within :data:`MAX_INDEX_BYTES`."""
    check_regular_file(index, "a Keras sharded weights index")
    try:
        text = _read_text(index)
        weight_map = json.loads(text)["weight_map"]
        if not isinstance(weight_map, dict):
            raise TypeError(f"'weight_map' is a {type(weight_map).__name__}, not an object")
    except CheckpointError:
        raise
    except Exception as exc:  # OSError, JSONDecodeError, KeyError, TypeError, ...
        raise CheckpointError(
            f"'{index}' is not a readable Keras sharded weights index ({first_line(exc)}); "
            "save it with model.save_weights('….weights.json', max_shard_size=…)."
        ) from None
    return weight_map


def _read_text(index: str) -> str:
    """The index's text, refused past :data:`MAX_INDEX_BYTES`."""
    with open_binary(index) as handle:
        data = handle.read(MAX_INDEX_BYTES + 1)
    if len(data) > MAX_INDEX_BYTES:
        raise CheckpointError(
            f"'{index}' is refused: an index of shards larger than {MAX_INDEX_BYTES} bytes "
            "is no Keras weights index."
        )
    return data.decode("utf-8")
