"""ckpt-widgets: see, choose and restore parts of TensorFlow checkpoints into Keras models.

Importing the package is light: TensorFlow, pandas and matplotlib load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "open_checkpoint": "checkpoint",
    "CheckpointSource": "checkpoint",
    "model_variables": "model",
    "match": "matching",
    "Match": "matching",
    "STATUSES": "matching",
    "restore": "restore",
    "RestoreReport": "restore",
    "CheckpointError": "errors",
    "SelectionError": "errors",
    "ShapeMismatchError": "errors",
    "DtypeMismatchError": "errors",
    "UnbuiltModelError": "errors",
    "NothingToRestoreError": "errors",
    "RestoreError": "errors",
    "UndoError": "errors",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from .checkpoint import CheckpointSource, open_checkpoint
    from .errors import (
        CheckpointError,
        DtypeMismatchError,
        NothingToRestoreError,
        RestoreError,
        SelectionError,
        ShapeMismatchError,
        UnbuiltModelError,
        UndoError,
    )
    from .matching import STATUSES, Match, match
    from .model import model_variables
    from .restore import RestoreReport, restore


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ckpt_widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
