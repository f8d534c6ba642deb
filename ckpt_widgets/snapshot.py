"""The values variables had before a restore: for rollback and undo, in memory or on disk.

In memory a snapshot costs the bytes it holds; on disk it costs one ``.npy`` write per
variable and holds no memory (the folder is deleted with the snapshot).
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np

Where = Literal["memory", "disk"]


class Snapshot:
    """Copies of variable values keyed by ``id(variable)``."""

    def __init__(self, variables: dict[int, Any], where: Where = "memory"):
        import numpy as np

        if where not in ("memory", "disk"):
            raise ValueError(f"A snapshot is kept in 'memory' or on 'disk', not {where!r}.")
        self.where = where
        self.variables = dict(variables)
        self._values: dict[int, np.ndarray] = {}
        self._folder: Path | None = None
        if where == "disk":
            self._folder = Path(tempfile.mkdtemp(prefix="ckpt-widgets-undo-"))
            weakref.finalize(self, shutil.rmtree, self._folder, True)
        for key, variable in self.variables.items():
            value = variable.numpy()
            if self._folder is None:
                self._values[key] = value
            else:
                np.save(self._folder / f"{key}.npy", value, allow_pickle=False)

    def value(self, key: int) -> np.ndarray:
        """The saved value of the variable ``key``."""
        import numpy as np

        if self._folder is None:
            return self._values[key]
        return np.load(self._folder / f"{key}.npy", allow_pickle=False)

    def put_back(self, keys: Any = None) -> None:
        """Assign the saved values back (to every variable, or to ``keys``)."""
        for key in self.variables if keys is None else keys:
            self.variables[key].assign(self.value(key))

    def keep_only(self, keys: Any) -> None:
        """Forget every variable but ``keys``."""
        keep = set(keys)
        for key in [k for k in self.variables if k not in keep]:
            del self.variables[key]
            self._values.pop(key, None)
            if self._folder is not None:
                (self._folder / f"{key}.npy").unlink(missing_ok=True)

    def discard(self) -> None:
        """Free the saved values."""
        self.variables.clear()
        self._values.clear()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
