"""Where the model sits in the checkpoint: its root placement.

The checkpoint may hold the model at its root, under an edge (``model``, ``net``), deeper
(``model/encoder``), or may hold a model that is now a *submodule* of the live one (a
classifier checkpoint whose network became the new model's ``backbone``). Candidate
placements come from aligning path suffixes on both sides (plus the default root); each
is scored by how many variables it resolves with equal shapes. A Keras 3 weights file is
placed by its structural paths instead (:mod:`.keras_structure`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ckpt_widgets.errors import SelectionError, did_you_mean
from ckpt_widgets.files.graph import is_under, relative

from .keras_structure import Placement, placements

if TYPE_CHECKING:
    import pandas as pd

    from .model import ModelGraph

CANDIDATE_COLUMNS = ["root", "model_root", "matched", "mismatched"]
DEFAULT_ROOTS = ("model", "net", "network")
"""Edges a model is usually saved under, tried first when no root is given."""
Columns = dict[str, list[Any]]


@dataclass
class Placed:
    """The placements considered, best first, and for a Keras 3 file the chosen one."""

    candidates: pd.DataFrame
    """Columns ``root, model_root, matched, mismatched``; the first row wins."""
    keras: Placement | None = None
    """Keras 3 weights file: the structural placement chosen (pairs by Keras's own paths)."""
    inside: set[int] = field(default_factory=set)
    """Keras 3 weights file: ``id`` of every variable of the placed submodule."""
    nodes: list[int | None] = field(default_factory=list)
    """Object graph placement: per model row, the stored variable node the first
    candidate pairs it with (see :func:`variable_nodes`), looked up once while scoring."""


def place(graph: ModelGraph, source: Any, live: Columns, ckpt: Columns, root: str | None) -> Placed:
    """Score the placements of ``graph``'s model in ``source`` (``root`` given: only there).

    ``live`` and ``ckpt`` are both sides' variables tables as plain lists per column.
    Raises :class:`SelectionError` for a ``root`` that is no object of the checkpoint.
    """
    import pandas as pd

    if source.pairs_by == "structure":
        return _place_keras_file(graph, ckpt, root, source.path)
    resolve = Resolver(source)
    nodes = {
        (ckpt_root, model_root): variable_nodes(source, live, ckpt_root, model_root, resolve)
        for ckpt_root, model_root in dict.fromkeys(_offered(source, live, ckpt, root))
    }
    scored = [(*placement, *score(source, live, ckpt, found)) for placement, found in nodes.items()]
    ranked = rank(scored)
    refuse_a_tie(ranked, scored[0], lambda c: (source.resolve(c[0]), c[1]), source.prefix)
    best = ranked[0]
    return Placed(pd.DataFrame(ranked, columns=CANDIDATE_COLUMNS), nodes=nodes[best[0], best[1]])


def rank(scored: list[tuple[str, str, int, int]]) -> list[tuple[str, str, int, int]]:
    """``(root, model_root, matched, mismatched)`` best first.

    A placement where mismatches are as many as matches is a coincidence of shapes; when
    no placement is convincing, the first one offered (the default) stays first, and it
    wins a tie (``Checkpoint(model=m, ema=e)``: ``model``, not the shorter ``ema``).
    """
    first = scored[0]
    ranked = sorted(
        scored,
        key=lambda r: (
            r[2] <= r[3], -r[2], r[3], r[1].count("/") + bool(r[1]), r is not first, len(r[0])
        ),
    )  # fmt: skip
    if ranked[0][2] <= ranked[0][3]:
        ranked.remove(first)
        ranked.insert(0, first)
    return ranked


def refuse_a_tie(
    ranked: list[tuple[str, str, int, int]],
    default: tuple[str, str, int, int],
    identity: Callable[[tuple[str, str, int, int]], Any],
    where: str,
) -> None:
    """Raise :class:`SelectionError` when another placement explains exactly as many
    variables as the best one, which is not ``default``: a checkpoint holding two models of
    one architecture (a GAN's ``generator`` and ``discriminator``), or a model holding two
    submodules alike, leaves no ground to choose by. ``identity`` tells placements that
    read the same stored tensors apart from rivals.
    """
    best = ranked[0]
    if best is default or best[2] <= best[3]:
        return
    rival = next(
        (r for r in ranked[1:] if r[2:] == best[2:] and identity(r) != identity(best)), None
    )
    if rival is None:
        return
    if rival[1] == best[1]:
        advice = f"pass root={best[0]!r} or root={rival[0]!r} to say which to restore from"
    else:
        advice = "restore into the one you mean itself, e.g. cw.restore(model.<submodule>, …)"
    raise SelectionError(
        f"'{where}' fits the model equally well in two places, {_place(best)} and "
        f"{_place(rival)} ({best[2]} variables each), and nothing tells which is meant: "
        f"{advice}."
    )


def _place(candidate: tuple[str, str, int, int]) -> str:
    onto = f" onto the model's {candidate[1]!r}" if candidate[1] else ""
    return f"{candidate[0] or '(root)'!r}{onto}"


def _offered(source: Any, live: Columns, ckpt: Columns, root: str | None) -> list[tuple[str, str]]:
    """The (checkpoint root, model root) pairs worth scoring, the default first."""
    if source.object_graph is None:
        return [("", "")]
    if root is None:
        return [(default_root(source), ""), ("", ""), *suffix_candidates(live, ckpt)]
    if source.resolve(root) is None:
        hint = did_you_mean(root, source.object_paths())
        raise SelectionError(f"root={root!r} is no object in '{source.prefix}'{hint}")
    return [(root, ""), *(p for p in suffix_candidates(live, ckpt) if p[0] == root)]


def default_root(source: Any) -> str:
    """The first of :data:`DEFAULT_ROOTS` that is an edge of the checkpoint's root, else ``""``."""
    edges = source.object_graph.children[0] if source.object_graph is not None else {}
    return next((name for name in DEFAULT_ROOTS if name in edges), "")


def suffix_candidates(live: Columns, ckpt: Columns) -> list[tuple[str, str]]:
    """(checkpoint root, model root) pairs under which sampled model paths and stored
    paths share their longest suffix, most frequent first."""
    index: dict[str, list[str]] = {}
    for path, node in zip(ckpt["path"], ckpt["node_id"]):
        if node >= 0:
            index.setdefault(_tail(path), []).append(path)
    paths = [p for p in live["path"] if p]
    step = max(1, len(paths) // 64)
    found: Counter[tuple[str, str]] = Counter()
    for lp in paths[::step]:
        lparts = lp.split("/")
        for cp in index.get(_tail(lp), [])[:50]:
            cparts = cp.split("/")
            k = 0
            while k < min(len(lparts), len(cparts)) and lparts[-1 - k] == cparts[-1 - k]:
                k += 1
            found["/".join(cparts[: len(cparts) - k]), "/".join(lparts[: len(lparts) - k])] += 1
    ranked = found.most_common(12)
    # Placements that explain under half as many sampled variables as the best one
    # cannot win; scoring each costs a pass over every variable.
    return [pair for pair, hits in ranked if 2 * hits >= ranked[0][1]]


class Resolver:
    """:meth:`source.resolve <ckpt_widgets.CheckpointSource.resolve>`, each folder resolved
    once: the 10 000 variables of a model sit in a few hundred folders."""

    def __init__(self, source: Any):
        self.source = source
        graph = source.object_graph
        self.children: list[dict[str, int]] | None = None if graph is None else graph.children
        self.folders: dict[str, int | None] = {}

    def __call__(self, path: str) -> int | None:
        """The node at ``path`` in the checkpoint's object graph, or None."""
        if self.children is None or not path:
            return self.source.resolve(path)
        folder, _, edge = path.rpartition("/")
        if folder in self.folders:
            base = self.folders[folder]
        else:
            base = self.folders[folder] = self.source.resolve(folder)
        return None if base is None else self.children[base].get(edge)


def variable_nodes(
    source: Any, live: Columns, ckpt_root: str, model_root: str, resolve: Resolver
) -> list[int | None]:
    """Per model row, the stored variable at its path relative to ``model_root`` under
    ``ckpt_root``: its node, or None (untracked, outside ``model_root``, nothing stored there
    or no variable)."""
    prefix = f"{ckpt_root}/" if ckpt_root else ""
    nodes: list[int | None] = []
    for path in live["path"]:
        if not path or not is_under(path, model_root):
            nodes.append(None)
            continue
        inner = relative(path, model_root)
        node = resolve(prefix + inner if inner else ckpt_root)
        nodes.append(node if node is not None and source.is_variable(node) else None)
    return nodes


def score(source: Any, live: Columns, ckpt: Columns, nodes: list[int | None]) -> tuple[int, int]:
    """How many model variables find a stored variable (``nodes``, see
    :func:`variable_nodes`): (with the same shape, with another shape)."""
    matched = mismatched = 0
    shapes = ckpt["shape"]
    for node, shape in zip(nodes, live["shape"]):
        if node is None:
            continue
        if shapes[source.row_of(node)] == shape:
            matched += 1
        else:
            mismatched += 1
    return matched, mismatched


def module_path(graph: ModelGraph, module: Any) -> str:
    """Object path of a live (sub)model; ``""`` for the model or an untracked one."""
    return "" if module is graph.model else graph.path_of(module) or ""


def _place_keras_file(graph: ModelGraph, ckpt: Columns, root: str | None, where: str) -> Placed:
    """Placements of a Keras 3 file by its structural paths; keeps the best one."""
    import pandas as pd

    stored = {
        path: shape
        for path, shape, group in zip(ckpt["path"], ckpt["shape"], ckpt["group"])
        if group == "model"
    }
    found = placements(graph.model, stored, root)
    rows = [(p.root, module_path(graph, p.module), p.matched, p.mismatched) for p in found]
    plain = next(
        r for r, p in zip(rows, found) if p.module is graph.model and p.root == (root or "")
    )
    ids = {id(r): (p.root, id(p.module)) for r, p in zip(rows, found)}
    refuse_a_tie(rows, plain, lambda r: ids[id(r)], where)
    return Placed(
        pd.DataFrame(rows, columns=CANDIDATE_COLUMNS),
        keras=found[0],
        inside={id(v) for v in found[0].module.weights},
    )


def _tail(path: str) -> str:
    return "/".join(path.rsplit("/", 2)[-2:])
