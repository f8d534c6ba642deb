"""The Dry run panel's content: what Restore would do, per source and layer, as plain data.

Built from the report of ``restore(..., dry_run=True)`` (one source) or
``restore_many(..., dry_run=True)`` (several), so the panel shows exactly what the
Restore button would then restore.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from ckpt_widgets.engine.restore_many import CombinedReport
    from ckpt_widgets.engine.transaction import RestoreReport

    from .state import Source

LIMIT = 200
"""Layers and skipped rows sent to the front end at most (their counts are always sent)."""


def plan_view(
    report: RestoreReport | CombinedReport, skipped: pd.DataFrame, sources: Sequence[Source]
) -> dict[str, Any]:
    """The panel's data: ``summary``, totals (``variables``, ``params``, ``nbytes``), one
    entry per source with its layers, the ticked variables that would be ``skipped`` (with
    ``reason``) and the ``code``."""
    letters = {s.match.source.prefix: s.label for s in sources}
    parts = getattr(report, "reports", [report])
    return {
        "summary": report.summary(),
        "variables": len(report.restored),
        "params": int(report.params),
        "nbytes": int(report.nbytes),
        "sources": [_source(part, letters.get(part.source, "")) for part in parts],
        "skipped": [
            {k: str(v) for k, v in row.items()}
            for row in skipped[["model_path", "name", "layer", "status", "reason"]]
            .head(LIMIT)
            .to_dict(orient="records")
        ],
        "skipped_count": len(skipped),
        "code": report.code,
    }


def _source(report: RestoreReport, label: str) -> dict[str, Any]:
    """One source's share: its counts and what it restores layer by layer."""
    layers: dict[str, dict[str, Any]] = {}
    for layer, name, shape, nbytes in zip(
        report.restored["layer"],
        report.restored["name"],
        report.restored["shape"],
        report.restored["nbytes"],
    ):
        key = layer or name.rsplit("/", 1)[0]
        entry = layers.setdefault(key, {"layer": key, "variables": 0, "params": 0, "nbytes": 0})
        entry["variables"] += 1
        entry["params"] += math.prod(shape)
        entry["nbytes"] += int(nbytes)
    return {
        "label": label,
        "path": report.source,
        "variables": len(report.restored),
        "params": int(report.params),
        "nbytes": int(report.nbytes),
        "layers": list(layers.values())[:LIMIT],
        "layer_count": len(layers),
    }
