"""Turn ``include`` / ``exclude`` arguments into a set of model variables.

An entry is a Keras layer or model, a variable, or a string: an object path from the
model (``"backbone"``, ``"backbone/_functional/_operations/1"``), a Keras layer name
(``"conv1"``), a Keras variable path (``"net/conv1/kernel"``), or a glob of any of those
(``"conv*"``).
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from ckpt_widgets.errors import SelectionError, did_you_mean

from .model import is_variable

if TYPE_CHECKING:
    from .matching import Match

GLOB_CHARS = frozenset("*?[")


def select(m: Match, entries: Any, argument: str = "include") -> set[int]:
    """Model row numbers (into ``m.table``) named by ``entries``."""
    found: set[int] = set()
    listed = _as_list(entries)
    # Names are worked out only when a name is given: layers and variables need none.
    names = m.names_per_row if any(isinstance(e, str) for e in listed) else []
    for entry in listed:
        rows = _rows_for(m, entry, names)
        if not rows:
            raise SelectionError(_unknown(m, entry, names, argument))
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


def _rows_for(m: Match, entry: Any, names: list[set[str]]) -> set[int]:
    if isinstance(entry, str):
        if GLOB_CHARS & set(entry):
            return {i for i, row in enumerate(names) if any(fnmatchcase(n, entry) for n in row)}
        return {i for i, row in enumerate(names) if entry in row}
    rows_of = m.rows_of_variable
    variables = entry.weights if hasattr(entry, "weights") else [entry]
    return {i for v in variables for i in rows_of.get(id(v), ())}


def rows_of_variables(variables: list[Any]) -> dict[int, list[int]]:
    """``{id(variable): its rows}`` (cached per match as ``Match.rows_of_variable``)."""
    rows: dict[int, list[int]] = {}
    for i, v in enumerate(variables):
        rows.setdefault(id(v), []).append(i)
    return rows


def names_of_rows(m: Match) -> list[set[str]]:
    """Every name each model row answers to (cached per match as ``Match.names_per_row``)."""
    cols = m.columns
    enclosing = _enclosing_layer_names(m.model)
    out = []
    for i in range(len(m.variables)):
        names: set[str] = set()
        for value in (cols["model_path"][i], cols["name"][i]):
            if value:
                parts = value.split("/")
                names.update("/".join(parts[: k + 1]) for k in range(len(parts)))
        keras_parts = (cols["name"][i] or "").split("/")[:-1]
        names.update(keras_parts)
        if cols["layer"][i]:
            names.add(cols["layer"][i])
        names.update(enclosing.get(id(m.variables[i]), ()))
        out.append(names)
    return out


def _enclosing_layer_names(model: Any) -> dict[int, set[str]]:
    """Keras names of every layer or nested model holding each variable (by ``id``).

    A nested model built on its own (a backbone) does not appear in its variables'
    paths, so this is the only way ``include="efficientnetb0"`` can name it.
    """
    flatten = getattr(model, "_flatten_layers", None)
    if flatten is None:
        return {}
    names: dict[int, set[str]] = {}
    for layer in flatten(include_self=False, recursive=True):
        for variable in layer.weights:
            names.setdefault(id(variable), set()).add(layer.name)
    return names


def _unknown(m: Match, entry: Any, names: list[set[str]], argument: str) -> str:
    if not isinstance(entry, str):
        label = getattr(entry, "name", None) or type(entry).__name__
        return (
            f"{argument}: {label!r} is not part of the model "
            "(pass one of its layers, variables or submodule names)."
        )
    vocabulary = sorted(
        {n for row in names for n in row if "/" not in n}
        | {p.split("/")[0] for p in m.table["model_path"].iloc[: len(m.variables)] if p}
    )
    hint = did_you_mean(entry, vocabulary, cutoff=0.5)
    return f"{argument}: {entry!r} names no submodule, layer or variable of the model{hint}"
