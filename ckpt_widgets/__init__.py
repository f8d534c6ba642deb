"""ckpt-widgets: see, choose and restore parts of TensorFlow checkpoints into Keras models.

Importing the package is light: TensorFlow, pandas and matplotlib load on first use, and
the widget (anywidget) when ``CheckpointWidget`` is first touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .engine.compare import compare, compare_rollup
from .engine.matching import STATUSES, Match, match
from .engine.model import model_variables
from .engine.restore_many import CombinedReport, restore_many
from .engine.runs import compare_run, plot_run, run_by_module, run_checkpoints
from .engine.suggest import suggest_rename
from .engine.transaction import RestoreReport, restore
from .errors import (
    AlignmentError,
    CheckpointError,
    DtypeMismatchError,
    MatchError,
    NonFiniteValuesWarning,
    NothingInCommonError,
    NothingToRestoreError,
    OptionError,
    RenameError,
    RestoreCancelled,
    RestoreError,
    RollbackError,
    SelectionError,
    ShapeMismatchError,
    UnbuiltModelError,
    UndoError,
    WorkerRestoreError,
)
from .files.checkpoint import CheckpointSource, open_checkpoint
from .preview.explore import checkpoint_summary, variable_stats

if TYPE_CHECKING:
    from .widget.checkpoint_widget import CheckpointWidget

__version__ = "0.1.0"

__all__ = [
    "STATUSES",
    "AlignmentError",
    "CheckpointError",
    "CheckpointSource",
    "CheckpointWidget",
    "CombinedReport",
    "DtypeMismatchError",
    "Match",
    "MatchError",
    "NonFiniteValuesWarning",
    "NothingInCommonError",
    "NothingToRestoreError",
    "OptionError",
    "RenameError",
    "RestoreCancelled",
    "RestoreError",
    "RestoreReport",
    "RollbackError",
    "SelectionError",
    "ShapeMismatchError",
    "UnbuiltModelError",
    "UndoError",
    "WorkerRestoreError",
    "checkpoint_summary",
    "compare",
    "compare_rollup",
    "compare_run",
    "match",
    "model_variables",
    "open_checkpoint",
    "plot_run",
    "restore",
    "restore_many",
    "run_by_module",
    "run_checkpoints",
    "suggest_rename",
    "variable_stats",
]


def __getattr__(name: str) -> Any:
    if name == "CheckpointWidget":
        from .widget.checkpoint_widget import CheckpointWidget

        return CheckpointWidget
    raise AttributeError(f"module 'ckpt_widgets' has no attribute {name!r}")
