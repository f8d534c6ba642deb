"""Fit a stored tensor into a model variable of another shape: ``adapt="overlap"|"zeros"``.

The one rule, used by the restore, the preview and the generated code: copy the
overlapping leading block ``[0:min(a, b), …]`` of both shapes; the rest of the variable
keeps its value (``"overlap"``) or becomes zero (``"zeros"``). :func:`adapted` applies it
to arrays; :func:`block_code` and :func:`start_code` print the same rule as Python for
:mod:`.codegen`, built from the same functions so that the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ckpt_widgets.errors import OptionError

if TYPE_CHECKING:
    import numpy as np

MODES = (None, "overlap", "zeros")
"""The values ``adapt=`` accepts; None refuses a shape mismatch."""


def check_mode(adapt: object) -> None:
    """Raise :class:`OptionError` for an ``adapt=`` that is not one of :data:`MODES`."""
    if adapt not in MODES:
        raise OptionError(f"adapt={adapt!r} is not one of None, 'overlap', 'zeros'.")


def overlap(shape: Sequence[int], stored_shape: Sequence[int]) -> tuple[slice, ...]:
    """The block both shapes hold: ``slice(0, min(a, b))`` on every axis."""
    return tuple(slice(0, min(int(a), int(b))) for a, b in zip(shape, stored_shape))


def adapted(stored: np.ndarray, current: np.ndarray, adapt: str) -> np.ndarray:
    """``stored`` fitted into ``current``'s shape as ``restore(adapt=adapt)`` writes it.

    ``stored`` may be the whole tensor or only its overlapping block; the same shape or
    another rank gives ``stored`` back as it is (a restore refuses another rank before).
    """
    if stored.shape == current.shape or stored.ndim != current.ndim:
        return stored
    value = _start(current, adapt)
    block = overlap(current.shape, stored.shape)
    value[block] = stored[block]
    return value


def _start(current: np.ndarray, adapt: str) -> np.ndarray:
    """What the variable holds outside the block: its value, or zeros."""
    import numpy as np

    return current.copy() if adapt == "overlap" else np.zeros_like(current)


def start_code(current: str, adapt: str) -> str:
    """:func:`_start` as Python, for the array expression ``current`` (needs ``np``)."""
    return f"{current}.copy()" if adapt == "overlap" else f"np.zeros_like({current})"


def block_code(shape: Sequence[int], stored_shape: Sequence[int]) -> str:
    """The subscript of :func:`overlap` as Python: ``[0:3, 0:4]`` (``[...]`` for a scalar)."""
    block = overlap(shape, stored_shape)
    if not block:
        return "[...]"
    return "[" + ", ".join(f"{s.start}:{s.stop}" for s in block) + "]"
