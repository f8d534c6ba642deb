"""The values variables had before a restore: for rollback and undo, in memory or on disk.

In memory a snapshot holds TensorFlow's own reads of the variables, which share their
buffers: nothing is copied, and an assign after the read writes a new buffer (copy on
write), so the snapshot costs the old bytes only once the variables change. Putting them
back assigns those same tensors: no copy either. On disk it costs one ``.npy`` write per
variable and holds no memory (the folder is deleted with the snapshot).

Putting values back never stops part way: a failing variable or a Ctrl-C does not keep
the others from being put back (see :meth:`Snapshot.put_back`).
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ckpt_widgets.errors import OptionError, RestoreError, first_line
from ckpt_widgets.words import plural

if TYPE_CHECKING:
    import numpy as np

Where = Literal["memory", "disk"]


class PutBackFailed(Exception):
    """Some variables could not be put back; every other one was."""

    def __init__(self, failures: list[tuple[str, BaseException]]):
        self.failures = failures
        super().__init__(describe_failures(failures))


def describe_failures(failures: list[tuple[str, BaseException]]) -> str:
    """``"2 variables could not be put back: 'a', 'b' (first error)"``."""
    names = ", ".join(f"'{label}'" for label, _ in failures)
    first = first_line(failures[0][1])
    return f"{plural(len(failures), 'variable')} could not be put back: {names} ({first})"


class Snapshot:
    """Copies of variable values keyed by ``id(variable)``."""

    def __init__(self, variables: dict[int, Any], where: Where = "memory"):
        if where not in ("memory", "disk"):
            raise OptionError(f"A snapshot is kept in 'memory' or on 'disk', not {where!r}.")
        self.where = where
        self.variables = dict(variables)
        self._values: dict[int, Any] = {}  # current_read()s: tensors, or arrays
        self._folder: Path | None = None
        if where == "disk":
            self._save_to_disk()
        else:
            self._values = {key: current_read(v) for key, v in self.variables.items()}

    def _save_to_disk(self) -> None:
        import numpy as np

        try:
            self._folder = Path(tempfile.mkdtemp(prefix="ckpt-widgets-undo-"))
            weakref.finalize(self, shutil.rmtree, self._folder, True)
            for key, variable in self.variables.items():
                np.save(self._folder / f"{key}.npy", current_value(variable), allow_pickle=False)
        except OSError as exc:
            self.discard()
            raise RestoreError(
                f"Could not keep the old values on disk for undo ({first_line(exc)}) in "
                f"'{tempfile.gettempdir()}'; nothing was changed: free some space there or "
                "pass undo=True to keep them in memory."
            ) from exc

    def value(self, key: int) -> np.ndarray:
        """The saved value of the variable ``key``."""
        import numpy as np

        if self._folder is None:
            return read_only(self._values[key])
        return np.load(self._folder / f"{key}.npy", allow_pickle=False)

    def _saved(self, key: int) -> Any:
        """What to assign to put the variable ``key`` back: in memory the very tensor
        read before, so that TensorFlow copies nothing."""
        return self._values[key] if self._folder is None else self.value(key)

    def gone(self) -> bool:
        """Whether saved values kept on disk were removed from under the snapshot."""
        if self._folder is None:
            return False
        return any(not (self._folder / f"{key}.npy").is_file() for key in self.variables)

    def put_back(self, keys: Iterable[int] | None = None) -> None:
        """Assign the saved values back (to every variable, or to ``keys``).

        Every variable that can be put back is, even past a failing one or a Ctrl-C;
        then :class:`PutBackFailed` names the ones that could not be, or else a Ctrl-C
        received meanwhile is raised as ``KeyboardInterrupt``.
        """
        failures: list[tuple[str, BaseException]] = []
        interrupted = False
        with interrupts_deferred() as deferred:
            for key in list(self.variables if keys is None else keys):
                error, was_interrupted = self._put_back_one(key)
                interrupted |= was_interrupted
                if error is not None:
                    failures.append((label(self.variables[key]), error))
        if failures:
            raise PutBackFailed(failures)
        if interrupted or deferred():
            raise KeyboardInterrupt

    def _put_back_one(self, key: int) -> tuple[BaseException | None, bool]:
        """Assign one saved value, trying again once after a Ctrl-C.

        Returns the error that stopped it (None when done) and whether Ctrl-C was seen.
        """
        interrupted = False
        error: BaseException | None = None
        for _ in range(2):
            try:
                self.variables[key].assign(self._saved(key))
                return None, interrupted
            except KeyboardInterrupt as exc:
                interrupted, error = True, exc
            except Exception as exc:
                return exc, interrupted
        return error, interrupted

    def discard(self) -> None:
        """Free the saved values."""
        self.variables.clear()
        self._values.clear()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


def current_value(variable: Any) -> np.ndarray:
    """The value ``variable`` holds now, as a read-only array no later assign changes.

    A TensorFlow variable (a Keras 3 one through its ``value``) is read without a copy
    (one ``ReadVariableOp``): the array shares the buffer the read returned, and assigns
    write a new one.
    """
    return read_only(current_read(variable))


def current_read(variable: Any) -> Any:
    """TensorFlow's read of ``variable`` (one ``ReadVariableOp``, sharing its buffer), or,
    for a variable TensorFlow does not hold (another Keras backend), a copy as an array."""
    import numpy as np
    import tensorflow as tf
    from tensorflow.python.ops.gen_resource_variable_ops import read_variable_op

    held = tf_variable(variable)
    if held is not None:  # one op, no tape, device scope or Keras autocast
        return read_variable_op(held.handle, held.dtype)
    for holder in (getattr(variable, "value", None), variable):
        if isinstance(holder, tf.Variable):  # e.g. a distributed variable
            return holder.value()
    return np.asarray(variable.numpy())


def tf_variable(variable: Any) -> Any | None:
    """The TensorFlow resource variable that holds ``variable`` (itself, or a Keras 3
    variable's), or None (a distributed variable, another Keras backend)."""
    from tensorflow.python.ops.resource_variable_ops import BaseResourceVariable

    for holder in (getattr(variable, "_value", None), variable):
        if isinstance(holder, BaseResourceVariable):
            return holder
    return None


def read_only(value: Any) -> np.ndarray:
    """``value`` (a tensor or an array) as a read-only array sharing its memory."""
    import numpy as np

    array = np.asarray(value)
    array.flags.writeable = False
    return array


def label(variable: Any) -> str:
    """How errors name a variable: its Keras path, else its TensorFlow name."""
    return str(getattr(variable, "path", None) or getattr(variable, "name", None) or variable)


@contextmanager
def interrupts_deferred() -> Iterator[Any]:
    """Hold Ctrl-C (SIGINT) back while the block runs; yields ``deferred() -> bool``.

    Only the main thread receives signals; elsewhere, or when SIGINT is not handled from
    Python, nothing is changed and ``deferred()`` is False.
    """
    received: list[int] = []
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGINT)
    if previous is None or previous == signal.SIG_IGN:
        yield lambda: False
        return
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield lambda: bool(received)
    finally:
        signal.signal(signal.SIGINT, previous)
