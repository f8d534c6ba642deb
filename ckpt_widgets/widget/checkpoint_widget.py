"""CheckpointWidget: the anywidget view over match / preview / restore / undo.

It holds no logic of its own: every action calls the same functions a script would, and
the front end (``js/src/``) only draws the synced state and sends requests.
"""

from __future__ import annotations

import contextlib
import pathlib
import threading
from typing import Any

import anywidget
import traitlets

from ckpt_widgets.engine.matching import STATUSES, Match, match
from ckpt_widgets.engine.model import gc_paused
from ckpt_widgets.engine.pairing import pairs_view, with_layer_pair, without_layer_pair
from ckpt_widgets.engine.plan import another_model_message
from ckpt_widgets.engine.rename import add_pairs, as_pairs, parse_rules
from ckpt_widgets.engine.restore_many import CombinedReport
from ckpt_widgets.engine.selection import rows_by_name
from ckpt_widgets.engine.transaction import RestoreReport
from ckpt_widgets.errors import NothingToRestoreError
from ckpt_widgets.files.open import open_checkpoint
from ckpt_widgets.words import STATUS_WORDS, plural, restored_line

from .columns import encode_columns
from .explore_view import ExploreView
from .state import (
    Tab,
    carry_ticks,
    exclusive,
    label_for,
    naming_error,
    owners,
    restore_selection,
    tick_view,
    toggle,
)

ADAPT = ("", "overlap", "zeros")
FRONT_END_TRAITS = frozenset({"active", "adapt", "selected", "selection", "rules_text"})
"""The synced traits the front end may set; the others are the kernel's to set."""
SHOWN = (
    "sources", "active", "selection", "selected", "owners", "ticks", "tickable", "header",
    "rows", "ckpt_rows", "pairs",
)  # fmt: skip
"""The synced traits that say which sources there are, which is shown, and what is ticked."""
UNDONE_DESPITE_CTRL_C = (
    "Ctrl-C came during Undo, which finished first: every restored variable has its "
    "value from before the restore again."
)
RUNNING = "A restore is running; wait for it to end (or press Cancel) before anything else."


NOT_BUILT = (
    "export function render({ el }) { el.textContent = 'ckpt-widgets: the front end is not "
    "built; run npm ci && npm run build in js/ (scripts/setup.sh does).'; }"
)
"""What the widget shows in a source checkout whose js/dist/widget.js was never built."""


def _asset(name: str, source: str) -> pathlib.Path | str:
    """A front-end file: the wheel's ``static/<name>``, else ``js/<source>`` of the checkout."""
    package = pathlib.Path(__file__).parents[1]
    for path in (package / "static" / name, package.parent / "js" / source):
        if path.exists():
            return path
    return NOT_BUILT


class CheckpointWidget(ExploreView, anywidget.AnyWidget):
    """Explore a checkpoint against a live model, tick submodules, preview, restore.

    Without a model (``CheckpointWidget(path)`` or ``CheckpointWidget(None, path)``) it
    explores checkpoints alone and compares them (see :class:`ExploreView`).
    """

    _esm = _asset("widget.js", "dist/widget.js")  # the bundle of js/src/ (see hatch_build.py)
    _css = _asset("widget.css", "widget.css")

    header = traitlets.Dict().tag(sync=True)
    """Checkpoint path, detected root, candidate roots, counts per status, the words people
    read for each status (``status_words``, :data:`~ckpt_widgets.words.STATUS_WORDS`), and
    the model's ``params`` and ``nbytes`` in total."""
    rows = traitlets.Dict().tag(sync=True, to_json=lambda value, _: encode_columns(value))
    """The model tree, column-oriented (see :func:`ckpt_widgets.widget.rows.model_tree`);
    sent to the front end as binary buffers (:func:`.columns.encode_columns`)."""
    ckpt_rows = traitlets.Dict().tag(sync=True, to_json=lambda value, _: encode_columns(value))
    """The checkpoint's own variables, column-oriented; ``{}`` until the Checkpoint tab is
    first opened (:meth:`checkpoint_rows`), then kept up to date. Sent as binary buffers."""
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
    ticks = traitlets.Dict().tag(sync=True)
    """What :attr:`selection` ticks, drawn as is by the front end (see
    :func:`~ckpt_widgets.sources.tick_view`): per-row tick state of the active tree, the
    letters ticking each row, and the count the Restore button shows; computed from the
    same rows :meth:`restore` restores."""
    tickable = traitlets.List().tag(sync=True)  # set by the kernel alone: no check per item
    """The active tree's rows a tick can add variables to (sent apart from :attr:`ticks`:
    it changes with the match and ``adapt``, not with every tick)."""
    adapt = traitlets.Enum(ADAPT, default_value="").tag(sync=True)
    """``""``, ``"overlap"`` or ``"zeros"``: lets shape-mismatched variables be ticked."""
    result = traitlets.Dict().tag(sync=True)
    """The last restore's summary, the selected rows it skipped (and why), how many were
    not selected, its code, and whether undo is possible."""
    plan = traitlets.Dict().tag(sync=True)
    """What Restore would do now (the Dry run panel, see :meth:`dry_run`): per source and
    layer the variables and parameters it would restore, the ticked variables it would
    skip and why, and the code; kept up to date with the ticks while shown, ``{}`` when
    closed or after a restore."""
    restored = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """Tree rows the last restore wrote (marked in the tree); emptied by Undo or a new match."""
    error = traitlets.Unicode("").tag(sync=True)
    """The last error, one sentence; empty when the last action succeeded."""
    notice = traitlets.Unicode("").tag(sync=True)
    """What the last action changed that was not asked for (e.g. ticks dropped), or ``""``."""
    rules_text = traitlets.Unicode("").tag(sync=True)
    """The Rules box's text for the active source; setting it (the box does, as you type)
    pairs by those rules as :meth:`set_rules` does. Kept per source and synced, so the box
    shows it again when the widget is displayed again."""
    busy = traitlets.Bool(False).tag(sync=True)
    progress = traitlets.Dict().tag(sync=True)
    """``{"done": n, "total": m}`` while a restore started from the front end runs."""

    def __init__(
        self,
        model: Any,
        src_or_path: Any = None,
        root: str | None = None,
        align: bool = False,
        **kwargs: Any,
    ):
        self._sources: list[Tab] = []  # before the traits: their observers read it
        self._added = 0  # sources ever added: the next letter (letters are never reused)
        self._resolving = False
        self._running = False  # a restore job runs in the background
        self._job: threading.Thread | None = None
        self._tree: tuple[Match, Any] | None = None  # the active match and its tree
        self._ckpt_tree: tuple[Match, Any] | None = None  # same, the checkpoint's own tree
        self._ckpt_shown = False  # the Checkpoint tab was opened: ckpt_rows kept drawn
        self._naming_error = ""  # the error line's sentence about a tick naming nothing
        self._shown: dict[str, Any] | None = None  # the preview on show, drawn again on change
        self._rules_text: dict[str, str] = {}  # the Rules box's text per source letter
        self._built = False  # __init__ has sent the first state: names looked up after it
        super().__init__(**kwargs)
        self.model = model
        self.report: RestoreReport | CombinedReport | None = None
        self._cancel = threading.Event()
        with gc_paused():  # the first draw's tables of 10 000 rows: see gc_paused
            if model is None or src_or_path is None:
                self._explore_start(model if src_or_path is None else src_or_path)
            else:
                m = match(model, open_checkpoint(src_or_path), root=root, align=align)
                self._add(m, None, align)
        self.on_msg(self._on_message)
        self._built = True
        if self._explored is None:  # not while the first state is built: 2 cores compete
            _look_up_names_later(self.match)

    @property
    def match(self) -> Match:
        """The active source's match against the model."""
        if self._explored is not None:
            raise NothingToRestoreError(
                "This widget has no model: it explores checkpoints alone; to restore, "
                "make one with a model: cw.CheckpointWidget(model, path)."
            )
        return self._source(self.active).match

    @property
    def source(self) -> Any:
        """The active source's checkpoint (a :class:`~ckpt_widgets.CheckpointSource`)."""
        if self._explored is not None:
            return self._explored[self.active]
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

    def dry_run(self) -> RestoreReport | CombinedReport:
        """What :meth:`restore` would do now, changing nothing (the Dry run button): the
        report of ``restore(..., dry_run=True)``, also shown in the widget (:attr:`plan`)."""
        return self._run(self._dry_run)

    def add_source(
        self, src_or_path: Any, root: str | None = None, rename: Any = None, align: bool = False
    ) -> str:
        """Add another checkpoint of the model (the Add checkpoint box); return its letter.

        The new source becomes the active one. A checkpoint already added, or one that
        shares no variable with the model, is refused and nothing changes.
        """
        if self._explored is not None:
            return self._run(lambda: self._explore_add(src_or_path))
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
        """Open every source's file again and match it again (after the model or a file
        changed), keeping roots and renames. Ticks that still restore the same stored
        tensors into the same variables are kept; :attr:`notice` names the others."""
        self._run(self._rematch_all)

    def tick(self, paths: str | list[str], on: bool = True) -> None:
        """Tick (``on``) or untick tree rows of the active source (what a checkbox does).

        Unticking keeps the other ticks as written (a layer name or glob set from Python
        stays); a row ticked under another source moves to the active one.
        """
        paths = [paths] if isinstance(paths, str) else list(paths)
        with self.hold_sync():  # one message back, so the front end draws the tick once
            self._run(lambda: self._toggle(paths, on))

    def set_root(self, root: str) -> None:
        """Match the active source again with the model placed at ``root`` in it."""
        self._run(lambda: self._rematch(root, self.rename))

    def align_layers(self, on: bool) -> None:
        """Align layers of the active source by order, kind and shape, or stop (the Align
        layers box): match again with ``align=on``, keeping root and rename."""
        self._run(lambda: self._rematch(self.match.root, self.rename, bool(on)))

    def pair_layer(self, model_layer: str, ckpt_layer: str) -> None:
        """Pair a model layer with a stored layer by hand (a Pairs view select).

        Both are named as in :attr:`pairs`. The pair joins the active source's ``rename``
        (replacing the layer's earlier hand pairs) and the source is matched again with
        ``align=True``; the row then says ``paired_by == "rename"``. Ticks are kept. A
        source paired by regex rules refuses: rules and pairs do not mix.
        """

        def run() -> None:
            rename = with_layer_pair(self.match, self.rename, self.active, model_layer, ckpt_layer)
            self._rematch(self.match.root, rename, True)

        self._run(run)

    def unpair_layer(self, model_layer: str) -> None:
        """Undo :meth:`pair_layer` for ``model_layer``: alignment decides it again."""

        def run() -> None:
            rename = without_layer_pair(self.match, self.rename, self.active, model_layer)
            self._rematch(self.match.root, rename or None, self.aligned)

        self._run(run)

    def accept_suggested_renames(self) -> int:
        """Accept :func:`~ckpt_widgets.suggest_rename`'s variable pairs (the Suggest renames
        button). Aligning whole layers is :meth:`align_layers`."""
        from ckpt_widgets.engine.suggest import suggest_rename

        def run() -> int:
            suggestions = suggest_rename(self.model, self.match)
            pairs = add_pairs(self.rename, as_pairs(suggestions))
            self._rematch(self.match.root, pairs or self.rename)
            return len(suggestions)

        return self._run(run)

    def pair(self, model_variable: str, ckpt_path: str) -> None:
        """Pair one model variable (path or Keras name) with a stored one (the Pair box)."""

        def run() -> None:
            self._rematch(self.match.root, add_pairs(self.rename, {ckpt_path: model_variable}))

        self._run(run)

    def set_rules(self, text: str) -> int:
        """Pair by regex rules, one ``pattern => replacement`` per line (the Rules box)."""
        paired = self._run(lambda: self._apply_rules(text))
        self._rules_text[self.active] = text
        self.rules_text = text  # the box shows what is in force (no second match)
        return paired

    def preview(
        self, path: str, limit: int = 6, theme: dict[str, str] | None = None, log: bool = False
    ) -> tuple[bytes, Any]:
        """Histograms of the first ``limit`` variables under ``path`` and their statistics.

        ``theme`` (the front end's colours, see :data:`~ckpt_widgets.preview.figures.THEME_KEYS`)
        and ``log`` (log-scaled counts) style the plots. The PNG (2 pixels per CSS pixel)
        and the statistics are also sent to the front end, and sent again after a restore
        or an undo changes the values.
        """
        png, stats = self._run(lambda: self._send_preview(path, limit, theme, log))
        return png, stats

    def checkpoint_rows(self) -> Any:
        """The Checkpoint tab's rows (what opening the tab does): the active checkpoint's own
        tree, :func:`~ckpt_widgets.widget.rows.checkpoint_tree`, also sent as
        :attr:`ckpt_rows`. Built on first use, not with the widget, then kept up to date."""
        return self._run(self._send_checkpoint_rows)

    def _send_checkpoint_rows(self) -> Any:
        tree = self._checkpoint_tree()
        self._ckpt_shown = True
        self.ckpt_rows = _columns(tree)
        return tree

    def _send_preview(
        self, path: str, limit: int, theme: dict[str, str] | None, log: bool
    ) -> tuple[bytes, Any]:
        from ckpt_widgets.preview.preview import preview

        if self._explored is not None:
            png, stats = self._explore_preview(path, limit, theme, log)
        else:
            adapt = self.adapt or None
            png, stats = preview(
                self.match, path, max_panels=limit, adapt=adapt, theme=theme, log=log, scale=2
            )
        self._shown = {"path": path, "limit": limit, "theme": theme, "log": log}
        self._send_histogram(path, png, stats, limit, log)
        return png, stats

    def _send_histogram(
        self, path: str, png: bytes, stats: Any, limit: int, log: bool, **extra: Any
    ) -> None:
        """Send a drawn preview (``png``) and its statistics to the front end."""
        count = int(stats["path"].nunique()) if len(stats) else 0
        message = {
            "type": "histogram",
            "path": path,
            **extra,
            "stats": _records(stats),
            "shown": min(limit, count),
            "count": count,
            "limit": limit,
            "log": log,
            "scale": 2,
        }
        self.send(message, buffers=[png])

    def _preview_again(self) -> None:
        """Draw the preview on show again: the values under it changed."""
        if self._shown is None:
            return
        try:
            self._send_preview(**self._shown)
        except Exception:  # e.g. the row is gone: the front end keeps the last one
            self._shown = None

    # -- internals ------------------------------------------------------------------

    def _apply_rules(self, text: str) -> int:
        rules = parse_rules(text)
        self._rematch(self.match.root, rules or None)
        paired = int((self.match.table["paired_by"] == "rename").sum())
        if rules and not paired:
            self.notice = (
                f"The {plural(len(rules), 'rule')} pair no variable: no stored path they "
                "rename names a model variable of the same shape."
            )
        return paired

    def _rematch(self, root: str | None, rename: Any, align: bool | None = None) -> None:
        """Match the active source again, keeping the ticks that still mean the same."""
        source = self._source(self.active)
        align = source.align if align is None else align
        m = match(self.model, self.source, root=root, rename=rename, align=align)
        source.rename, source.align = rename, align
        self._replace({source.label: m})

    def _rematch_all(self) -> None:
        """Reopen every file (training may have written it again) and match it again."""
        if self._explored is not None:
            self._explore_refresh()
            return
        fresh = {
            s.label: match(
                self.model,
                open_checkpoint(s.match.source.prefix),
                root=s.match.root,
                rename=s.rename,
                align=s.align,
            )
            for s in self._sources
        }
        self._replace(fresh)

    def _replace(self, fresh: dict[str, Match]) -> None:
        """Put new matches in; carry the ticks over and say which were dropped."""
        adapt = self.adapt or None
        selection, dropped = dict(self.selection), []
        for s in self._sources:
            if s.label in fresh:
                old, new = s.match, fresh[s.label]
                selection[s.label], lost = carry_ticks(old, new, selection[s.label], adapt)
                dropped += [f"{s.label}: {d}" if len(self._sources) > 1 else d for d in lost]
                s.match = fresh[s.label]
        with self.hold_sync():
            self._draw()
            self.selection = selection
            self._sync_ticks()
            self.restored = []
        if dropped:
            self.notice = (
                "Unticked, as they no longer restore the same stored tensors into the same "
                f"variables: {', '.join(dropped)}."
            )

    def _toggle(self, paths: list[str], on: bool) -> None:
        current = self.selection.get(self.active, [])
        ticks = toggle(self.match, current, paths, bool(on), self.adapt or None)
        self.selection = {**self.selection, self.active: ticks}

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
        if not m.found():
            advice = ", so it was not added (pass root= or rename= to add_source)"
            raise NothingToRestoreError(another_model_message(m, advice))
        return self._add(m, rename, align)

    def _add(self, m: Match, rename: Any, align: bool) -> str:
        """Register a source and show it; if drawing it fails, nothing changes."""
        label = label_for(self._added)
        sources, tree = list(self._sources), self._tree
        shown = {name: getattr(self, name) for name in SHOWN}
        self._sources.append(Tab(label, m, rename, align))
        try:
            with self.hold_sync():
                self.selection = {**self.selection, label: []}
                self._show(label)
        except Exception:
            self._sources[:], self._tree = sources, tree
            self._put_back(shown)
            raise
        self._added += 1
        return label

    def _put_back(self, shown: dict[str, Any]) -> None:
        """The traits :data:`SHOWN` as they were, computing nothing (after a failed add)."""
        if not self._sources:
            return  # the widget's first source: the constructor raises
        self._resolving = True
        try:
            with self.hold_sync(), self.hold_trait_notifications():
                for name, value in shown.items():
                    self.set_trait(name, value)
        finally:
            self._resolving = False

    def _remove(self, key: int | str) -> None:
        """Drop a source; its ticks go and the owners are worked out again."""
        label = self._label(key)
        if len(self._sources) == 1:
            raise ValueError(f"Source {label} is the only checkpoint; add one before removing it.")
        self._sources.remove(self._source(label))
        self._forget_comparison([s.label for s in self._sources])
        with self.hold_sync():
            if self.active == label:
                self.active = self._sources[0].label  # draws that source
            else:
                self._draw()  # the tabs
            self.selection = {k: v for k, v in self.selection.items() if k != label}

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

    def _source(self, label: str) -> Tab:
        return next(s for s in self._sources if s.label == label)

    def _active_tree(self) -> Any:
        """The active source's model tree as lists per column
        (:func:`~ckpt_widgets.widget.rows.model_tree_columns`), kept until its match changes."""
        from .rows import model_tree_columns

        m = self.match
        if self._tree is None or self._tree[0] is not m:
            self._tree = (m, model_tree_columns(m))
        return self._tree[1]

    def _checkpoint_tree(self) -> Any:
        """The active source's checkpoint tree (:func:`~ckpt_widgets.widget.rows.checkpoint_tree`),
        kept until its match changes."""
        from .rows import checkpoint_tree

        m = self.match
        if self._ckpt_tree is None or self._ckpt_tree[0] is not m:
            self._ckpt_tree = (m, checkpoint_tree(m))
        return self._ckpt_tree[1]

    def _draw(self) -> None:
        """Send the active source's header, tree, checkpoint rows (once the Checkpoint tab
        was opened) and pairs, and the sources."""
        if self._explored is not None:
            self._explore_draw()
            return
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
        counts = m.breakdown()
        roots = root_choices(m)
        tree = self._active_tree()
        params, nbytes = m.model_size()
        self.header = {
            "checkpoint": m.source.prefix,
            "root": m.root,
            "model_root": m.model_root,
            "roots": [r for r, _ in roots],
            "root_counts": dict(roots),
            "hint": nothing_matches_hint(m, self.aligned, counts),
            "counts": counts,
            "statuses": list(STATUSES),
            "status_words": STATUS_WORDS,
            "align": self.aligned,
            "params": params,
            "nbytes": nbytes,
        }
        self.pairs = pairs_view(m)
        if self._built:
            _look_up_names_later(m)
        self.rows = dict(tree)
        self.ckpt_rows = _columns(self._checkpoint_tree()) if self._ckpt_shown else {}

    @traitlets.validate("active")
    def _valid_active(self, proposal: Any) -> str:
        self._refuse_change()
        try:
            return self._label(proposal["value"])
        except ValueError as exc:
            raise traitlets.TraitError(str(exc)) from None

    @traitlets.validate("adapt", "selected", "rules_text")
    def _valid_while_idle(self, proposal: Any) -> Any:
        self._refuse_change()
        return proposal["value"]

    def _refuse_change(self) -> None:
        """Refuse a change of what is ticked or shown while a restore job runs."""
        if self._job_elsewhere():
            raise traitlets.TraitError(RUNNING)

    def _job_elsewhere(self) -> bool:
        """Whether a restore job runs in another thread than this one."""
        return self._running and threading.current_thread() is not self._job

    @traitlets.observe("active")
    def _on_active(self, change: Any) -> None:
        if self._resolving:
            return  # put back as it was shown (see _put_back)
        with self.hold_sync():
            self._draw()
            self._sync_ticks()
            self.rules_text = self._rules_text.get(self.active, "")

    @traitlets.observe("rules_text")
    def _on_rules_text(self, change: Any) -> None:
        """Text typed in the Rules box: pair by it (what is in force already is not redone)."""
        if change["new"] != self._rules_text.get(self.active, ""):
            self.set_rules(change["new"])

    @traitlets.validate("selection")
    def _valid_selection(self, proposal: Any) -> dict[str, list[str]]:
        self._refuse_change()
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
        if self._explored is not None:
            return  # nothing to tick without a model
        matches = {s.label: s.match for s in self._sources}
        self._resolving = True
        try:
            self.selection = exclusive(matches, selection, first, self.adapt or None)
        finally:
            self._resolving = False
        self._sync_ticks()

    def _sync_ticks(self) -> None:
        """:attr:`selected`, :attr:`owners`, :attr:`ticks` and :attr:`tickable` from
        :attr:`selection` and the active source; a tick naming nothing goes to the error line."""
        if self._explored is not None:
            return
        matches = {s.label: s.match for s in self._sources}
        selection = {k: v for k, v in self.selection.items() if k in matches}
        others = {k: v for k, v in selection.items() if k != self.active}
        adapt = self.adapt or None
        self._resolving = True
        try:
            with self.hold_sync():
                self.selected = list(self.selection.get(self.active, []))
                self.owners = owners(matches, others, adapt)
                if self.active:  # no source is shown yet while the first one is added
                    tree = self._active_tree()
                    view = tick_view(matches, selection, self.active, tree, adapt)
                    tickable = view.pop("tickable")
                    if tickable != self.tickable:  # 10 000 names: validated only on change
                        self.tickable = tickable
                    self.ticks = view
                self._say_naming_error(naming_error(matches, selection))
        finally:
            self._resolving = False
        self._plan_again()

    def _say_naming_error(self, sentence: str | None) -> None:
        """Show at once a tick that names nothing; clear it once the ticks are fixed."""
        if sentence:
            self.error = self._naming_error = sentence
        elif self.error and self.error == self._naming_error:
            self.error = ""

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
        """The Restore button: run in a thread, so progress shows and Cancel gets through.

        :attr:`busy` stays true until the job ends; meanwhile every other request is
        refused (see :meth:`_run`), Cancel excepted.
        """
        self._refuse_while_running()
        self.error = self.notice = ""
        self._cancel = threading.Event()
        self._job = threading.Thread(target=self._restore_job, args=(self._cancel,), daemon=True)
        self._running = True
        self.busy = True
        self._job.start()

    def _restore_job(self, cancel: threading.Event) -> None:
        try:
            self._restore(cancel)
            self.error = ""  # a request refused meanwhile is over
        except Exception as exc:  # shown through self.error
            self.error = _sentence(exc)
        finally:
            self._running = False
            self.busy = False

    def _refuse_while_running(self) -> None:
        if self._job_elsewhere():
            raise ValueError(RUNNING)

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
        chosen = report.skipped[self._ticked_and_skipped(report.skipped)].assign(selected=True)
        self.result = {
            "summary": _summary(report, len(chosen)),
            "restored": len(report.restored),
            "nbytes": report.nbytes,
            "skipped": _records(chosen.head(200)),
            "skipped_count": len(chosen),
            "not_selected": len(report.skipped) - len(chosen),
            "code": report.code,
            "can_undo": True,
        }
        restored = report.restored
        self.restored = [p or n for p, n in zip(restored["model_path"], restored["name"])]
        self.plan = {}
        self._preview_again()
        return report

    def _dry_run(self) -> RestoreReport | CombinedReport:
        from .dry_run import plan_view

        self._check_fresh()
        report = restore_selection(
            self.model, self._sources, self.selection, adapt=self.adapt or None, dry_run=True
        )
        chosen = report.skipped[self._ticked_and_skipped(report.skipped)]
        self.plan = plan_view(report, chosen, self._sources)
        return report

    def _plan_again(self) -> None:
        """Keep a shown dry run in step with the ticks; a plan that cannot be made says why."""
        if not self.plan:
            return
        try:
            self._dry_run()
        except Exception as exc:
            self.plan = {"error": str(exc)}

    def _ticked_and_skipped(self, skipped: Any) -> Any:
        """Which skipped rows the ticks cover (a tick names them, the restore could not
        write them): a mask over ``skipped``, apart from the rows nobody ticked."""
        from ckpt_widgets.engine.selection import select

        covered: set[str] = set()
        for s in self._sources:
            ticks = self.selection.get(s.label)
            if ticks:
                names = s.match.columns["name"]
                covered |= {names[i] for i in select(s.match, list(ticks))}
        return skipped["selected"].astype(bool) | skipped["name"].isin(covered)

    def _undo(self, force: bool) -> None:
        from ckpt_widgets.errors import UndoError

        if self.report is None:
            raise ValueError("There is no restore to undo.")
        try:
            self.report.undo(force=force)
        except UndoError:
            self.result = {**self.result, "undo_conflict": not self.report.undone}
            raise
        except KeyboardInterrupt:
            if self.report.undone:  # the undo finished before the Ctrl-C was raised
                self._show_undone()
                self.notice = UNDONE_DESPITE_CTRL_C
            raise
        self._show_undone()

    def _show_undone(self) -> None:
        """Say the last restore was undone: no Undo offered, no rows marked restored."""
        assert self.report is not None
        self.result = {
            **self.result,
            "summary": _summary(self.report, self.result.get("skipped_count", 0)),
            "can_undo": False,
            "undo_conflict": False,
        }
        self.restored = []
        self._preview_again()

    def _run(self, action: Any) -> Any:
        """Run a request: refused while a restore job runs; its error goes to the error line."""
        try:
            self._refuse_while_running()
        except ValueError as exc:
            self.error = _sentence(exc)
            raise
        self.busy = True
        self.error = self.notice = ""
        try:
            return action()
        except Exception as exc:
            self.error = _sentence(exc)
            raise
        finally:
            self.busy = False

    def set_state(self, sync_data: Any) -> None:
        """A state update from the front end, checked as a whole: one the front end may not
        make, or a bad value, changes nothing and is shown on the error line."""
        keys = [k for k in sync_data if k in self.keys] if isinstance(sync_data, dict) else []
        try:
            if not isinstance(sync_data, dict):
                raise ValueError("The front end sent a state update that is not a mapping.")
            self._refuse_while_running()
            self.error = ""
            kernel_only = sorted(set(sync_data) - FRONT_END_TRAITS)
            if kernel_only:
                raise ValueError(f"The front end cannot set '{kernel_only[0]}'; the kernel does.")
            for name, value in sync_data.items():
                _check_update(name, value)
            super().set_state(sync_data)
        except Exception as exc:  # a bad update from the front end: say so, change nothing
            self.error = _sentence(exc)
            if keys:
                self.send_state(key=keys)  # the front end's copy back to the kernel's

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """A request from the front end; anything malformed is refused with a sentence."""
        kind = content.get("type") if isinstance(content, dict) else None
        handler = REQUESTS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            self.error = f"Unknown request from the front end: {_short(kind)}."
            return
        try:
            handler(self, content)
        except Exception as exc:  # shown in the widget; the kernel carries on
            self.error = _sentence(exc)

    def _clear(self) -> None:
        self._run(lambda: setattr(self, "selection", {**self.selection, self.active: []}))


def _look_up_names_later(m: Match) -> None:
    """Work out the names ``m``'s rows answer to (:func:`~ckpt_widgets.engine.selection.
    rows_by_name`, 0.2 s for 10 000 variables) in a background thread while the front
    end draws, so that the first tick does not wait for them; a tick that comes first
    works them out itself."""

    def run() -> None:
        with contextlib.suppress(Exception):  # a tick then raises the error itself
            rows_by_name(m)

    threading.Thread(target=run, daemon=True).start()


def root_choices(m: Match) -> list[tuple[str, int]]:
    """Where the model's weights can sit in the checkpoint, best first, with how many
    variables match there: the match's scored placements that match any, and its root."""
    best: dict[str, int] = {}
    for root, matched in zip(m.candidates["root"], m.candidates["matched"]):
        if isinstance(root, str) and matched > 0:
            best[root] = max(best.get(root, 0), int(matched))
    ranked = sorted(best.items(), key=lambda item: -item[1])
    if m.root not in best:
        ranked.insert(0, (m.root, m.counts()["match"]))
    return ranked


def nothing_matches_hint(m: Match, aligned: bool, counts: dict[str, int]) -> str:
    """A sentence when (almost) nothing matches: what was found, and what to try."""
    total = len(m.variables)
    matched = m.found()
    if not total or matched * 10 >= total:
        return ""
    stored = int((m.table["status"] == "unused").sum() - counts.get("optimizer", 0))
    found = f"Only {matched} of the model's {plural(total, 'variable')} match"
    if not matched:
        found = f"None of the model's {plural(total, 'variable')} matches"
    tries = "choose another root, or write rename rules"
    if not aligned:
        tries = "tick Align layers (a Keras 2 or other-named checkpoint), " + tries
    return (
        f"{found} a variable of this checkpoint under root '{m.root or '(root)'}', which "
        f"holds {plural(stored, 'other model variable')}: {tries}."
    )


def _summary(report: RestoreReport | CombinedReport, chosen: int) -> str:
    """The result line: what was restored, and how many ticked variables were not (the
    widget counts ticks the restore could not take, e.g. a shape that differs, too)."""
    return restored_line(len(report.restored), report.nbytes, report.origin, chosen, report.undone)


def _path(value: Any) -> str:
    """A checkpoint path typed in the front end: a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("Type the path of a checkpoint to add (a prefix, directory or file).")
    return value.strip()


def _check_update(name: str, value: Any) -> None:
    """The JSON shape of a front-end update of ``name``; the traits' validators do the rest."""
    texts = lambda v: isinstance(v, list) and all(isinstance(p, str) for p in v)  # noqa: E731
    ok = {
        "active": isinstance(value, str),
        "adapt": isinstance(value, str),
        "selected": texts(value),
        "selection": isinstance(value, dict) and all(map(texts, value.values())),
        "rules_text": isinstance(value, str),
    }[name]
    if not ok:
        raise ValueError(f"The front end sent {_short(value)} as '{name}', which does not fit.")


def _text(content: dict[str, Any], name: str) -> str:
    """A string field of a front-end request."""
    value = content.get(name)
    if not isinstance(value, str):
        raise ValueError(
            f"Request '{content['type']}' needs '{name}' as text, not {_short(value)}."
        )
    return value


def _flag(content: dict[str, Any], name: str) -> bool:
    """A true/false field of a front-end request (absent: false)."""
    value = content.get(name, False)
    if not isinstance(value, bool):
        raise ValueError(f"Request '{content['type']}' needs '{name}' as true or false.")
    return value


def _paths(content: dict[str, Any]) -> list[str]:
    """The tree row paths of a tick request: a non-empty list of strings."""
    value = content.get("paths")
    if not isinstance(value, list) or not value or not all(isinstance(p, str) for p in value):
        raise ValueError("Request 'tick' needs 'paths' as a list of tree row paths.")
    return value


def _theme(content: dict[str, Any]) -> dict[str, str] | None:
    """The front end's theme colours for a preview (absent: the light default)."""
    from ckpt_widgets.preview.figures import check_theme

    value = content.get("theme")
    return None if value is None else check_theme(value)


def _limit(content: dict[str, Any]) -> int:
    """A panel count from the front end: an int from 1 to 50 (absent: 6)."""
    value = content.get("limit", 6)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 50:
        raise ValueError(f"Request 'preview' needs 'limit' from 1 to 50, not {_short(value)}.")
    return value


def _side(content: dict[str, Any], name: str) -> str | None:
    """A comparison side of a front-end request: a source letter or "model" (absent: None)."""
    value = content.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"Request 'compare' needs '{name}' as a source letter or 'model'.")
    return value


def _short(value: Any) -> str:
    """A value from the front end, shown briefly in an error sentence."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _sentence(exc: BaseException) -> str:
    """An exception as the error line shows it."""
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    return f"{type(exc).__name__}: {message}"


REQUESTS: dict[str, Any] = {
    "restore": lambda w, c: w._restore_in_background(),
    "cancel": lambda w, c: w._cancel.set(),
    "undo": lambda w, c: w.undo(force=_flag(c, "force")),
    "preview": lambda w, c: w.preview(_text(c, "path"), _limit(c), _theme(c), _flag(c, "log")),
    "tick": lambda w, c: w.tick(_paths(c), _flag(c, "on")),
    "clear": lambda w, c: w._clear(),
    "dry_run": lambda w, c: w.dry_run(),
    "checkpoint_rows": lambda w, c: w._send_checkpoint_rows(),
    "close_plan": lambda w, c: setattr(w, "plan", {}),
    "set_root": lambda w, c: w.set_root(_text(c, "root")),
    "refresh": lambda w, c: w.refresh(),
    "align": lambda w, c: w.accept_suggested_renames(),
    "set_align": lambda w, c: w.align_layers(_flag(c, "on")),
    "pair_layer": lambda w, c: w.pair_layer(_text(c, "model"), _text(c, "ckpt")),
    "unpair_layer": lambda w, c: w.unpair_layer(_text(c, "model")),
    "pair": lambda w, c: w.pair(_text(c, "model"), _text(c, "ckpt")),
    "rules": lambda w, c: w.set_rules(_text(c, "text")),
    "add_source": lambda w, c: w.add_source(_path(c.get("path"))),
    "show_source": lambda w, c: w.show_source(_text(c, "label")),
    "remove_source": lambda w, c: w.remove_source(_text(c, "label")),
    "compare": lambda w, c: w._compare_in_background(_side(c, "a"), _side(c, "b"), _theme(c)),
    "overlay": lambda w, c: w.overlay(_text(c, "path"), _limit(c), _theme(c), _flag(c, "log")),
    "chart": lambda w, c: w._run(lambda: w._send_chart(_theme(c))),
}
"""Every request the front end can send, by ``type``; each checks its fields."""


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
