"""Turn ``include`` / ``exclude`` arguments into a set of model variables.

An entry is a Keras layer or model, a variable, or a string: an object path from the
model (``"backbone"``, ``"backbone/_functional/_operations/1"``), a Keras layer name
(``"conv1"``), a Keras variable path (``"net/conv1/kernel"``), a readable name
(``"backbone/conv1/kernel"``, see :mod:`.names`), or a glob of any of those (``"conv*"``).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from ckpt_widgets.errors import SelectionError, did_you_mean

from .model import is_variable
from .names import model_labels

if TYPE_CHECKING:
    from .matching import Match

GLOB_CHARS = frozenset("*?[")


def select(m: Match, entries: Any, argument: str = "include") -> set[int]:
    """Model row numbers (into ``m.table``) named by ``entries``."""
    found: set[int] = set()
    for entry in _as_list(entries):
        rows = _rows_for(m, entry)
        if not rows:
            raise SelectionError(_unknown(m, entry, argument))
        found |= rows
    return found


def _as_list(entries: Any) -> list[Any]:
    if entries is None:
        return []
    if isinstance(entries, (str, bytes)) or not isinstance(entries, Iterable):
        return [entries]
    if hasattr(entries, "weights") or is_variable(entries):
        return [entries]  # a layer or variable that happens to be iterable
    return list(entries)


def _rows_for(m: Match, entry: Any) -> frozenset[int] | set[int]:
    if isinstance(entry, str):
        index = rows_by_name(m)
        if GLOB_CHARS & set(entry):
            return {i for name, rows in index.items() if fnmatchcase(name, entry) for i in rows}
        return index.get(entry, frozenset())
    rows_of = m.rows_of_variable
    variables = entry.weights if hasattr(entry, "weights") else [entry]
    return {i for v in variables for i in rows_of.get(id(v), ())}


_WORKING_OUT = threading.Lock()  # one look-up of rows_by_name at a time


def rows_by_name(m: Match) -> dict[str, frozenset[int]]:
    """``{name: the model rows answering to it}``, worked out once per match (the widget
    selects on every tick, and a name is then one look-up).

    A row answers to every ``/``-prefix of its object path, Keras path and readable name,
    to the Keras names in its Keras path, its layer's name, and the Keras names of every
    layer or nested model holding its variable.
    """
    cached = m.__dict__.get("_rows_by_name")
    if cached is None:
        with _WORKING_OUT:  # a tick waits for the widget's background look-up, not redo it
            cached = m.__dict__.get("_rows_by_name")
            if cached is None:
                cached = m.__dict__["_rows_by_name"] = _rows_by_name(m)
    return cached


def _rows_by_name(m: Match) -> dict[str, frozenset[int]]:
    cols = m.columns
    paths: dict[str, set[int]] = defaultdict(set)  # a path answers for the paths below it
    names: dict[str, set[int]] = defaultdict(set)
    readable = model_labels(m)
    for i in range(len(m.variables)):
        for value in (cols["model_path"][i], cols["name"][i], readable[i]):
            if value:
                paths[value].add(i)
        names[cols["layer"][i]].add(i)
        for part in (cols["name"][i] or "").split("/")[:-1]:
            names[part].add(i)
    _add_to_prefixes(paths)
    rows_of = m.rows_of_variable
    for name, variables in _enclosing_layers(m.model).items():
        names[name].update(i for v in variables for i in rows_of.get(v, ()))
    for name, rows in paths.items():
        names[name] |= rows
    names.pop("", None)
    return {name: frozenset(rows) for name, rows in names.items() if rows}


def _add_to_prefixes(paths: dict[str, set[int]]) -> None:
    """Give every ``/``-prefix of a path (added when missing) the rows of the paths below
    it, deepest first."""
    by_depth: dict[int, list[str]] = defaultdict(list)
    for path in paths:
        by_depth[path.count("/")].append(path)
    for depth in range(max(by_depth, default=0), 0, -1):
        for path in by_depth[depth]:
            head = path.rpartition("/")[0]
            if head:
                if head not in paths:
                    by_depth[depth - 1].append(head)
                paths[head] |= paths[path]


def rows_of_variables(variables: list[Any]) -> dict[int, list[int]]:
    """``{id(variable): its rows}`` (cached per match as ``Match.rows_of_variable``)."""
    rows: dict[int, list[int]] = {}
    for i, v in enumerate(variables):
        rows.setdefault(id(v), []).append(i)
    return rows


def _enclosing_layers(model: Any) -> dict[str, set[int]]:
    """``{Keras name: ids of its variables}`` of every layer or nested model in ``model``.

    A nested model built on its own (a backbone) does not appear in its variables'
    paths, so this is the only way ``include="efficientnetb0"`` can name it.
    """
    flatten = getattr(model, "_flatten_layers", None)
    if flatten is None:
        return {}
    ids: dict[str, set[int]] = defaultdict(set)
    for layer in flatten(include_self=False, recursive=True):
        ids[layer.name].update(map(id, layer.weights))
    return ids


def _unknown(m: Match, entry: Any, argument: str) -> str:
    if not isinstance(entry, str):
        label = getattr(entry, "name", None) or type(entry).__name__
        return (
            f"{argument}: {label!r} is not part of the model "
            "(pass one of its layers, variables or submodule names)."
        )
    vocabulary = sorted(
        {n for n in rows_by_name(m) if "/" not in n}
        | {p.split("/")[0] for p in m.table["model_path"].iloc[: len(m.variables)] if p}
    )
    hint = did_you_mean(entry, vocabulary, cutoff=0.5)
    return f"{argument}: {entry!r} names no submodule, layer or variable of the model{hint}"
