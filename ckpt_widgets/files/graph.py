"""Breadth-first walks that name every node of an object graph by its path.

TensorFlow names each object by its shortest path from the root. We do the same, with one
twist: edges into optimizers are walked last, so a model variable that an optimizer also
tracks (``optimizer/_trainable_variables/N``) is named by its path through the model.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

Node = TypeVar("Node", bound=Hashable)


@dataclass(frozen=True)
class Walk(Generic[Node]):
    """The result of :func:`walk`: a path per node, in breadth-first order."""

    paths: dict[Node, str]
    """Preferred ``/``-joined path of each reached node (``""`` for the root)."""
    deferred: set[Node]
    """Nodes reachable only through a deferred edge (optimizer state)."""


def walk(
    root: Node,
    children: Callable[[Node], Iterable[tuple[str, Node]]],
    is_deferred: Callable[[str, Node], bool],
) -> Walk[Node]:
    """Name every node reachable from ``root`` by its shortest path.

    Edges for which ``is_deferred(name, child)`` holds are followed only once every node
    reachable without them has been named.
    """
    paths: dict[Node, str] = {root: ""}
    queue: deque[Node] = deque([root])
    postponed: list[tuple[str, Node]] = []
    while queue:
        node = queue.popleft()
        base = paths[node]
        for name, child in children(node):
            path = f"{base}/{name}" if base else name
            if is_deferred(name, child):
                postponed.append((path, child))
            elif child not in paths:
                paths[child] = path
                queue.append(child)
    deferred: set[Node] = set()
    for path, child in postponed:
        if child not in paths:
            paths[child] = path
            deferred.add(child)
            queue.append(child)
    while queue:
        node = queue.popleft()
        base = paths[node]
        for name, child in children(node):
            if child not in paths:
                paths[child] = f"{base}/{name}" if base else name
                deferred.add(child)
                queue.append(child)
    return Walk(paths, deferred)


def is_under(path: str, prefix: str) -> bool:
    """Whether ``path`` is ``prefix`` itself or lies below it."""
    return not prefix or path == prefix or path.startswith(prefix + "/")


def relative(path: str, prefix: str) -> str:
    """``path`` with ``prefix`` removed (``path`` must lie under ``prefix``)."""
    if not prefix:
        return path
    return "" if path == prefix else path[len(prefix) + 1 :]


def join(*parts: str) -> str:
    """Join path parts, skipping empty ones."""
    return "/".join(p for p in parts if p)
