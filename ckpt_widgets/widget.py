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
from .matching import STATUSES, Match, match
from .restore import RestoreReport, restore
from .selection import select


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
    """Ticked submodule and variable paths: strings ``include=`` accepts."""
    adapt = traitlets.Unicode("").tag(sync=True)
    """``""``, ``"overlap"`` or ``"zeros"``: lets shape-mismatched variables be ticked."""
    result = traitlets.Dict().tag(sync=True)
    """The last restore's summary, skipped rows, code, and whether undo is possible."""
    error = traitlets.Unicode("").tag(sync=True)
    """The last error, one sentence; empty when the last action succeeded."""
    busy = traitlets.Bool(False).tag(sync=True)
    progress = traitlets.Dict().tag(sync=True)
    """``{"done": n, "total": m}`` while a restore started from the front end runs."""

    def __init__(self, model: Any, src_or_path: Any, root: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.model = model
        self.source = open_checkpoint(src_or_path)
        self.report: RestoreReport | None = None
        self._job: threading.Thread | None = None
        self._cancel = threading.Event()
        self.rename: Any = None
        """The ``rename=`` in force: rules from the Rules box or pairs from Align."""
        self._set_match(match(model, self.source, root=root))
        self.on_msg(self._on_message)

    # -- the Python API behind every button -----------------------------------------

    def restore(self) -> RestoreReport:
        """Restore the ticked selection (what the Restore button does)."""
        return self._run(self._restore)

    def undo(self, force: bool = False) -> None:
        """Undo the last restore (the Undo button; "Undo anyway" passes ``force=True``)."""
        self._run(lambda: self._undo(force))

    def refresh(self) -> None:
        """Match again (after the model or the file changed), keeping root and renames."""
        self._run(lambda: self._rematch(self.match.root, self.rename))

    def set_root(self, root: str) -> None:
        """Match again with the model placed at ``root`` in the checkpoint."""
        self._run(lambda: self._rematch(root, self.rename))

    def align(self) -> int:
        """Accept :func:`~ckpt_widgets.suggest_rename`'s pairs (the Align button)."""
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

    def _rematch(self, root: str | None, rename: Any) -> None:
        self._set_match(match(self.model, self.source, root=root, rename=rename))
        self.rename = rename

    def _set_match(self, m: Match) -> None:
        from .tree import checkpoint_tree, model_tree

        self.match = m
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
        }
        self.rows = _columns(model_tree(m))
        self.ckpt_rows = _columns(checkpoint_tree(m))
        self.selected = []

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

    def _restore(self, cancel: threading.Event | None = None) -> RestoreReport:
        self._check_fresh()
        if not self.selected:
            raise ValueError("Nothing is ticked: tick the submodules or variables to restore.")
        rows = select(self.match, list(self.selected))
        status = self.match.table["status"]
        allowed = {"match", "shape_mismatch"} if self.adapt else {"match"}
        include = [self.match.variables[i] for i in sorted(rows) if status.iat[i] in allowed]
        try:
            report = restore(
                self.model,
                self.match,
                include=include,
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
            "pair": lambda c: self.pair(str(c["model"]), str(c["ckpt"])),
            "rules": lambda c: self.set_rules(str(c["text"])),
        }
        kind = content.get("type") if isinstance(content, dict) else None
        if kind not in handlers:
            self.error = f"Unknown request from the front end: {kind!r}."
            return
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
