"""Where Keras's own ``save_weights`` puts each variable of a live model.

A Keras 3 ``.weights.h5`` (also inside a ``.keras`` archive) nests its datasets by the
model's *structure* (``layers/dense_1/vars/0``, ``backbone/layers/…/vars/1``, attribute
names, ``container`` groups for lists), never by the layers' names, which repeat and change
from one instance of an architecture to the next. Rather than copy Keras's naming rules,
we run Keras's own saving walk against a store that records, for each ``…/vars/<i>`` it
is given, which object was put there. ``load_weights`` runs the same walk to read a file,
so the recorded place of a variable is the one Keras loads it from.

The writer of a file may also have been a submodule of the live model (a backbone's
``save_weights`` restored into a task model), or the live model a submodule of the writer:
:func:`placements` tries both and scores each by how many variables land on a stored
tensor of the same shape.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ckpt_widgets.errors import SelectionError, did_you_mean
from ckpt_widgets.files.graph import join

MAX_PREFIXES = 8
"""At most this many file groups are tried for one relative path (``vars/0`` is in each)."""


@dataclass
class SavedPaths:
    """What Keras's ``save_weights`` of one object writes, dataset path by dataset path."""

    variables: dict[int, str] = field(default_factory=dict)
    """Dataset path of each saved variable, keyed by ``id(variable)``; a variable written
    twice keeps its last path, the one ``load_weights`` leaves it with."""
    shapes: dict[int, tuple[int, ...]] = field(default_factory=dict)
    """Shape of each saved variable, keyed by ``id(variable)``."""
    computed: dict[str, str] = field(default_factory=dict)
    """Dataset paths holding a computed array, not a variable (e.g. a LoRA-merged kernel),
    with the name of the layer that wrote it."""


@dataclass
class Placement:
    """A way the file's datasets line up with the live model."""

    root: str
    """Group in the file where the writer's root sits (``""``: the file's root)."""
    module: Any
    """Live model or nested model that maps onto ``root``."""
    saved: SavedPaths
    """Where ``module``'s variables sit, relative to ``root``."""
    matched: int = 0
    mismatched: int = 0

    def key_of(self, variable: Any) -> str | None:
        """The dataset path Keras would load ``variable`` from, or None."""
        path = self.saved.variables.get(id(variable))
        return None if path is None else join(self.root, path)


def saved_paths(obj: Any) -> SavedPaths:
    """Run Keras's ``save_weights`` walk from ``obj`` and record where each value goes."""
    from keras.src.saving import saving_lib

    store = _recording_store_class()()
    saving_lib._save_state(
        obj, weights_store=store, assets_store=None, inner_path="", visited_saveables=set()
    )
    return store.result


def writer_roots(model: Any) -> list[Any]:
    """``model`` and its nested Keras models holding weights: whatever could have called
    ``save_weights`` (a layer alone cannot)."""
    import keras

    if not isinstance(model, keras.Model):
        raise SelectionError(
            f"A Keras weights file pairs with Keras models only, not with a "
            f"{type(model).__name__}; load it with Keras or pass a keras.Model."
        )
    nested = [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, keras.Model) and layer.weights
    ]
    return [model, *nested]


def placements(
    model: Any, stored: Mapping[str, tuple[int, ...]], root: str | None = None
) -> list[Placement]:
    """Every plausible placement of the file in ``model``, best first.

    ``stored``: shape of each of the file's model datasets, by path. ``root`` (a group of
    the file) fixes where the writer's root sits. The first placement is the best one by
    matched shapes; when none is convincing (as many mismatches as matches) it is the
    plain one: ``model`` itself at ``root`` (default: the file's root).
    """
    if root is not None and root not in _groups(stored):
        hint = did_you_mean(root, sorted(_groups(stored) - {""}))
        raise SelectionError(f"root={root!r} is no group of the Keras weights file{hint}")
    roots = writer_roots(model)
    plain = Placement(root or "", model, saved_paths(model))
    found = [_score(plain, stored)]
    prefixes = _prefixes(stored)
    for module in roots:
        saved = plain.saved if module is model else saved_paths(module)
        for group in [root] if root is not None else _candidate_roots(saved, stored, prefixes):
            if module is not model or group != plain.root:
                found.append(_score(Placement(group, module, saved), stored))
    # Equal matches: the model itself before a nested model (its extra mismatches are
    # stored tensors it places that the nested one leaves out), then fewer mismatches.
    found.sort(
        key=lambda p: (
            p.matched <= p.mismatched,
            -p.matched,
            p.module is not model,
            p.mismatched,
            len(p.root),
        )
    )
    if found[0].matched <= found[0].mismatched:
        found.remove(plain)
        found.insert(0, plain)
    return found


def _score(placement: Placement, stored: Mapping[str, tuple[int, ...]]) -> Placement:
    """Count the variables landing on a stored tensor of their shape, and the others."""
    saved = placement.saved
    for variable_id, path in saved.variables.items():
        shape = stored.get(join(placement.root, path))
        if shape is None:
            continue
        if shape == saved.shapes[variable_id]:
            placement.matched += 1
        else:
            placement.mismatched += 1
    return placement


def _prefixes(stored: Mapping[str, Any]) -> dict[str, list[str]]:
    """For each tail of a stored path (``layers/dense/vars/0``), the groups it follows."""
    prefixes: dict[str, list[str]] = {}
    for key in stored:
        parts = key.split("/")
        for cut in range(1, len(parts) - 1):
            prefixes.setdefault("/".join(parts[cut:]), []).append("/".join(parts[:cut]))
    return prefixes


def _candidate_roots(
    saved: SavedPaths, stored: Mapping[str, Any], prefixes: dict[str, list[str]]
) -> list[str]:
    """File groups under which many of ``saved``'s paths exist, most hits first."""
    hits: Counter[str] = Counter()
    for path in saved.variables.values():
        if path in stored:
            hits[""] += 1
        for prefix in prefixes.get(path, [])[:MAX_PREFIXES]:
            hits[prefix] += 1
    ranked = hits.most_common(MAX_PREFIXES)
    return [group for group, count in ranked if 2 * count >= ranked[0][1]]


def _groups(stored: Mapping[str, Any]) -> set[str]:
    """Every group of the file above a ``vars`` group (``""`` is the file's root)."""
    groups = {""}
    for key in stored:
        parts = key.split("/")
        groups.update("/".join(parts[:cut]) for cut in range(1, len(parts) - 1))
    return groups


@cache
def _recording_store_class() -> type:
    """A stand-in for Keras's ``H5IOStore`` that records what each layer would write.

    Keras's saving walk accepts only its own store types, so this subclasses one; it
    opens no file and keeps no values.
    """
    import keras
    from keras.src.saving import saving_lib

    class RecordingStore(saving_lib.H5IOStore):
        def __init__(self) -> None:
            self.result = SavedPaths()
            self.group = ""
            self.name = ""

        def __bool__(self) -> bool:
            return True

        def make(self, path: str, metadata: dict[str, Any] | None = None) -> RecordingStore:
            self.group = path
            self.name = str((metadata or {}).get("name", ""))
            return self

        def __setitem__(self, key: str, value: Any) -> None:
            path = join(self.group, "vars", str(key))
            if isinstance(value, keras.Variable):
                self.result.variables[id(value)] = path
                self.result.shapes[id(value)] = tuple(int(d) for d in value.shape)
            else:
                self.result.computed[path] = self.name

        def close(self) -> None:
            """Nothing to close."""

    return RecordingStore
