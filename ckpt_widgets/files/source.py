"""What every opened checkpoint file provides, whatever its format.

:func:`~ckpt_widgets.open_checkpoint` returns a :class:`CheckpointSource`: a TF2
object-based checkpoint (:mod:`.tf2`), a TF1 name-based one (:mod:`.tf1`) or a Keras
weights file (:mod:`.keras_weights`). The engine asks a source what it can do (its
``object_graph``, how its variables pair with a model's: ``pairs_by``) instead of asking
which format it is.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from ckpt_widgets.errors import ShapeMismatchError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from .graph import ObjectGraph

COLUMNS = ["path", "key", "shape", "dtype", "size", "nbytes", "group", "node_id"]
"""The columns of every source's :attr:`~CheckpointSource.variables`."""
WHOLE_NUMBERS = frozenset({"size", "nbytes", "node_id"})

PairsBy = Literal["path", "name", "layer", "structure"]


@runtime_checkable
class CheckpointSource(Protocol):
    """A checkpoint file opened once: listed without reading values, read on demand."""

    path: str
    """The checkpoint's prefix (TensorFlow) or file (Keras), absolute when local."""
    format: str
    """``"tf2"``, ``"tf1"`` or ``"keras"``: a label to show, not to branch on."""
    variables: pd.DataFrame
    """One row per stored variable, columns :data:`COLUMNS` (and more for some formats)."""
    object_graph: ObjectGraph | None
    """The stored object graph (TF2), None for a file that stores none."""
    pairs_by: PairsBy
    """How a model variable finds its stored value: by object ``"path"`` through
    :attr:`object_graph`, by TensorFlow variable ``"name"`` (TF1), by Keras ``"layer"``
    name and index (Keras 2 ``.h5``), or by the ``"structure"`` Keras's own
    ``save_weights`` walks (Keras 3 files)."""

    def read(self, path_or_key: str) -> np.ndarray:
        """One stored tensor, by its path or its key."""
        ...

    def read_block(self, path_or_key: str, shape: tuple[int, ...]) -> np.ndarray:
        """The leading block ``[0:shape[0], 0:shape[1], …]`` of one stored tensor, clipped
        to its stored shape."""
        ...

    def read_tensors(self, keys: list[str]) -> list[Any]:
        """Several stored tensors by key, in one read where the format allows it."""
        ...

    def read_pieces(
        self, path_or_key: str, piece: int, buffer: np.ndarray | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """One stored tensor as consecutive flat pieces ``(first element, values)`` in C
        order, each of at most ``piece`` elements (a Keras file's: whole rows, at least
        one), read piece by piece from the file where the format allows it, else the whole
        tensor as one piece. With ``buffer`` (flat, the tensor's dtype, at least ``piece``
        elements) a piece is a view of it, valid until the next piece is read."""
        ...

    def key_of(self, path_or_key: str) -> str:
        """The tensor key for a path or a key; ``KeyError`` with a hint for neither."""
        ...

    def resolve(self, path: str) -> int | None:
        """The object graph's node at ``path``, None if absent or there is no graph."""
        ...

    def is_variable(self, node: int) -> bool:
        """Whether object graph node ``node`` holds a listed variable."""
        ...

    def row_of(self, node: int) -> int:
        """Row in :attr:`variables` of variable node ``node``."""
        ...

    def object_paths(self) -> list[str]:
        """Paths of the objects that are not variables (where a model may sit)."""
        ...

    def layer_of(self, path: str) -> str:
        """The stored layer owning the variable at ``path``, as alignment names it."""
        ...

    def reader_code(self, note: str = "") -> tuple[list[str], list[str]]:
        """Imports and plain-Python lines that open this file as ``reader``, starting with
        a comment (``note`` is added to it where TensorFlow reads the file)."""
        ...

    def read_code(self, key: str) -> str:
        """The expression reading ``key`` from ``reader`` (see :meth:`reader_code`)."""
        ...


class SourceTables:
    """Tables about a source's stored values, shared by every kind of source."""

    def stats(self, paths: Iterable[str] | None = None) -> pd.DataFrame:
        """Statistics of the stored values, one row per variable (see ``cw.variable_stats``)."""
        from ckpt_widgets.preview.explore import variable_stats

        return variable_stats(self, paths)

    def rollup(self, values: bool = False) -> pd.DataFrame:
        """Parameters, bytes, optimizer share and dtypes per subtree
        (see ``cw.checkpoint_summary``)."""
        from ckpt_widgets.preview.explore import checkpoint_summary

        return checkpoint_summary(self, values=values)


class WithoutGraph:
    """The object-graph answers of a source that stores no object graph."""

    object_graph: ObjectGraph | None = None

    def resolve(self, path: str) -> int | None:
        """No object graph: nothing resolves by edges."""
        return None

    def is_variable(self, node: int) -> bool:
        """No object graph: no node is a variable."""
        return False

    def row_of(self, node: int) -> int:
        """No object graph: there are no variable nodes."""
        raise KeyError(node)

    def object_paths(self) -> list[str]:
        """No object graph: no object paths."""
        return []


def variables_frame(columns: dict[str, list[Any]]) -> pd.DataFrame:
    """The :data:`COLUMNS` table built from its columns, each typed as pandas would infer
    it (whole numbers as int64, text as pandas' string dtype, shapes as objects) without
    pandas inspecting every value or reordering the columns: twice as fast on a
    listing."""
    import numpy as np
    import pandas as pd

    text = _text_dtype()
    arrays: dict[str, Any] = {}
    for name in COLUMNS:
        values = columns[name]
        if name == "shape":
            arrays[name] = np.empty(len(values), dtype=object)
            arrays[name][:] = values
        elif name in WHOLE_NUMBERS:  # TensorFlow refuses shapes of more than 2**63 elements
            arrays[name] = np.array(values, dtype=np.int64)
        else:
            arrays[name] = pd.array(values, dtype=text)
    return pd.DataFrame(arrays, copy=False)


@functools.cache
def _text_dtype() -> Any:
    """The dtype pandas gives a column of strings (``str`` in pandas 3, ``object`` before)."""
    import pandas as pd

    return pd.Series(["text"]).dtype


def leading_block(stored: Any, shape: Any, key: str) -> tuple[int, ...]:
    """The shape of the leading block ``shape`` of a ``stored``-shaped tensor, clipped."""
    stored, shape = tuple(int(n) for n in stored), tuple(int(n) for n in shape)
    if len(stored) != len(shape):
        raise ShapeMismatchError(
            f"Cannot read a block of shape {shape} from '{key}', stored with shape {stored}: "
            "the ranks differ."
        )
    return tuple(max(0, min(a, b)) for a, b in zip(stored, shape))
