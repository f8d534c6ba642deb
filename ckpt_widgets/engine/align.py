"""Pair layers by order, kind and shape where object paths do not line up.

A Keras 2 checkpoint names a Functional model's layers ``layer_with_weights-N``; the same
architecture rebuilt in Keras 3 is tracked as ``_operations/M``. Nothing in the paths
lines up, but the layers come in the same order and each has the same variables
(``kernel``/``bias``, ``gamma``/``beta``/``moving_mean``/``moving_variance``, …) with the
same shapes. We align the two ordered lists of layers like a diff (longest common
subsequence of equal kinds). A pair is taken only when every best alignment agrees on it;
otherwise the layers involved are reported as ambiguous, never guessed.

This module knows nothing of TensorFlow: it works on plain :class:`Layer` descriptions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

ALIASES = {"depthwise_kernel": "kernel"}
"""Variable names that Keras 2 and Keras 3 spell differently for the same role."""


@dataclass
class Layer:
    """One layer's own variables, as ``(name, shape)``, and their rows in the table."""

    label: str
    names: list[str]
    shapes: list[tuple[int, ...]]
    rows: list[int] = field(default_factory=list)

    @property
    def kind(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """What makes two layers interchangeable: their variables' roles and shapes."""
        return tuple(sorted(zip((role(n) for n in self.names), self.shapes)))

    def describe(self) -> str:
        """``kernel (4, 8) + bias (8,)``."""
        return " + ".join(f"{role(n)} {tuple(s)}" for n, s in zip(self.names, self.shapes))


@dataclass
class Alignment:
    """Paired layers and the groups of layers that could be paired in several ways."""

    pairs: list[tuple[int, int]]
    """``(model layer, checkpoint layer)`` indices, certain."""
    ambiguous: list[tuple[list[int], list[int]]]
    """``(model layers, checkpoint layers)`` that cannot be told apart by order."""


def group_layers(variables: Iterable[tuple[str, str, tuple[int, ...], int]]) -> dict[str, Layer]:
    """Layers from ``(layer label, variable name, shape, row)``, in first-seen order."""
    layers: dict[str, Layer] = {}
    for label, name, shape, row in variables:
        layer = layers.setdefault(label, Layer(label, [], []))
        layer.names.append(name)
        layer.shapes.append(shape)
        layer.rows.append(row)
    return layers


def role(name: str) -> str:
    """A variable's role from its name: ``_kernel`` and ``kernel:0`` are ``kernel``."""
    name = name.rsplit("/", 1)[-1].split(":", 1)[0].lstrip("_")
    return ALIASES.get(name, name)


def align_layers(model: list[Layer], ckpt: list[Layer]) -> Alignment:
    """Align two ordered lists of layers by kind; see the module docstring."""
    a = [layer.kind for layer in model]
    b = [layer.kind for layer in ckpt]
    if a == b:
        return Alignment(pairs=[(i, i) for i in range(len(a))], ambiguous=[])
    partners_of_model, partners_of_ckpt = _optimal_partners(a, b)
    pairs = [
        (i, js[0])
        for i, js in sorted(partners_of_model.items())
        if len(js) == 1 and len(partners_of_ckpt[js[0]]) == 1
    ]
    paired = {i for i, _ in pairs}
    return Alignment(pairs=pairs, ambiguous=_components(partners_of_model, paired))


def pair_variables(model: Layer, ckpt: Layer) -> list[tuple[int, int]] | None:
    """Pair two layers' variables by role (``(model row, checkpoint row)``), or ``None``.

    Roles pair first by name; one variable left on each side pairs if shapes agree.
    """
    if model.kind != ckpt.kind:
        return None
    left = {role(n): k for k, n in enumerate(ckpt.names)}
    pairs, rest = [], []
    for k, name in enumerate(model.names):
        j = left.pop(role(name), None)
        if j is None:
            rest.append(k)
        else:
            pairs.append((k, j))
    if len(rest) != len(left):
        return None
    pairs.extend(zip(rest, left.values()))
    if any(model.shapes[k] != ckpt.shapes[j] for k, j in pairs):
        return None
    return [(model.rows[k], ckpt.rows[j]) for k, j in pairs]


def _optimal_partners(a: list, b: list) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """For each side, the partners each layer has in some longest common subsequence."""
    n, m = len(a), len(b)
    forward = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n):
        row, nxt = forward[i], forward[i + 1]
        for j in range(m):
            nxt[j + 1] = row[j] + 1 if a[i] == b[j] else max(row[j + 1], nxt[j])
    backward = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, nxt = backward[i], backward[i + 1]
        for j in range(m - 1, -1, -1):
            row[j] = nxt[j + 1] + 1 if a[i] == b[j] else max(nxt[j], row[j + 1])
    best = forward[n][m]
    by_kind: dict[tuple, list[int]] = {}
    for j, kind in enumerate(b):
        by_kind.setdefault(kind, []).append(j)
    of_model: dict[int, list[int]] = {}
    of_ckpt: dict[int, list[int]] = {}
    for i, kind in enumerate(a):
        for j in by_kind.get(kind, ()):
            if forward[i][j] + 1 + backward[i + 1][j + 1] == best:
                of_model.setdefault(i, []).append(j)
                of_ckpt.setdefault(j, []).append(i)
    return of_model, of_ckpt


def _components(
    partners: dict[int, list[int]], paired: set[int]
) -> list[tuple[list[int], list[int]]]:
    """Connected groups of the uncertain candidate pairs: who could go with whom."""
    groups: list[tuple[list[int], list[int]]] = []
    seen: set[int] = set()
    reverse: dict[int, list[int]] = {}
    for i, js in partners.items():
        if i not in paired:
            for j in js:
                reverse.setdefault(j, []).append(i)
    for start in sorted(partners):
        if start in paired or start in seen:
            continue
        models, ckpts, stack = set(), set(), [start]
        while stack:
            i = stack.pop()
            if i in models:
                continue
            models.add(i)
            for j in partners[i]:
                ckpts.add(j)
                stack.extend(reverse.get(j, ()))
        seen |= models
        groups.append((sorted(models), sorted(ckpts)))
    return groups
