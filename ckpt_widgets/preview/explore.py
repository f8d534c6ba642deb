"""A checkpoint on its own: what it holds per subtree, and statistics of its values.

:func:`checkpoint_summary` needs only the listing (no tensor is read unless
``values=True``); :func:`variable_stats` reads the tensors one at a time.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ckpt_widgets.files.slices import SLICE_BYTES, read_slices

from .stats import SUMMARY_KEYS, Summary

if TYPE_CHECKING:
    import pandas as pd

GROUPS = ("model", "optimizer", "other")
STATS_COLUMNS = [
    "path", "key", "group", "shape", "dtype", "size", "nbytes", *SUMMARY_KEYS, "all_zero",
    "finite",
]  # fmt: skip


def variable_stats(
    src_or_path: Any, paths: Iterable[str] | None = None, *, slice_bytes: int = SLICE_BYTES
) -> pd.DataFrame:
    """One row per variable (all, or those of ``paths``) with statistics of its values.

    Columns: the listing's ``path key group shape dtype size nbytes``, then
    ``mean std min max zeros_pct nan inf l2`` (``nan`` / ``inf`` count elements, the others
    cover the finite values; see :func:`ckpt_widgets.preview.stats.summary`), ``all_zero``
    and ``finite`` (no NaN or Inf). Non-numeric tensors (strings) get NaN statistics.
    Reads one tensor at a time; one over ``slice_bytes`` in pieces
    through one reused buffer.
    """
    import pandas as pd

    from ckpt_widgets.files.open import open_checkpoint

    src = open_checkpoint(src_or_path)
    table = src.variables
    if paths is not None:
        wanted = [src.key_of(p) for p in paths]
        table = table.set_index("key", drop=False).loc[wanted].reset_index(drop=True)
    rows = []
    for path, key, group, shape, dtype, size, nbytes in zip(
        *(table[c] for c in ("path", "key", "group", "shape", "dtype", "size", "nbytes"))
    ):
        row = {
            "path": path,
            "key": key,
            "group": group,
            "shape": shape,
            "dtype": dtype,
            "size": size,
            "nbytes": nbytes,
        }
        row.update(_stats(src, key, dtype, slice_bytes))
        rows.append(row)
    return pd.DataFrame(rows, columns=STATS_COLUMNS)


def checkpoint_summary(src_or_path: Any, values: bool = False) -> pd.DataFrame:
    """Per subtree of the variables' paths (``""`` is the whole file): what it holds.

    Columns: ``variables``, ``params`` (elements), ``nbytes``, ``params_<group>`` for
    model / optimizer / other, ``optimizer_share`` (optimizer bytes / bytes) and
    ``dtypes`` (e.g. ``"float32×12, int64×1"``). ``values=True`` reads every tensor
    (one at a time) and adds ``nan_tensors``, ``inf_tensors`` and ``zero_tensors``: how
    many variables hold a NaN, an Inf, or only zeros.
    """
    import pandas as pd

    from ckpt_widgets.files.open import open_checkpoint

    src = open_checkpoint(src_or_path)
    table = src.variables
    flags = _value_flags(src, table["key"], table["dtype"]) if values else None
    acc: dict[str, dict[str, Any]] = {}
    for i, (path, size, nbytes, group, dtype) in enumerate(
        zip(*(table[c] for c in ("path", "size", "nbytes", "group", "dtype")))
    ):
        parts = path.split("/")
        for depth in range(len(parts)):
            entry = acc.setdefault("/".join(parts[:depth]), _empty(values))
            entry["variables"] += 1
            entry["params"] += int(size)
            entry["nbytes"] += int(nbytes)
            entry[f"params_{group}"] += int(size)
            entry["optimizer_bytes"] += int(nbytes) if group == "optimizer" else 0
            entry["dtypes"][dtype] += 1
            if flags is not None:
                for name, flag in zip(("nan_tensors", "inf_tensors", "zero_tensors"), flags[i]):
                    entry[name] += int(flag)
    for entry in acc.values():
        optimizer_bytes = entry.pop("optimizer_bytes")
        entry["optimizer_share"] = optimizer_bytes / entry["nbytes"] if entry["nbytes"] else 0.0
        entry["dtypes"] = ", ".join(f"{d}×{n}" for d, n in entry["dtypes"].most_common())
    columns = ["variables", "params", "nbytes", *(f"params_{g}" for g in GROUPS)]
    columns += ["optimizer_share", "dtypes"]
    if values:
        columns += ["nan_tensors", "inf_tensors", "zero_tensors"]
    frame = pd.DataFrame.from_dict(acc, orient="index")[columns]
    frame.index.name = "path"
    return frame.sort_index()


def _stats(src: Any, key: str, dtype: str, slice_bytes: int) -> dict[str, Any]:
    """Statistics of one stored tensor, read in pieces of at most ``slice_bytes``."""
    if dtype != "bfloat16" and not _numeric(dtype):
        return {**dict.fromkeys(SUMMARY_KEYS, math.nan), "all_zero": False, "finite": True}
    acc = Summary()
    for _, values in read_slices(src, key, slice_bytes, reuse=True):
        acc.add(values)
    out: dict[str, Any] = acc.result()
    out["all_zero"] = bool(acc.size) and out["zeros_pct"] == 100.0
    out["finite"] = out["nan"] == 0 and out["inf"] == 0
    return out


def _numeric(dtype: str) -> bool:
    import numpy as np

    try:
        return np.dtype(dtype).kind in "fiub"
    except TypeError:
        return False


def _value_flags(
    src: Any, keys: Iterable[str], dtypes: Iterable[str]
) -> list[tuple[bool, bool, bool]]:
    flags = []
    for key, dtype in zip(keys, dtypes):
        stats = _stats(src, key, dtype, SLICE_BYTES)
        flags.append((stats["nan"] > 0, stats["inf"] > 0, bool(stats["all_zero"])))
    return flags


def _empty(values: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"variables": 0, "params": 0, "nbytes": 0}
    entry.update({f"params_{g}": 0 for g in GROUPS})
    entry.update({"optimizer_bytes": 0, "dtypes": Counter()})
    if values:
        entry.update(nan_tensors=0, inf_tensors=0, zero_tensors=0)
    return entry
