"""The widget's front end, simulated: send its requests, see what the kernel sends back.

A request goes the way the kernel delivers one from the browser: through the widget's
comm (``comm.handle_msg``) to the handler registered with ``on_msg``, so a test also
covers that the handler is registered. Tests send a request only where the front end's
path is the point (a malformed field, the error line, the Restore button's background
job); everywhere else they call the widget's public method that does the same.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any


def send(widget: Any, request: Any, buffers: Sequence[bytes] = ()) -> None:
    """Deliver ``request`` (normally ``{"type": ..., ...}``) from the front end."""
    message = {"content": {"data": {"method": "custom", "content": request}}}
    widget.comm.handle_msg({**message, "buffers": list(buffers)})


def sent_messages(widget: Any) -> list[tuple[dict[str, Any], list[bytes] | None]]:
    """Every ``(message, buffers)`` the kernel sends to the front end from now on."""
    sent: list[tuple[dict[str, Any], list[bytes] | None]] = []
    widget.send = lambda message, buffers=None: sent.append((message, buffers))
    return sent


def click_restore(widget: Any) -> None:
    """What the Restore button does: a restore in a thread; wait for it to end."""
    send(widget, {"type": "restore"})
    wait_until_idle(widget)


def wait_until_idle(widget: Any, timeout: float = 60) -> None:
    """Wait for the background job to end (``busy`` turns false); fail if it never does."""
    idle = threading.Event()

    def on_busy(change: dict[str, Any]) -> None:
        if not change["new"]:
            idle.set()

    widget.observe(on_busy, names="busy")
    try:
        if not widget.busy:
            idle.set()
        assert idle.wait(timeout), "the background job did not end"
    finally:
        widget.unobserve(on_busy, names="busy")


def click_restore_then_cancel(widget: Any) -> None:
    """Restore, and press Cancel as soon as the job reports its first part written; wait
    for the job to end. Deterministic: the progress report runs in the job's thread, so
    Cancel is in before the job goes on."""

    def on_progress(change: dict[str, Any]) -> None:
        if change["new"].get("done", 0) >= 1:
            widget.unobserve(on_progress, names="progress")
            send(widget, {"type": "cancel"})

    widget.observe(on_progress, names="progress")
    click_restore(widget)
