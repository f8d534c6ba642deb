"""CheckpointWidget: the anywidget view over match / preview / restore / undo.

It holds no logic of its own: every action calls the same functions a script would, and
the front end (``js/widget.js``) only draws the synced state and sends requests.
"""

from __future__ import annotations

import contextlib
import pathlib
import threading
from typing import Any

import anywidget
import traitlets

from .checkpoint import open_checkpoint
from .combine import CombinedReport
from .errors import NothingToRestoreError
from .matching import STATUSES, Match, match
from .restore import RestoreReport
from .sources import (
    Source,
    cover,
    exclusive,
    label_for,
    owners,
    pairs_view,
    restore_selection,
    ticked_rows,
    with_layer_pair,
    without_layer_pair,
)


def _asset(name: str) -> pathlib.Path:
    here = pathlib.Path(__file__).parent
    packaged = here / "static" / name
    return packaged if packaged.exists() else here.parent / "js" / name


class CheckpointWidget(anywidget.AnyWidget):
    """Explore a checkpoint against a live model, tick submodules, preview, restore."""

    _esm = _asset("widget.js")
    _css = _asset("widget.css")

    header = traitlets.Dict().tag(sync=True)
    """Checkpoint path, detected root, candidate roots, counts per status."""
    rows = traitlets.Dict().tag(sync=True)
    """The model tree, column-oriented (see :func:`ckpt_widgets.tree.model_tree`)."""
    ckpt_rows = traitlets.Dict().tag(sync=True)
    """The checkpoint's own variables, column-oriented."""
    selected = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """Ticked submodule and variable paths of the active source: strings ``include=`` accepts."""
    sources = traitlets.List(traitlets.Dict()).tag(sync=True)
    """One ``{"label", "path", "root", "align"}`` per checkpoint, in the order they were added."""
    active = traitlets.Unicode("").tag(sync=True)
    """The letter of the source the tree, previews, root, rules, pairs and Suggest renames
    act on; setting it (or :meth:`show_source`) switches the view to that source."""
    pairs = traitlets.List(traitlets.Dict()).tag(sync=True)
    """The active source's layer pairs (the Pairs view): one record of
    :func:`~ckpt_widgets.pairing.layer_pairs` per model layer paired by alignment
    (``paired_by == "align"``), by hand (``"rename"``) or left ``"ambiguous"``, with its
    Keras name (``layer``), ``candidates`` and ``variables`` (the tree paths it ticks)."""
    selection = traitlets.Dict(value_trait=traitlets.List(traitlets.Unicode())).tag(sync=True)
    """Ticked paths per source letter; ``selection[active]`` is :attr:`selected`."""
    owners = traitlets.Dict().tag(sync=True)
    """``{tree row id: letter}`` for variables ticked under a source other than the active one."""
    adapt = traitlets.Unicode("").tag(sync=True)
    """``""``, ``"overlap"`` or ``"zeros"``: lets shape-mismatched variables be ticked."""
    result = traitlets.Dict().tag(sync=True)
    """The last restore's summary, skipped rows, code, and whether undo is possible."""
    error = traitlets.Unicode("").tag(sync=True)
    """The last error, one sentence; empty when the last action succeeded."""
    busy = traitlets.Bool(False).tag(sync=True)
    progress = traitlets.Dict().tag(sync=True)
    """``{"done": n, "total": m}`` while a restore started from the front end runs."""

    def __init__(
        self,
        model: Any,
        src_or_path: Any,
        root: str | None = None,
        align: bool = False,
        **kwargs: Any,
    ):
        self._sources: list[Source] = []  # before the traits: their observers read it
        self._added = 0  # sources ever added: the next letter (letters are never reused)
        self._resolving = False
        super().__init__(**kwargs)
        self.model = model
        self.report: RestoreReport | CombinedReport | None = None
        self._job: threading.Thread | None = None
        self._cancel = threading.Event()
        self._add(match(model, open_checkpoint(src_or_path), root=root, align=align), None, align)
        self.on_msg(self._on_message)

    @property
    def match(self) -> Match:
        """The active source's match against the model."""
        return self._source(self.active).match

    @property
    def source(self) -> Any:
        """The active source's checkpoint (a :class:`~ckpt_widgets.CheckpointSource`)."""
        return self.match.source

    @property
    def rename(self) -> Any:
        """The active source's ``rename=``: rules from the Rules box, or pairs from Suggest
        renames and from layers paired by hand."""
        return self._source(self.active).rename

    @property
    def aligned(self) -> bool:
        """Whether the active source aligns layers (the Align layers box, ``align=True``)."""
        return self._source(self.active).align

    # -- the Python API behind every button -----------------------------------------

    def restore(self) -> RestoreReport | CombinedReport:
        """Restore the ticked selection (what the Restore button does).

        Ticks under one source give a :class:`~ckpt_widgets.RestoreReport`; ticks under
        several restore them all or nothing and give a :class:`~ckpt_widgets.CombinedReport`.
        """
        return self._run(self._restore)

    def add_source(
        self, src_or_path: Any, root: str | None = None, rename: Any = None, align: bool = False
    ) -> str:
        """Add another checkpoint of the model (the Add checkpoint box); return its letter.

        The new source becomes the active one. A checkpoint already added, or one that
        shares no variable with the model, is refused and nothing changes.
        """
        return self._run(lambda: self._add_checked(src_or_path, root, rename, align))

    def remove_source(self, source: int | str) -> None:
        """Drop a source (by index or letter) and its ticks (a tab's × button).

        The other sources keep their letters and ticks; a later :meth:`add_source` gets a
        new letter. If the active source goes, the first one left becomes active. The last
        source cannot be removed. :attr:`report` is kept, so a past restore can be undone.
        """
        self._run(lambda: self._remove(source))

    def show_source(self, source: int | str) -> None:
        """Make a source active by index or letter (a source tab); its ticks are kept."""
        self._run(lambda: self._show(source))

    def undo(self, force: bool = False) -> None:
        """Undo the last restore (the Undo button; "Undo anyway" passes ``force=True``)."""
        self._run(lambda: self._undo(force))

    def refresh(self) -> None:
        """Match every source again (after the model or a file changed), keeping roots and
        renames; ticks are cleared."""
        self._run(self._rematch_all)

    def set_root(self, root: str) -> None:
        """Match the active source again with the model placed at ``root`` in it."""
        self._run(lambda: self._rematch(root, self.rename))

    def set_align(self, on: bool) -> None:
        """Align layers of the active source by order, kind and shape, or stop (the Align
        layers box): match again with ``align=on``, keeping root and rename."""
        self._run(lambda: self._rematch(self.match.root, self.rename, bool(on), keep_ticks=True))

    def pair_layer(self, model_layer: str, ckpt_layer: str) -> None:
        """Pair a model layer with a stored layer by hand (a Pairs view select).

        Both are named as in :attr:`pairs`. The pair joins the active source's ``rename``
        (replacing the layer's earlier hand pairs) and the source is matched again with
        ``align=True``; the row then says ``paired_by == "rename"``. Ticks are kept. A
        source paired by regex rules refuses: rules and pairs do not mix.
        """

        def run() -> None:
            rename = with_layer_pair(self.match, self.rename, self.active, model_layer, ckpt_layer)
            self._rematch(self.match.root, rename, True, keep_ticks=True)

        self._run(run)

    def unpair_layer(self, model_layer: str) -> None:
        """Undo :meth:`pair_layer` for ``model_layer``: alignment decides it again."""

        def run() -> None:
            rename = without_layer_pair(self.match, self.rename, self.active, model_layer)
            self._rematch(self.match.root, rename or None, self.aligned, keep_ticks=True)

        self._run(run)

    def align(self) -> int:
        """Accept :func:`~ckpt_widgets.suggest_rename`'s variable pairs (the Suggest renames
        button). Aligning whole layers is :meth:`set_align`."""
        from .suggest import suggest_rename

        def run() -> int:
            suggestions = suggest_rename(self.model, self.match)
            pairs = dict(zip(suggestions["ckpt_path"], suggestions["model_path"]))
            if isinstance(self.rename, dict):
                pairs = {**self.rename, **pairs}
            self._rematch(self.match.root, pairs or self.rename)
            return len(suggestions)

        return self._run(run)

    def pair(self, model_variable: str, ckpt_path: str) -> None:
        """Pair one model variable (path or Keras name) with a stored one (the Pair box)."""

        def run() -> None:
            pairs = dict(self.rename) if isinstance(self.rename, dict) else {}
            pairs[ckpt_path] = model_variable
            self._rematch(self.match.root, pairs)

        self._run(run)

    def set_rules(self, text: str) -> int:
        """Pair by regex rules, one ``pattern => replacement`` per line (the Rules box)."""
        return self._run(lambda: self._apply_rules(text))

    def preview(self, path: str, limit: int = 6) -> tuple[bytes, Any]:
        """Histograms of the first ``limit`` variables under ``path`` and their statistics.

        The PNG and the statistics are also sent to the front end.
        """
        from .histograms import preview

        adapt = self.adapt or None
        png, stats = self._run(lambda: preview(self.match, path, max_panels=limit, adapt=adapt))
        count = int(stats["path"].nunique()) if len(stats) else 0
        message = {
            "type": "histogram",
            "path": path,
            "stats": _records(stats),
            "shown": min(limit, count),
            "count": count,
            "limit": limit,
        }
        self.send(message, buffers=[png])
        return png, stats

    # -- internals ------------------------------------------------------------------

    def _apply_rules(self, text: str) -> int:
        rules = parse_rules(text)
        self._rematch(self.match.root, rules or None)
        return int((self.match.table["paired_by"] == "rename").sum())

    def _rematch(
        self, root: str | None, rename: Any, align: bool | None = None, keep_ticks: bool = False
    ) -> None:
        """Match the active source again; ``keep_ticks``: keep the ticks that still restore."""
        source = self._source(self.active)
        align = source.align if align is None else align
        m = match(self.model, self.source, root=root, rename=rename, align=align)
        adapt = self.adapt or None
        ticks = cover(m, ticked_rows(m, self.selected, adapt), adapt) if keep_ticks else []
        source.match, source.rename, source.align = m, rename, align
        with self.hold_sync():
            self._draw()
            self.selection = {**self.selection, self.active: ticks}

    def _rematch_all(self) -> None:
        for s in self._sources:
            m = s.match
            s.match = match(self.model, m.source, root=m.root, rename=s.rename, align=s.align)
        with self.hold_sync():
            self._draw()
            self.selection = {s.label: [] for s in self._sources}

    def _add_checked(self, src_or_path: Any, root: str | None, rename: Any, align: bool) -> str:
        """Add a source after checking it is new and belongs to the model."""
        label_for(self._added)  # refuses a 27th source before any work
        source = open_checkpoint(src_or_path)
        for known in self._sources:
            if known.match.source.prefix == source.prefix:
                raise ValueError(
                    f"Checkpoint '{source.prefix}' is already source {known.label}; "
                    "each checkpoint can be added once."
                )
        m = match(self.model, source, root=root, rename=rename, align=align)
        counts = m.counts()
        if not counts["match"] + counts["shape_mismatch"] + counts["dtype_mismatch"]:
            raise NothingToRestoreError(
                f"None of the model's {len(m.variables)} variables is in checkpoint "
                f"'{source.prefix}' (looked under root '{m.root}'); it looks like a checkpoint "
                "of another model, so it was not added (pass root= or rename= to add_source)."
            )
        return self._add(m, rename, align)

    def _add(self, m: Match, rename: Any, align: bool) -> str:
        label = label_for(self._added)
        self._sources.append(Source(label, m, rename, align))
        self._added += 1
        with self.hold_sync():
            self.selection = {**self.selection, label: []}
            self._show(label)
        return label

    def _remove(self, key: int | str) -> None:
        """Drop a source; its ticks go and the owners are worked out again."""
        label = self._label(key)
        if len(self._sources) == 1:
            raise ValueError(f"Source {label} is the only checkpoint; add one before removing it.")
        self._sources.remove(self._source(label))
        with self.hold_sync():
            self.selection = {k: v for k, v in self.selection.items() if k != label}
            if self.active == label:
                self.active = self._sources[0].label  # draws that source
            else:
                self._draw()  # the tabs

    def _show(self, key: int | str) -> None:
        self.active = self._label(key)

    def _label(self, key: int | str) -> str:
        """The letter of a source given by index or letter."""
        labels = [s.label for s in self._sources]
        if isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(labels):
            return labels[key]
        if key in labels:
            return str(key)
        raise ValueError(f"No source {key!r}; this widget holds {', '.join(labels)}.")

    def _source(self, label: str) -> Source:
        return next(s for s in self._sources if s.label == label)

    def _draw(self) -> None:
        """Send the active source's header, tree, checkpoint rows and pairs, and the sources."""
        from .tree import checkpoint_tree, model_tree

        m = self.match
        self.sources = [
            {
                "label": s.label,
                "path": s.match.source.prefix,
                "root": s.match.root,
                "align": s.align,
            }
            for s in self._sources
        ]
        counts = m.counts()
        table = m.table
        counts["optimizer"] = int(
            ((table["status"] == "unused") & (table["group"] == "optimizer")).sum()
        )
        counts["renamed"] = int((table["paired_by"] == "rename").sum())
        candidates = [r for r in m.candidates["root"].tolist() if isinstance(r, str)]
        roots = list(dict.fromkeys([m.root, *candidates, *sorted(m.source.object_paths())[:200]]))
        self.header = {
            "checkpoint": m.source.prefix,
            "root": m.root,
            "model_root": m.model_root,
            "roots": roots,
            "counts": counts,
            "statuses": list(STATUSES),
            "align": self.aligned,
        }
        self.pairs = pairs_view(m)
        self.rows = _columns(model_tree(m))
        self.ckpt_rows = _columns(checkpoint_tree(m))

    @traitlets.validate("active")
    def _valid_active(self, proposal: Any) -> str:
        return self._label(proposal["value"])

    @traitlets.observe("active")
    def _on_active(self, change: Any) -> None:
        with self.hold_sync():
            self._draw()
            self._sync_ticks()

    @traitlets.validate("selection")
    def _valid_selection(self, proposal: Any) -> dict[str, list[str]]:
        labels = [s.label for s in self._sources]
        unknown = sorted(set(proposal["value"]) - set(labels))
        if unknown:
            raise traitlets.TraitError(
                f"selection: no source {unknown[0]!r}; this widget holds {', '.join(labels)}."
            )
        return {label: list(proposal["value"].get(label, [])) for label in labels}

    @traitlets.observe("selected")
    def _on_selected(self, change: Any) -> None:
        """Ticks of the active source (from the tree or a script): they win over others."""
        if not self._resolving and self.active:
            self._resolve({**self.selection, self.active: list(change["new"])}, [self.active])

    @traitlets.observe("selection")
    def _on_selection(self, change: Any) -> None:
        """Ticks set per source: the sources that changed win, the active one first."""
        if self._resolving:
            return
        old, new = change["old"], change["new"]
        changed = sorted((k for k in new if new[k] != old.get(k)), key=lambda k: k != self.active)
        self._resolve(new, changed)

    @traitlets.observe("adapt")
    def _on_adapt(self, change: Any) -> None:
        """Mismatched variables become tickable: a source may now share some with another."""
        if self._sources:
            self._resolve(dict(self.selection), [self.active])

    def _resolve(self, selection: dict[str, list[str]], first: list[str]) -> None:
        """One source per variable: ``first`` keep their ticks, the others lose those."""
        matches = {s.label: s.match for s in self._sources}
        self._resolving = True
        try:
            self.selection = exclusive(matches, selection, first, self.adapt or None)
        finally:
            self._resolving = False
        self._sync_ticks()

    def _sync_ticks(self) -> None:
        """:attr:`selected` and :attr:`owners` from :attr:`selection` and the active source."""
        others = {k: v for k, v in self.selection.items() if k != self.active}
        matches = {s.label: s.match for s in self._sources}
        self._resolving = True
        try:
            with self.hold_sync():
                self.selected = list(self.selection.get(self.active, []))
                self.owners = owners(matches, others, self.adapt or None)
        finally:
            self._resolving = False

    def _check_fresh(self) -> None:
        """Refuse to act on a model that changed since the tree was drawn."""
        current = {id(v) for v in getattr(self.model, "weights", [])}
        known = {id(v) for v in self.match.variables}
        if current != known:
            added, removed = len(current - known), len(known - current)
            raise ValueError(
                f"The model changed since this widget was drawn ({added} variables added, "
                f"{removed} removed); call w.refresh() or run the cell again."
            )

    def _restore_in_background(self) -> None:
        """The Restore button: run in a thread, so progress shows and Cancel gets through."""
        if self._job is not None and self._job.is_alive():
            raise ValueError("A restore is already running; wait for it or cancel it.")
        self._cancel = threading.Event()
        self._job = threading.Thread(target=self._restore_job, args=(self._cancel,), daemon=True)
        self._job.start()

    def _restore_job(self, cancel: threading.Event) -> None:
        with contextlib.suppress(Exception):  # shown through self.error
            self._run(lambda: self._restore(cancel))

    def _on_progress(self, done: int, total: int) -> None:
        self.progress = {"done": done, "total": total}

    def _restore(self, cancel: threading.Event | None = None) -> RestoreReport | CombinedReport:
        self._check_fresh()
        try:
            report = restore_selection(
                self.model,
                self._sources,
                self.selection,
                adapt=self.adapt or None,
                progress=self._on_progress if cancel is not None else None,
                cancel=cancel,
            )
        finally:
            self.progress = {}
        self.report = report
        self.result = {
            "summary": report.summary(),
            "restored": len(report.restored),
            "nbytes": report.nbytes,
            "skipped": _records(report.skipped.head(200)),
            "skipped_count": len(report.skipped),
            "code": report.code,
            "can_undo": True,
        }
        return report

    def _undo(self, force: bool) -> None:
        from .errors import UndoError

        if self.report is None:
            raise ValueError("There is no restore to undo.")
        try:
            self.report.undo(force=force)
        except UndoError:
            self.result = {**self.result, "undo_conflict": not self.report.undone}
            raise
        self.result = {
            **self.result,
            "summary": self.report.summary(),
            "can_undo": False,
            "undo_conflict": False,
        }

    def _run(self, action: Any) -> Any:
        self.busy = True
        self.error = ""
        try:
            return action()
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self.busy = False

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        handlers = {
            "restore": lambda c: self._restore_in_background(),
            "cancel": lambda c: self._cancel.set(),
            "undo": lambda c: self.undo(force=c.get("force") is True),
            "preview": lambda c: self.preview(str(c["path"]), _limit(c.get("limit"))),
            "set_root": lambda c: self.set_root(str(c["root"])),
            "refresh": lambda c: self.refresh(),
            "align": lambda c: self.align(),
            "set_align": lambda c: self.set_align(c.get("on") is True),
            "pair_layer": lambda c: self.pair_layer(str(c["model"]), str(c["ckpt"])),
            "unpair_layer": lambda c: self.unpair_layer(str(c["model"])),
            "pair": lambda c: self.pair(str(c["model"]), str(c["ckpt"])),
            "rules": lambda c: self.set_rules(str(c["text"])),
            "add_source": lambda c: self.add_source(_path(c.get("path"))),
            "show_source": lambda c: self.show_source(str(c["label"])),
            "remove_source": lambda c: self.remove_source(str(c["label"])),
        }
        kind = content.get("type") if isinstance(content, dict) else None
        if kind not in handlers:
            self.error = f"Unknown request from the front end: {kind!r}."
            return
        self.error = ""
        try:
            handlers[kind](content)
        except Exception as exc:  # shown in the widget; the kernel carries on
            self.error = self.error or f"{type(exc).__name__}: {exc}"


def parse_rules(text: str) -> list[tuple[str, str]]:
    """``pattern => replacement`` lines as ``(regex, replacement)`` pairs; bad regex raise."""
    import re

    rules = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pattern, arrow, replacement = line.partition("=>")
        if not arrow:
            raise ValueError(f"Rule {number} needs the form 'pattern => replacement'.")
        try:
            re.compile(pattern.strip())
        except re.error as exc:
            raise ValueError(f"Rule {number}: '{pattern.strip()}' is no regex ({exc}).") from None
        rules.append((pattern.strip(), replacement.strip()))
    return rules


def _path(value: Any) -> str:
    """A checkpoint path typed in the front end: a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("Type the path of a checkpoint to add (a prefix, directory or file).")
    return value.strip()


def _limit(value: Any) -> int:
    """A panel count from the front end: an int from 1 to 50, else the default 6."""
    return value if isinstance(value, int) and 1 <= value <= 50 else 6


def _columns(frame: Any) -> dict[str, list[Any]]:
    return {name: frame[name].tolist() for name in frame.columns}


def _records(frame: Any) -> list[dict[str, Any]]:
    import math

    out = []
    for record in frame.to_dict(orient="records"):
        out.append(
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else _plain(v))
                for k, v in record.items()
            }
        )
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "item"):
        return value.item()
    return value
