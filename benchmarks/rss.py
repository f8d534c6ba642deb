"""Peak extra resident memory of a call, as every memory benchmark measures it.

Freed heap memory is first handed back to the system (``malloc_trim``, on glibc; else
new allocations would reuse it unseen), then the kernel's high-water mark is reset
(``/proc/self/clear_refs``) and read after the call (``VmHWM``); where that is refused,
the RSS is sampled every millisecond in a thread (short peaks may then be missed).
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Callable
from typing import Any


def release_freed_memory() -> None:
    """Return freed heap memory to the system, so that reusing it shows in the RSS."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def peak_extra(fn: Callable[[], Any]) -> tuple[int, float, Any]:
    """Peak resident bytes above the start while ``fn`` runs, its seconds and result."""
    import psutil

    gc.collect()
    release_freed_memory()
    process = psutil.Process()
    base = process.memory_info().rss
    exact = _reset_high_water_mark()
    peak, done = base, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.001)

    thread = threading.Thread(target=sample)
    thread.start()
    start = time.perf_counter()
    try:
        result = fn()
    finally:
        took = time.perf_counter() - start
        done.set()
        thread.join()
    peak = max(peak, process.memory_info().rss)
    if exact:
        peak = max(peak, _status("VmHWM"))
    return max(0, peak - base), took, result


def peak_extra_rss(fn: Callable[[], Any]) -> int:
    """Peak resident bytes above the start while ``fn`` runs."""
    return peak_extra(fn)[0]


def _reset_high_water_mark() -> bool:
    """Reset ``VmHWM`` to the current RSS; False where the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return _status("VmHWM") > 0


def _status(field: str) -> int:
    """A ``/proc/self/status`` field in bytes (0 if absent)."""
    with contextlib.suppress(OSError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0
