"""Pair a live model's variables with a checkpoint's and give each pair a status.

:func:`match` runs the steps in order: place the model in the checkpoint
(:mod:`.placement`), pair each variable by path (or by Keras's structure, or by name),
apply ``rename`` (:mod:`.rename`), align what is left layer by layer with ``align=True``
(:mod:`.pairing`), unpair what would take one stored tensor twice, and list the stored
variables nothing took. :class:`Match` is the result.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ckpt_widgets.errors import OptionError
from ckpt_widgets.files.graph import is_under, join, relative
from ckpt_widgets.files.open import open_checkpoint
from ckpt_widgets.files.source import CheckpointSource

from .model import ModelGraph
from .pairing import align_unpaired
from .placement import Placed, module_path, place
from .rename import Rename, Renamer
from .selection import rows_of_variables

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
        return _lists(self.table)

    @cached_property
    def model_columns(self) -> dict[str, list[Any]]:
        """The model's variables table (:func:`~ckpt_widgets.model_variables`) as lists."""
        return _lists(self.graph.variables)

    @cached_property
    def source_columns(self) -> dict[str, list[Any]]:
        """The checkpoint's variables table as plain lists per column."""
        return _lists(self.source.variables)

    @cached_property
    def rows_of_variable(self) -> dict[int, list[int]]:
        """``{id(variable): its model rows}``: a selection of 10 000 variables would
        otherwise cost 10 000 passes over the model."""
        return rows_of_variables(self.variables)

    def model_changed(self) -> str | None:
        """How the model's variables changed since this Match was made (``"2 added, 2
        removed"``: a layer added, popped or rebuilt), or None if they are the same ones."""
        current = {id(v) for v in getattr(self.model, "weights", None) or []}
        known = {id(v) for v in self.variables}  # held here: their ids cannot be reused
        if current == known:
            return None
        return f"{len(current - known)} added, {len(known - current)} removed"

    def counts(self) -> dict[str, int]:
        """Number of rows per status (every status present, zero if none)."""
        found = Counter(self.table["status"])
        return {s: int(found.get(s, 0)) for s in STATUSES}

    def found(self) -> int:
        """Model variables stored where the placement puts them, whatever their shape or
        dtype; 0 means the file looks like a checkpoint of another model."""
        counts = self.counts()
        return counts["match"] + counts["shape_mismatch"] + counts["dtype_mismatch"]

    def breakdown(self) -> dict[str, int]:
        """:meth:`counts`, plus ``optimizer`` (the unused rows that are optimizer state)
        and ``renamed`` (the pairs ``rename`` made)."""
        table = self.table
        unused = table["status"] == "unused"
        return {
            **self.counts(),
            "optimizer": int((unused & (table["group"] == "optimizer")).sum()),
            "renamed": int((table["paired_by"] == "rename").sum()),
        }

    def model_size(self) -> tuple[int, int]:
        """The model's variables in all: ``(params, nbytes)``, elements and bytes."""
        model_rows = self.table.iloc[: len(self.variables)]
        params = sum(math.prod(map(int, shape)) for shape in model_rows["model_shape"])
        return params, int(model_rows["nbytes"].sum())

    def rollup(self) -> pd.DataFrame:
        """Counts per status for every submodule of the model (its object path).

        Indexed by path (``""`` is the model itself); ``label`` (first) is its readable
        name (``backbone/conv1``, see :mod:`.names`); ``worst`` is the most severe status.
        """
        import pandas as pd

        from .names import readable_module_names

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
        frame.insert(0, "label", readable_module_names(self.graph, frame.index.tolist()))
        return frame.sort_index()

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.counts().items() if v)
        return f"Match(root={self.root!r}, model_root={self.model_root!r}, {counts})"

    def _repr_html_(self) -> str:
        return f"<p>{self!r}</p>" + self.table.drop(columns=["node_id"]).to_html(max_rows=30)


class _Matcher:
    """One :func:`match` run: both sides' tables as plain lists, and the rows built."""

    def __init__(self, graph: ModelGraph, source: CheckpointSource):
        self.graph = graph
        self.source = source
        # Plain lists: indexing pandas row by row costs more than the matching itself.
        self.live = _lists(graph.variables)
        self.ckpt = _lists(source.variables)
        self.vars = list({id(v): v for v in graph.weights}.values())
        self.placed: Placed  # where the model sits: set first by run()

    def run(self, root: str | None, rename: Rename | None, align: bool = False) -> Match:
        import pandas as pd

        self.placed = place(self.graph, self.source, self.live, self.ckpt, root)
        best = self.placed.candidates.iloc[0]
        ckpt_root, model_root = str(best["root"]), str(best["model_root"])
        rows = [self._pair_by_path(i, ckpt_root, model_root) for i in range(len(self.vars))]
        if self.source.pairs_by in ("layer", "name"):
            self._unpair_renumbered_layers(rows, leave_to_align=align)
        if rename is not None:
            self._apply_rename(rows, rename)
        alignment = self._apply_align(rows, ckpt_root, model_root) if align else None
        self._refuse_shared_keys(rows)
        if self.source.pairs_by == "layer":
            self._refuse_repeated_stored_layers(rows)
        rows += self._unused_rows(rows)
        return Match(
            model=self.graph.model,
            source=self.source,
            root=ckpt_root,
            model_root=model_root,
            table=pd.DataFrame(rows, columns=COLUMNS),
            graph=self.graph,
            variables=self.vars,
            candidates=self.placed.candidates,
            alignment=alignment,
        )

    # -- pairing by path, structure or name --------------------------------------------

    def _pair_by_path(self, i: int, ckpt_root: str, model_root: str) -> dict[str, Any]:
        row = self._model_row(i)
        path = row["model_path"]
        if self.placed.keras is not None:
            return self._pair_by_structure(i, row)
        if self.source.object_graph is None:
            return self._pair_by_name(i, row)
        if not path:
            row["status"] = "untracked"
            row["reason"] = self.live["reason"][i]
            return row
        if not is_under(path, model_root):
            row["reason"] = (
                f"outside '{model_root}', the submodule the checkpoint's model maps onto"
            )
            return row
        ckpt_path = join(ckpt_root, relative(path, model_root))
        node = self.source.resolve(ckpt_path)
        if node is None or not self.source.is_variable(node):
            row["reason"] = f"no variable at '{ckpt_path}' in the checkpoint"
            return row
        self._fill_pair(row, self.source.row_of(node), "path")
        return row

    def _pair_by_name(self, i: int, row: dict[str, Any]) -> dict[str, Any]:
        """Pair row ``i`` by its layer name (Keras 2 ``.h5``) or variable name (TF1)."""
        if self.source.pairs_by == "layer":
            j = self._by_name.get((row["layer"], self.live["own_index"][i]))
            why = f"no weights of a layer named '{row['layer']}' in the file"
        else:
            j = self._by_name.get(row["name"])
            why = (
                f"no variable named '{row['name']}' in the name-based checkpoint; "
                "pass rename= to map its names"
            )
        if j is None:
            row["reason"] = why
        else:
            self._fill_pair(row, j, "name")
        return row

    @cached_property
    def _by_name(self) -> dict[Any, int]:
        """Stored rows by what a name-based pairing looks up: ``(layer, index)`` in a
        Keras 2 ``.h5``, the key in a TF1 checkpoint."""
        ckpt = self.ckpt
        if self.source.pairs_by == "name":
            return {k: j for j, k in enumerate(ckpt["key"])}
        if self.source.pairs_by != "layer":
            return {}
        found: dict[Any, int] = {}
        for j, (layer, index, group) in enumerate(zip(ckpt["layer"], ckpt["index"], ckpt["group"])):
            if group == "model":
                found.setdefault((layer, index), j)
        return found

    @cached_property
    def _layer_groups(self) -> dict[str, list[str]]:
        """The groups of a Keras 2 ``.h5`` holding each layer name's weights: one per
        layer, unless layers of one name sit in several nested models."""
        found: dict[str, dict[str, None]] = {}
        for layer, path, group in zip(self.ckpt["layer"], self.ckpt["path"], self.ckpt["group"]):
            if group == "model":
                found.setdefault(layer, {})[path.rpartition("/")[0]] = None
        return {layer: list(groups) for layer, groups in found.items()}

    def _pair_by_structure(self, i: int, row: dict[str, Any]) -> dict[str, Any]:
        """Pair row ``i`` with the dataset Keras's own ``load_weights`` reads it from."""
        placement = self.placed.keras
        assert placement is not None
        key = placement.key_of(self.vars[i])
        if key is not None and key in self._by_key:
            self._fill_pair(row, self._by_key[key], "path")
        elif key is not None:
            row["reason"] = f"no tensor at '{key}' in the file, where Keras stores this variable"
        elif id(self.vars[i]) not in self.placed.inside:
            where = module_path(self.graph, placement.module) or placement.module.name
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

    @cached_property
    def _by_key(self) -> dict[str, int]:
        return {key: j for j, key in enumerate(self.ckpt["key"])}

    # -- rename and align ------------------------------------------------------------

    def _apply_rename(self, rows: list[dict[str, Any]], rename: Rename) -> None:
        """Pair what ``rename`` says; refuse a variable fed by two stored tensors, and (for
        pattern rules, not for a dict the user wrote) a stored tensor feeding two."""
        renamer = Renamer(self.live, self.ckpt, self.vars, self.source)
        pairs, by_rules = renamer.pairs(rename)
        for i, j in pairs:
            rows[i] = self._paired_row(i, j, "rename")
        if by_rules:
            renamer.refuse_one_tensor_for_two_variables([r["key"] for r in rows], pairs)

    def _apply_align(
        self, rows: list[dict[str, Any]], ckpt_root: str, model_root: str
    ) -> pd.DataFrame:
        aligned = align_unpaired(rows, self.live, self.ckpt, self.source, ckpt_root, model_root)
        for i, j in aligned.pairs:
            rows[i] = self._paired_row(i, j, "align")
        for i, reason in aligned.ambiguous.items():
            rows[i]["paired_by"] = "ambiguous"
            rows[i]["reason"] = reason
        return aligned.table

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

    def _unpair_renumbered_layers(self, rows: list[dict[str, Any]], leave_to_align: bool) -> None:
        """Unpair rows paired by a layer name such as ``dense_1`` that is not in the same
        place among the layers named alike (``dense``, ``dense_1``, …) in the file and in
        the model: Keras numbers such names by how many layers of the kind a session had
        made, so one session's ``dense_1`` is often another's ``dense``. They are left to
        ``align=True`` (which pairs by order, as Keras's ``load_weights`` does), or marked
        ambiguous. A TF1 checkpoint's layers are its keys' name scopes."""
        by_key = self.source.pairs_by == "name"
        stored_layers = map(_scope, self.ckpt["key"]) if by_key else self.ckpt["layer"]
        stored = _places(
            layer for layer, group in zip(stored_layers, self.ckpt["group"]) if group == "model"
        )
        live = _places(map(_scope, self.live["name"]) if by_key else self.live["layer"])
        for i, row in enumerate(rows):
            name = _scope(row["name"]) if by_key else row["layer"]
            if row["paired_by"] != "name" or stored.get(name) == live.get(name):
                continue
            rows[i] = self._model_row(i)
            if not leave_to_align:
                rows[i]["paired_by"] = "ambiguous"
                rows[i]["reason"] = (
                    f"ambiguous: '{name}' is the {_ordinal(stored[name][1])} layer named like "
                    f"'{stored[name][0]}' in the file but the {_ordinal(live[name][1])} in the "
                    "model (Keras numbers such names in the order a session makes layers); "
                    "pair them with align=True, rename= or in the widget"
                )

    def _refuse_repeated_stored_layers(self, rows: list[dict[str, Any]]) -> None:
        """Unpair, as ambiguous, a row paired by a layer name that several layers of a
        Keras 2 ``.h5`` share (in nested models): the first of them is no better than the
        others."""
        for i, row in enumerate(rows):
            groups = self._layer_groups.get(row["layer"], [])
            if row["paired_by"] != "name" or len(groups) < 2:
                continue
            names = ", ".join(f"'{g}'" for g in groups[:3])
            reason = (
                f"ambiguous: the file holds {len(groups)} layers named '{row['layer']}' "
                f"({names}); pair them with rename= or in the widget"
            )
            rows[i] = {**self._model_row(i), "paired_by": "ambiguous", "reason": reason}

    # -- rows ------------------------------------------------------------------------

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

    def _paired_row(self, i: int, j: int, how: str) -> dict[str, Any]:
        """Model row ``i`` paired with stored row ``j`` by ``how``."""
        row = self._model_row(i)
        self._fill_pair(row, j, how)
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

    def _unused_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One row per stored variable no model row took."""
        used = {r["node_id"] for r in rows if r["node_id"] >= 0} | {
            r["key"] for r in rows if r["key"]
        }
        ckpt = self.ckpt
        return [
            self._unused_row(j)
            for j, (node, key) in enumerate(zip(ckpt["node_id"], ckpt["key"]))
            if not ((int(node) >= 0 and int(node) in used) or key in used)
        ]

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


_NUMBERED = re.compile(r"^(.*?)(?:_(\d+))?$")


def _places(names: Any) -> dict[str, tuple[str, int]]:
    """``{layer name: (its name without a ``_N`` suffix, its place among the names that
    share it)}``, places by that number (none first), each name once."""
    counts: Counter[str] = Counter()
    found: dict[str, tuple[str, int]] = {}
    for name in sorted(dict.fromkeys(map(str, names)), key=_number):
        match = _NUMBERED.match(name)
        base = match.group(1) if match else name
        found[name] = (base, counts[base])
        counts[base] += 1
    return found


def _number(name: str) -> int:
    """The ``N`` of a name ending ``_N``; -1 without one (Keras's first of a kind)."""
    match = _NUMBERED.match(name)
    return int(match.group(2)) if match and match.group(2) else -1


def _scope(name: Any) -> str:
    """The name scope of a TensorFlow variable name (``dense_1/kernel`` -> ``dense_1``)."""
    return str(name).rpartition("/")[0]


def _ordinal(place: int) -> str:
    """``0`` -> ``1st``, ``1`` -> ``2nd``, …"""
    n = place + 1
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _lists(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """``frame`` as plain lists per column (row-by-row reads cost less than pandas')."""
    return {name: frame[name].tolist() for name in frame.columns}
