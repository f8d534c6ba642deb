"""Pair a live model's variables with a checkpoint's and give each pair a status.

The checkpoint may hold the model at its root, under an edge (``model``, ``net``), deeper
(``model/encoder``), or may hold a model that is now a *submodule* of the live one (a
classifier checkpoint whose network became the new model's ``backbone``). We find that
placement by aligning path suffixes on both sides, then score each candidate placement by
how many variables it resolves with equal shapes.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ckpt_widgets.errors import OptionError, RenameError, SelectionError, did_you_mean
from ckpt_widgets.files.graph import is_under, join, relative
from ckpt_widgets.files.open import open_checkpoint
from ckpt_widgets.files.source import CheckpointSource

from .align import Layer, align_layers, group_layers, pair_variables
from .keras_structure import Placement, placements
from .model import ModelGraph

if TYPE_CHECKING:
    import pandas as pd

STATUSES = ("match", "shape_mismatch", "dtype_mismatch", "missing", "unused", "untracked")
"""Every status, best first after ``match``: the widget shows a submodule's worst."""
SEVERITY = {
    "match": 0, "unused": 1, "missing": 2, "untracked": 3, "dtype_mismatch": 4,
    "shape_mismatch": 5,
}  # fmt: skip
COLUMNS = [
    "model_path", "ckpt_path", "key", "name", "layer", "module", "model_shape",
    "ckpt_shape", "model_dtype", "ckpt_dtype", "nbytes", "status", "group", "trainable",
    "paired_by", "reason", "node_id",
]  # fmt: skip
Rename = Mapping[str, Any] | Iterable[tuple[str, str]]
Rule = tuple["re.Pattern[str]", str, Any]
"""A compiled rename rule: pattern, replacement, and the rule as the user wrote it."""


def match(
    model: Any,
    src_or_path: Any,
    root: str | None = None,
    rename: Rename | None = None,
    align: bool = False,
) -> Match:
    """Pair ``model``'s variables with the checkpoint's; see :class:`Match`.

    ``align=True`` pairs what paths and ``rename`` leave unpaired layer by layer, by
    order, kind and shape (:mod:`ckpt_widgets.align`): the way from a Keras 2 checkpoint
    to the same architecture in Keras 3. Such rows have ``paired_by == "align"``; layers
    that could pair in several ways stay unpaired with ``paired_by == "ambiguous"``.
    """
    if root is not None and not isinstance(root, str):
        raise OptionError(
            f"root={root!r} is not an object path in the checkpoint such as 'model' or "
            "'model/backbone' (a string), nor None to find it."
        )
    source = open_checkpoint(src_or_path)
    graph = ModelGraph.of(model)
    return _Matcher(graph, source).run(root, rename, align)


@dataclass
class Match:
    """The result of :func:`match`: one row per model variable plus one per unused one."""

    model: Any = field(repr=False)
    source: CheckpointSource
    root: str
    """Checkpoint path where the model (or its ``model_root`` submodule) sits."""
    model_root: str
    """Object path of the live submodule that the checkpoint's model maps onto."""
    table: pd.DataFrame = field(repr=False)
    graph: ModelGraph = field(repr=False)
    variables: list[Any] = field(repr=False)
    """The live variable of each model row (the first ``len(variables)`` rows)."""
    candidates: pd.DataFrame = field(repr=False)
    """Placements considered: root, model_root, matched, mismatched."""
    alignment: pd.DataFrame | None = field(default=None, repr=False)
    """With ``align=True``: one row per model layer paired by alignment or ambiguous
    (``model_layer, layer, ckpt_layer, kind, paired_by, candidates``)."""

    @cached_property
    def columns(self) -> dict[str, list[Any]]:
        """:attr:`table` as plain lists per column, for fast row-by-row reading."""
        return {name: self.table[name].tolist() for name in self.table.columns}

    def counts(self) -> dict[str, int]:
        """Number of rows per status (every status present, zero if none)."""
        found = Counter(self.table["status"])
        return {s: int(found.get(s, 0)) for s in STATUSES}

    def rollup(self) -> pd.DataFrame:
        """Counts per status for every submodule of the model (its object path).

        Indexed by path (``""`` is the model itself); ``worst`` is the most severe status.
        """
        import pandas as pd

        counts: dict[str, Counter[str]] = {}
        model_rows = self.table.iloc[: len(self.variables)]
        for path, status in zip(model_rows["model_path"], model_rows["status"]):
            parts = path.split("/") if path else []
            for depth in range(len(parts)):
                counts.setdefault("/".join(parts[:depth]), Counter())[status] += 1
        frame = pd.DataFrame.from_dict(
            {p: {s: c.get(s, 0) for s in STATUSES} for p, c in counts.items()}, orient="index"
        )
        frame.index.name = "path"
        if frame.empty:
            return frame
        frame["total"] = frame[list(STATUSES)].sum(axis=1)
        frame["worst"] = [
            max((s for s in STATUSES if row[s]), key=SEVERITY.__getitem__)
            for _, row in frame.iterrows()
        ]
        return frame.sort_index()

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.counts().items() if v)
        return f"Match(root={self.root!r}, model_root={self.model_root!r}, {counts})"

    def _repr_html_(self) -> str:
        return f"<p>{self!r}</p>" + self.table.drop(columns=["node_id"]).to_html(max_rows=30)


class _Matcher:
    def __init__(self, graph: ModelGraph, source: CheckpointSource):
        self.graph = graph
        self.source = source
        # Plain lists: indexing pandas row by row costs more than the matching itself.
        self.live = {c: graph.variables[c].tolist() for c in graph.variables.columns}
        self.ckpt = {c: source.variables[c].tolist() for c in source.variables.columns}
        self.n_ckpt = len(source.variables)
        self.vars = list({id(v): v for v in graph.weights}.values())
        keys = source.variables["key"]
        self._tf1_rows = {k: j for j, k in enumerate(keys)} if source.pairs_by == "name" else {}
        self._keras_rows: dict[tuple[str, int], int] = {}
        self._placement: Placement | None = None  # Keras 3 files: set by _score_candidates
        self._inside: set[int] = set()
        self._rows_by_key: dict[str, int] = {}
        self._structural = source.pairs_by == "structure"
        if source.pairs_by == "layer":
            for j, (layer, index, group) in enumerate(
                zip(self.ckpt["layer"], self.ckpt["index"], self.ckpt["group"])
            ):
                if group == "model":
                    self._keras_rows.setdefault((layer, index), j)

    def run(self, root: str | None, rename: Rename | None, align: bool = False) -> Match:
        import pandas as pd

        candidates = self._score_candidates(root)
        best = candidates.iloc[0]
        c_root, l_root = str(best["root"]), str(best["model_root"])
        rows = [self._pair_by_path(i, c_root, l_root) for i in range(len(self.vars))]
        if rename is not None:
            self._apply_rename(rows, rename)
        alignment = self._apply_align(rows, c_root, l_root) if align else None
        self._refuse_shared_keys(rows)
        used = {r["node_id"] for r in rows if r["node_id"] >= 0} | {
            r["key"] for r in rows if r["key"]
        }
        ckpt = self.ckpt
        for i in range(self.n_ckpt):
            node, key = int(ckpt["node_id"][i]), ckpt["key"][i]
            if (node >= 0 and node in used) or key in used:
                continue
            rows.append(self._unused_row(i))
        table = pd.DataFrame(rows, columns=COLUMNS)
        return Match(
            model=self.graph.model,
            source=self.source,
            root=c_root,
            model_root=l_root,
            table=table,
            graph=self.graph,
            variables=self.vars,
            candidates=candidates,
            alignment=alignment,
        )

    # -- where does the model sit? --------------------------------------------------

    def _score_candidates(self, root: str | None) -> pd.DataFrame:
        import pandas as pd

        src = self.source
        if self._structural:
            return self._place_keras_file(root)
        if src.object_graph is None:
            pairs = [("", "")]
        elif root is not None:
            if src.resolve(root) is None:
                hint = did_you_mean(root, src.object_paths())
                raise SelectionError(f"root={root!r} is no object in '{src.prefix}'{hint}")
            pairs = [(root, ""), *(p for p in self._suffix_candidates() if p[0] == root)]
        else:
            pairs = [(self._default_root(), ""), ("", ""), *self._suffix_candidates()]
        scored = []
        for c_root, l_root in dict.fromkeys(pairs):
            matched, mismatched = self._score(c_root, l_root)
            scored.append((c_root, l_root, matched, mismatched))
        # A placement where mismatches are as many as matches is a coincidence of shapes.
        # When no placement is convincing, keep the first one offered (the default).
        first = scored[0]
        scored.sort(
            key=lambda r: (r[2] <= r[3], -r[2], r[3], r[1].count("/") + bool(r[1]), len(r[0]))
        )
        if scored[0][2] <= scored[0][3]:
            scored.remove(first)
            scored.insert(0, first)
        return pd.DataFrame(scored, columns=["root", "model_root", "matched", "mismatched"])

    def _place_keras_file(self, root: str | None) -> pd.DataFrame:
        """Placements of a Keras 3 file by its structural paths; keeps the best one."""
        import pandas as pd

        ckpt = self.ckpt
        stored = {
            path: shape
            for path, shape, group in zip(ckpt["path"], ckpt["shape"], ckpt["group"])
            if group == "model"
        }
        found = placements(self.graph.model, stored, root)
        self._placement = found[0]
        self._inside = {id(v) for v in found[0].module.weights}
        self._rows_by_key = {key: j for j, key in enumerate(ckpt["key"])}
        rows = [(p.root, self._module_path(p.module), p.matched, p.mismatched) for p in found]
        return pd.DataFrame(rows, columns=["root", "model_root", "matched", "mismatched"])

    def _module_path(self, module: Any) -> str:
        """Object path of a live (sub)model; ``""`` for the model or an untracked one."""
        return "" if module is self.graph.model else self.graph.path_of(module) or ""

    def _suffix_candidates(self) -> list[tuple[str, str]]:
        ckpt = self.ckpt
        index: dict[str, list[str]] = {}
        for path, node in zip(ckpt["path"], ckpt["node_id"]):
            if node >= 0:
                index.setdefault(_tail(path), []).append(path)
        live = [p for p in self.live["path"] if p]
        step = max(1, len(live) // 64)
        found: Counter[tuple[str, str]] = Counter()
        for lp in live[::step]:
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

    def _default_root(self) -> str:
        graph = self.source.object_graph
        edges = graph.children[0] if graph is not None else {}
        for name in ("model", "net", "network"):
            if name in edges:
                return name
        return ""

    def _score(self, c_root: str, l_root: str) -> tuple[int, int]:
        src = self.source
        matched = mismatched = 0
        shapes = self.ckpt["shape"]
        for path, shape in zip(self.live["path"], self.live["shape"]):
            if not path or not is_under(path, l_root):
                continue
            node = src.resolve(join(c_root, relative(path, l_root)))
            if node is None or not src.is_variable(node):
                continue
            if shapes[src.row_of(node)] == shape:
                matched += 1
            else:
                mismatched += 1
        return matched, mismatched

    # -- rows -----------------------------------------------------------------------

    def _model_row(self, i: int) -> dict[str, Any]:
        live = self.live
        return {
            "model_path": live["path"][i],
            "ckpt_path": None,
            "key": None,
            "name": live["name"][i],
            "layer": live["layer"][i],
            "module": live["module"][i],
            "model_shape": live["shape"][i],
            "ckpt_shape": None,
            "model_dtype": live["dtype"][i],
            "ckpt_dtype": None,
            "nbytes": int(live["nbytes"][i]),
            "status": "missing",
            "group": "model",
            "trainable": bool(live["trainable"][i]),
            "paired_by": "",
            "reason": "",
            "node_id": -1,
        }

    def _pair_by_path(self, i: int, c_root: str, l_root: str) -> dict[str, Any]:
        row = self._model_row(i)
        path = row["model_path"]
        if self._placement is not None:
            return self._pair_by_structure(i, row)
        if self.source.pairs_by == "layer":
            j = self._keras_rows.get((row["layer"], self.live["own_index"][i]))
            if j is None:
                row["reason"] = f"no weights of a layer named '{row['layer']}' in the file"
            else:
                self._fill_pair(row, j, "name")
            return row
        if self.source.pairs_by == "name":
            j = self._tf1_rows.get(row["name"])
            if j is None:
                row["reason"] = (
                    f"no variable named '{row['name']}' in the name-based checkpoint; "
                    "pass rename= to map its names"
                )
            else:
                self._fill_pair(row, j, "name")
            return row
        if not path:
            row["status"] = "untracked"
            row["reason"] = self.live["reason"][i]
            return row
        if not is_under(path, l_root):
            row["reason"] = f"outside '{l_root}', the submodule the checkpoint's model maps onto"
            return row
        ckpt_path = join(c_root, relative(path, l_root))
        node = self.source.resolve(ckpt_path)
        if node is None or not self.source.is_variable(node):
            row["reason"] = f"no variable at '{ckpt_path}' in the checkpoint"
            return row
        self._fill_pair(row, self.source.row_of(node), "path")
        return row

    def _pair_by_structure(self, i: int, row: dict[str, Any]) -> dict[str, Any]:
        """Pair row ``i`` with the dataset Keras's own ``load_weights`` reads it from."""
        placement = self._placement
        assert placement is not None
        key = placement.key_of(self.vars[i])
        if key is not None and key in self._rows_by_key:
            self._fill_pair(row, self._rows_by_key[key], "path")
        elif key is not None:
            row["reason"] = f"no tensor at '{key}' in the file, where Keras stores this variable"
        elif id(self.vars[i]) not in self._inside:
            where = self._module_path(placement.module) or placement.module.name
            row["reason"] = f"outside '{where}', the submodule the file's model maps onto"
        elif placement.saved.computed:
            row["reason"] = (
                f"Keras's save_weights stores computed values for some layers (e.g. a "
                f"LoRA-merged kernel) and none of them is this variable of '{row['layer']}': "
                "no stored tensor can be paired with it; load it with Keras's load_weights"
            )
        else:
            row["reason"] = "Keras's save_weights does not write this variable: nothing to pair"
        return row

    def _fill_pair(self, row: dict[str, Any], j: int, how: str) -> None:
        ckpt = self.ckpt
        row["ckpt_path"] = ckpt["path"][j]
        row["key"] = ckpt["key"][j]
        row["ckpt_shape"] = ckpt["shape"][j]
        row["ckpt_dtype"] = ckpt["dtype"][j]
        row["node_id"] = int(ckpt["node_id"][j])
        row["paired_by"] = how
        if row["ckpt_shape"] != row["model_shape"]:
            row["status"] = "shape_mismatch"
            row["reason"] = (
                f"checkpoint shape {row['ckpt_shape']} does not fit model shape "
                f"{row['model_shape']}; choose adapt='overlap' or 'zeros' to restore it"
            )
        elif row["ckpt_dtype"] != row["model_dtype"]:
            row["status"] = "dtype_mismatch"
            row["reason"] = (
                f"checkpoint dtype {row['ckpt_dtype']} differs from {row['model_dtype']}"
            )
        else:
            row["status"] = "match"
            row["reason"] = ""

    def _unused_row(self, j: int) -> dict[str, Any]:
        ckpt = self.ckpt
        return {
            "model_path": None,
            "ckpt_path": ckpt["path"][j],
            "key": ckpt["key"][j],
            "name": None,
            "layer": None,
            "module": None,
            "model_shape": None,
            "ckpt_shape": ckpt["shape"][j],
            "model_dtype": None,
            "ckpt_dtype": ckpt["dtype"][j],
            "nbytes": int(ckpt["nbytes"][j]),
            "status": "unused",
            "group": ckpt["group"][j],
            "trainable": None,
            "paired_by": "",
            "reason": "optimizer state" if ckpt["group"][j] == "optimizer" else "",
            "node_id": int(ckpt["node_id"][j]),
        }

    def _refuse_shared_keys(self, rows: list[dict[str, Any]]) -> None:
        """Unpair, as ambiguous, every set of rows that would take one stored tensor.

        Only an explicit ``rename`` may send one stored tensor to several variables; a
        pairing by name (a Keras 2 ``.h5`` into a model whose layer names repeat) must not.
        """
        takers: dict[str, list[int]] = {}
        for i, row in enumerate(rows):
            if row["key"] and row["paired_by"] != "rename":
                takers.setdefault(row["key"], []).append(i)
        for key, found in takers.items():
            if len(found) < 2:
                continue
            names = [f"'{rows[i]['model_path'] or rows[i]['name']}'" for i in found]
            more = f" and {len(names) - 2} more" if len(names) > 2 else ""
            how = {rows[i]["paired_by"] for i in found}
            why = f" by the layer name '{rows[found[0]]['layer']}'" if how == {"name"} else ""
            reason = (
                f"ambiguous: the stored '{key}' would go{why} to both {names[0]} and "
                f"{names[1]}{more}; pair them with rename= or in the widget"
            )
            for i in found:
                rows[i] = {**self._model_row(i), "paired_by": "ambiguous", "reason": reason}

    # -- rename ---------------------------------------------------------------------

    def _apply_rename(self, rows: list[dict[str, Any]], rename: Rename) -> None:
        """Pair what ``rename`` says; refuse a variable fed by two stored tensors, and (for
        pattern rules, not for a dict the user wrote) a stored tensor feeding two."""
        if hasattr(rename, "columns") and {"ckpt_path", "model_path"} <= set(rename.columns):
            rename = dict(zip(rename["ckpt_path"], rename["model_path"]))  # suggest_rename()
        if isinstance(rename, Mapping):
            pairs = [(self._live_row(t), self._ckpt_row(c)) for c, t in rename.items()]
        else:
            pairs = self._rule_pairs(compile_rules(rename))
        self._refuse_two_tensors_for_one_variable(pairs)
        for i, j in pairs:
            row = self._model_row(i)
            self._fill_pair(row, j, "rename")
            rows[i] = row
        if not isinstance(rename, Mapping):
            self._refuse_one_tensor_for_two_variables(rows, pairs)

    def _rule_pairs(self, rules: list[Rule]) -> list[tuple[int, int]]:
        """(model row, checkpoint row) for each stored name the rules turn into a model
        variable's name or path."""
        ckpt = self.ckpt
        pairs: list[tuple[int, int]] = []
        for j in range(self.n_ckpt):
            for candidate in dict.fromkeys((ckpt["path"][j], ckpt["key"][j])):
                new = apply_rules(rules, candidate)
                if new == candidate:
                    continue
                hits = self._rows_named(new)
                if hits:
                    pairs.append((self._only(hits, new), j))
                    break
        return pairs

    @cached_property
    def _rows_by(self) -> dict[str, dict[str, list[int]]]:
        """Model rows by object path and by Keras name (names may repeat)."""
        index: dict[str, dict[str, list[int]]] = {"path": {}, "name": {}}
        for column, rows in index.items():
            for i, value in enumerate(self.live[column]):
                if value:
                    rows.setdefault(value, []).append(i)
        return index

    def _rows_named(self, target: str) -> list[int]:
        """Model rows whose object path is ``target``, else whose Keras name is."""
        return self._rows_by["path"].get(target) or self._rows_by["name"].get(target, [])

    def _only(self, hits: list[int], target: str) -> int:
        """The one row in ``hits``; a Keras name shared by several variables is refused."""
        if len(hits) > 1:
            paths = ", ".join(f"'{self._live_label(i)}'" for i in hits[:3])
            raise RenameError(
                f"rename target '{target}' names {len(hits)} model variables ({paths}); "
                "name the one you mean by its object path."
            )
        return hits[0]

    def _refuse_two_tensors_for_one_variable(self, pairs: list[tuple[int, int]]) -> None:
        first: dict[int, int] = {}
        for i, j in pairs:
            k = first.setdefault(i, j)
            if k != j:
                raise RenameError(
                    f"rename= gives model variable '{self._live_label(i)}' two stored "
                    f"tensors, '{self.ckpt['path'][k]}' and '{self.ckpt['path'][j]}'; map "
                    "one stored tensor to each variable."
                )

    def _refuse_one_tensor_for_two_variables(
        self, rows: list[dict[str, Any]], pairs: list[tuple[int, int]]
    ) -> None:
        renamed = {i for i, _ in pairs}
        holders: dict[str, list[int]] = {}
        for k, row in enumerate(rows):
            if row["key"] and k not in renamed:
                holders.setdefault(row["key"], []).append(k)
        for i, j in pairs:
            other = next(iter(holders.get(self.ckpt["key"][j], [])), None)
            if other is not None:
                raise RenameError(
                    f"rename rules send stored '{self.ckpt['path'][j]}' to "
                    f"'{self._live_label(i)}' while it still pairs with "
                    f"'{self._live_label(other)}': one stored tensor would feed two "
                    f"variables; write a dict rename={{...}} to mean that, or add a rule that "
                    f"gives '{self._live_label(other)}' another stored tensor."
                )

    def _live_label(self, i: int) -> str:
        return str(self.live["path"][i] or self.live["name"][i])

    # -- align ----------------------------------------------------------------------

    def _apply_align(self, rows: list[dict[str, Any]], c_root: str, l_root: str) -> pd.DataFrame:
        import pandas as pd

        model_layers = self._unpaired_model_layers(rows, l_root)
        ckpt_layers = self._unpaired_ckpt_layers(rows, c_root)
        result = align_layers(model_layers, ckpt_layers)
        records = []
        for a, b in result.pairs:
            for i, j in pair_variables(model_layers[a], ckpt_layers[b]) or ():
                row = self._model_row(i)
                self._fill_pair(row, j, "align")
                rows[i] = row
            records.append(self._layer_record(model_layers[a], [ckpt_layers[b]], "align"))
        for models, ckpts in result.ambiguous:
            candidates = [ckpt_layers[b] for b in ckpts]
            theirs = ", ".join(f"'{c.label}'" for c in candidates)
            ours = ", ".join(
                f"'{model_layers[a].label}' ({self.live['layer'][model_layers[a].rows[0]]})"
                for a in models
            )
            reason = (
                f"ambiguous: the checkpoint's {theirs} and the model's {ours} have the same "
                f"kind and shapes ({candidates[0].describe()}) and their order does not "
                "tell which goes where; pair them with rename= or in the widget"
            )
            for a in models:
                for i in model_layers[a].rows:
                    rows[i]["paired_by"] = "ambiguous"
                    rows[i]["reason"] = reason
                records.append(self._layer_record(model_layers[a], candidates, "ambiguous"))
        columns = ["model_layer", "layer", "ckpt_layer", "kind", "paired_by", "candidates"]
        return pd.DataFrame(records, columns=columns)

    def _layer_record(self, model: Layer, ckpts: list[Layer], how: str) -> dict[str, Any]:
        return {
            "model_layer": model.label,
            "layer": self.live["layer"][model.rows[0]],
            "ckpt_layer": ckpts[0].label if how == "align" else None,
            "kind": model.describe(),
            "paired_by": how,
            "candidates": [c.label for c in ckpts],
        }

    def _unpaired_model_layers(self, rows: list[dict[str, Any]], l_root: str) -> list[Layer]:
        """The model's layers whose variables are still unpaired, in ``model.weights`` order."""
        numbered = self.source.pairs_by == "structure"  # variables named by index only
        live = self.live
        layers = group_layers(
            (
                model_layer_label(row["model_path"], live["module"][i], live["layer"][i]),
                str(live["own_index"][i]) if numbered else row["name"],
                row["model_shape"],
                i,
            )
            for i, row in enumerate(rows)
            if not row["paired_by"] and (not l_root or is_under(row["model_path"] or "", l_root))
        )
        return list(layers.values())

    def _unpaired_ckpt_layers(self, rows: list[dict[str, Any]], c_root: str) -> list[Layer]:
        """The checkpoint's unpaired model variables grouped by owner, in stored order."""
        ckpt, src = self.ckpt, self.source
        used = {r["key"] for r in rows if r["key"]}
        order = list(range(self.n_ckpt))
        graph = src.object_graph
        if graph is not None:
            start = graph.resolve(c_root)
            rank = graph.depth_first(0 if start is None else start)
            order.sort(key=lambda j: rank.get(int(ckpt["node_id"][j]), len(rank) + j))
        layers = group_layers(
            (
                src.layer_of(ckpt["path"][j]),
                ckpt["path"][j],
                ckpt["shape"][j],
                j,
            )
            for j in order
            if ckpt["group"][j] == "model"
            and ckpt["key"][j] not in used
            and (graph is None or is_under(ckpt["path"][j], c_root))
        )
        return list(layers.values())

    def _live_row(self, target: Any) -> int:
        if not isinstance(target, str):
            for i, v in enumerate(self.vars):
                if v is target:
                    return i
            raise RenameError(f"rename target {target!r} is not a variable of the model.")
        hits = self._rows_named(target)
        if hits:
            return self._only(hits, target)
        names = list(self.live["name"]) + [p for p in self.live["path"] if p]
        hint = did_you_mean(target, names)
        raise RenameError(f"rename target '{target}' is no model variable{hint}")

    def _ckpt_row(self, name: str) -> int:
        if not isinstance(name, str):
            raise RenameError(
                f"rename key {name!r} is not a checkpoint path or key: use strings as keys."
            )
        try:
            key = self.source.key_of(name)
        except KeyError as exc:
            raise RenameError(str(exc.args[0])) from None
        hits = self.source.variables.index[self.source.variables["key"] == key]
        return int(hits[0])


def compile_rules(rename: Any) -> list[Rule]:
    """``rename`` as checked, compiled (pattern, replacement) rules; :class:`RenameError`
    names the first rule that is not a pair of strings or does not compile."""
    if isinstance(rename, (str, bytes)) or not isinstance(rename, Iterable):
        raise RenameError(
            f"rename={rename!r} is neither a dict {{checkpoint name: model variable}} nor a "
            "list of (pattern, replacement) rules."
        )
    rules = []
    for rule in rename:
        if not (
            isinstance(rule, (tuple, list))
            and len(rule) == 2
            and all(isinstance(part, str) for part in rule)
        ):
            raise RenameError(
                f"rename rule {rule!r} is not a (pattern, replacement) pair of strings."
            )
        try:
            pattern = re.compile(rule[0])
            _check_replacement(pattern, rule[1])
        except (re.error, IndexError) as exc:
            raise RenameError(f"rename rule {tuple(rule)!r} is invalid: {exc}.") from None
        rules.append((pattern, rule[1], tuple(rule)))
    return rules


def _check_replacement(pattern: re.Pattern[str], replacement: str) -> None:
    """Raise ``re.error`` / ``IndexError`` for a group the replacement names but the
    pattern lacks, before any name is rewritten (an optional copy of the pattern matches
    the empty string with the same groups)."""
    try:
        probe = re.compile(f"(?:{pattern.pattern})?", pattern.flags)
    except re.error:  # e.g. inline flags that must open the pattern: checked when used
        return
    match = probe.match("")
    if match is not None:
        match.expand(replacement)


def apply_rules(rules: list[Rule], name: str) -> str:
    """``name`` rewritten by each rule in turn."""
    for pattern, replacement, rule in rules:
        try:
            name = pattern.sub(replacement, name)
        except (re.error, IndexError) as exc:
            raise RenameError(f"rename rule {rule!r} is invalid: {exc}.") from None
    return name


def model_layer_label(path: str | None, module: str, layer: str) -> str:
    """How alignment names a model layer: its object path, or its Keras name if untracked."""
    return module if path else f"{layer} (untracked)"


def _tail(path: str) -> str:
    return "/".join(path.rsplit("/", 2)[-2:])
