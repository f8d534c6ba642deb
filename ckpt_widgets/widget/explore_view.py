"""The widget's explore and compare views: a checkpoint alone, and two sides side by side.

A mixin of :class:`~ckpt_widgets.CheckpointWidget`: the rows come from
:mod:`~ckpt_widgets.widget.explore_rows`; this part holds which checkpoints are open
without a model, the comparison on show, and the requests that draw them.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import traitlets

from ckpt_widgets.errors import NothingToRestoreError
from ckpt_widgets.files.open import open_checkpoint

from .explore_rows import Comparison, change_by_layer, explore_rows, source_preview

MODEL = "model"
"""The side name of the live model in a comparison."""


class ExploreView(traitlets.HasTraits):
    """Explore checkpoints without a model, and compare two sides (the Compare view)."""

    comparison = traitlets.Dict().tag(sync=True)
    """The Compare view: ``{"a", "b", "rows", "layers"}`` (sides, :func:`compare_rows`
    columns, :func:`change_by_layer` records), or ``{"a", "b", "running": True}`` while it
    is computed; empty before the view is first opened."""

    _explored: dict[str, Any] | None = None
    """Without a model: the open checkpoints by letter (None when there is a model)."""
    _comparison: Comparison | None = None

    # -- the Python API -------------------------------------------------------------

    def compare(
        self, a: str | None = None, b: str | None = None, theme: dict[str, str] | None = None
    ) -> Any:
        """Compare two sides (what opening the Compare view does); return the table.

        ``a`` and ``b`` are source letters, or ``"model"`` for the live model's current
        values. Defaults: without a model, the first two checkpoints; with one, the model
        against the active checkpoint. The table is :func:`ckpt_widgets.compare`'s; the
        view gets its rows (:attr:`comparison`) and a bar chart of change per layer.
        """
        return self._run(lambda: self._compare(a, b, theme)).table

    def overlay(
        self,
        path: str,
        limit: int = 6,
        theme: dict[str, str] | None = None,
        log: bool = False,
    ) -> tuple[bytes, Any]:
        """A's and B's histograms of the variables under ``path`` in the comparison on
        show (compared first if none is), with the statistics of each side and of
        ``B - A``; sent to the front end like a preview."""
        return self._run(lambda: self._send_overlay(path, limit, theme, log))

    # -- internals ------------------------------------------------------------------

    def _explore_start(self, paths: Any) -> None:
        """Open one checkpoint (or a list of them) to explore without a model."""
        from ckpt_widgets.engine.compare import _is_model

        if paths is None or _is_model(paths):
            raise ValueError(
                "Give a checkpoint: cw.CheckpointWidget(model, path) to restore into a "
                "model, or cw.CheckpointWidget(path) to explore the checkpoint alone."
            )
        self.model = None
        self._explored = {}
        for path in paths if isinstance(paths, (list, tuple)) else [paths]:
            self._explore_add(path)

    def _explore_add(self, src_or_path: Any) -> str:
        """Open a checkpoint beside the others and show it (no model to check it against)."""
        from .state import label_for

        label = label_for(self._added)
        src = open_checkpoint(src_or_path)
        assert self._explored is not None
        for known, other in self._explored.items():
            if other.prefix == src.prefix:
                raise ValueError(
                    f"Checkpoint '{src.prefix}' is already source {known}; each checkpoint "
                    "can be added once."
                )
        self._explored[label] = src
        try:
            return self._add(None, None, False)
        except Exception:
            del self._explored[label]
            raise

    def _explore_draw(self) -> None:
        """The header, tree and sources of the active checkpoint, explored alone."""
        assert self._explored is not None
        labels = [s.label for s in self._sources]
        for gone in set(self._explored) - set(labels):
            del self._explored[gone]
        src = self._explored[self.active]
        self.sources = [
            {"label": k, "path": v.prefix, "root": "", "align": False, "format": v.format}
            for k, v in self._explored.items()
        ]
        totals = src.rollup().loc[""]
        groups = src.variables["group"].value_counts()
        self.header = {
            "checkpoint": src.prefix,
            "format": src.format,
            "explore": True,
            "root": "",
            "model_root": "",
            "roots": [],
            "root_counts": {},
            "hint": "",
            "counts": {g: int(groups.get(g, 0)) for g in ("model", "optimizer", "other")},
            "statuses": ["model", "optimizer", "other"],
            "align": False,
            "totals": _plain_dict(totals),
        }
        self.pairs = []
        self.rows = _columns(explore_rows(src))
        self.ckpt_rows = {}
        self._forget_comparison(labels)

    def _explore_refresh(self) -> None:
        """Open every explored file again (training may have written it since)."""
        assert self._explored is not None
        self._explored = {k: open_checkpoint(v.prefix) for k, v in self._explored.items()}
        self._comparison = None
        self.comparison = {}
        self._draw()

    def _forget_comparison(self, labels: list[str]) -> None:
        """Drop the comparison if one of its sides is gone."""
        shown = self._comparison
        if shown is not None and not all(s == MODEL or s in labels for s in shown.labels):
            self._comparison = None
            self.comparison = {}

    def _side(self, name: str) -> Any:
        """The model or checkpoint a comparison side names."""
        if name == MODEL:
            if self.model is None:
                raise NothingToRestoreError(
                    "This widget has no model to compare; compare two checkpoints "
                    "(w.add_source(path), then w.compare('A', 'B'))."
                )
            return self.model
        label = self._label(name)
        if self._explored is not None:
            return self._explored[label]
        return self._source(label).match.source

    def _sides(self, a: str | None, b: str | None) -> tuple[str, str]:
        labels = [s.label for s in self._sources]
        if a is None and b is None:
            if self._explored is None:
                return MODEL, self.active
            if len(labels) < 2:
                raise ValueError(
                    "Add a second checkpoint to compare (w.add_source(path), or the Add "
                    "checkpoint box); with one, the view explores it alone."
                )
            return labels[0], labels[1]
        if a is None or b is None:
            raise ValueError("Name both sides to compare (e.g. w.compare('A', 'B')), or neither.")
        if a == b:
            raise ValueError(f"Compare two different sides, not '{a}' with itself.")
        return a, b

    def _compare(self, a: str | None, b: str | None, theme: dict[str, str] | None) -> Comparison:
        a, b = self._sides(a, b)
        side_a, side_b = self._side(a), self._side(b)
        root_b = None
        if a == MODEL and self._explored is None:
            root_b = self._source(self._label(b)).match.root
        comparison = Comparison.of(side_a, side_b, (a, b), root_b=root_b)
        self._comparison = comparison
        with self.hold_sync():
            self.comparison = {
                "a": a,
                "b": b,
                "rows": _columns(comparison.rows()),
                "layers": _columns(change_by_layer(comparison.table)),
            }
        self._send_chart(theme)
        return comparison

    def _send_chart(self, theme: dict[str, str] | None) -> bytes:
        """The change-per-layer chart of the comparison on show (again, in a new theme)."""
        if self._comparison is None:
            raise ValueError("Open the Compare view first (w.compare()); nothing is compared yet.")
        a, b = self._comparison.labels
        chart = self._comparison.chart(theme=theme, scale=2)
        self.send({"type": "compare_chart", "a": a, "b": b, "scale": 2}, buffers=[chart])
        return chart

    def _compare_in_background(
        self, a: str | None, b: str | None, theme: dict[str, str] | None
    ) -> None:
        """The Compare view opened: compare in a thread, so the kernel stays responsive.

        :attr:`busy` stays true until it ends; other requests are refused meanwhile.
        """
        self._refuse_while_running()
        a, b = self._sides(a, b)
        self.error = self.notice = ""
        self.comparison = {"a": a, "b": b, "running": True}

        def job() -> None:
            try:
                self._compare(a, b, theme)
            except Exception as exc:  # shown through self.error
                self.comparison = {}
                self.error = f"{type(exc).__name__}: {exc}"
            finally:
                self._running = False
                self.busy = False

        self._job = threading.Thread(target=job, daemon=True)
        self._running = True
        self.busy = True
        self._job.start()

    def _send_overlay(
        self, path: str, limit: int, theme: dict[str, str] | None, log: bool
    ) -> tuple[bytes, Any]:
        comparison = self._comparison or self._compare(None, None, theme)
        png, stats = comparison.overlay(path, limit=limit, theme=theme, log=log, scale=2)
        self._send_histogram(path, png, stats, limit, log, overlay=list(comparison.labels))
        return png, stats

    def _explore_preview(
        self, path: str, limit: int, theme: dict[str, str] | None, log: bool
    ) -> tuple[bytes, Any]:
        """The stored values under ``path`` in the active checkpoint (no current side)."""
        assert self._explored is not None
        return source_preview(
            self._explored[self.active], path, limit=limit, theme=theme, log=log, scale=2
        )


def _plain(value: Any) -> Any:
    """A value as JSON carries it: numpy scalars as Python's, non-finite floats as None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _plain_dict(series: Any) -> dict[str, Any]:
    return {str(k): _plain(v) for k, v in series.items()}


def _columns(frame: Any) -> dict[str, list[Any]]:
    return {name: [_plain(v) for v in frame[name].tolist()] for name in frame.columns}
