"""The package's own exceptions: one clear sentence each, never a raw TensorFlow dump."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CheckpointError(ValueError):
    """A file or directory that cannot be read as a checkpoint."""


class SelectionError(ValueError):
    """An ``include`` / ``exclude`` entry that names nothing in the model."""


class RenameError(SelectionError):
    """A ``rename=`` rule that is malformed, or that would feed two stored tensors to one
    variable (or, by pattern, one stored tensor to two variables)."""


class OptionError(ValueError):
    """A keyword argument given a value it does not take (``undo='dsik'``, ``root=5``)."""


class MatchError(ValueError):
    """A :class:`~ckpt_widgets.Match` that does not fit the call: made for another model
    or before the model's variables changed, or given together with ``root=``,
    ``rename=`` or ``align=``, which it already fixed."""


class ShapeMismatchError(ValueError):
    """A selected variable whose stored shape does not fit the model variable."""


class DtypeMismatchError(ValueError):
    """A selected variable whose stored dtype differs from the model variable's."""


class UnbuiltModelError(ValueError):
    """A model that has not created its variables yet."""


class AlignmentError(ValueError):
    """Layers that ``align=True`` could pair in several ways: pair them by hand."""


class NothingToRestoreError(ValueError):
    """A restore that would change no variable (e.g. a checkpoint of another model)."""


class RestoreError(RuntimeError):
    """A restore that failed while running; every variable was put back as it was."""


class RestoreCancelled(RestoreError):
    """A restore cancelled by the user; every variable was put back as it was."""


class RollbackError(RestoreError):
    """A failed restore whose rollback could not put back some variables; it names them."""


class WorkerRestoreError(RestoreError):
    """A restore run by every worker of a ``MultiWorkerMirroredStrategy`` that failed on
    one or more of them; it names them, and every worker put its variables back."""


class UndoError(RuntimeError):
    """An undo that cannot be done (already undone, or the values changed since)."""


class NonFiniteValuesWarning(UserWarning):
    """A restore brought NaN or Inf values from the checkpoint into the model."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (TensorFlow's run on for pages)."""
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str:
    """``"; did you mean 'a', 'b'?"`` for the closest choices, or ``"."`` when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=cutoff)
    return f"; did you mean {', '.join(map(repr, close))}?" if close else "."


class NothingInCommonError(ValueError):
    """Two checkpoints (or a checkpoint and a model) compared that share no variable."""
