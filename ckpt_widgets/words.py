"""How counts and sizes read in messages, reports and the widget."""

from __future__ import annotations

STATUS_WORDS = {
    "match": "matched",
    "shape_mismatch": "shape differs",
    "dtype_mismatch": "dtype differs",
    "missing": "model only",
    "unused": "checkpoint only",
    "untracked": "untracked",
    "optimizer": "optimizer",
}
"""The words people read for each status (the API's value, pinned in DESIGN.md, is the
key): the widget's chips and badges, the README's status table and the reports use these.
``optimizer`` is the widget's chip for stored optimizer state (status ``unused``)."""


def status_word(status: str) -> str:
    """The word people read for an API status (``missing`` -> ``model only``)."""
    return STATUS_WORDS.get(status, status)


def plural(n: int, word: str) -> str:
    """``1 variable``, ``2 variables``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def human_bytes(n: float) -> str:
    """Bytes as people read them: ``512 B``, ``1.5 KB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def restored_line(restored: int, nbytes: int, where: str, not_restored: int, undone: bool) -> str:
    """A restore report's one line: what was restored, and how many selected were not."""
    line = f"Restored {plural(restored, 'variable')} ({human_bytes(nbytes)}) from {where}"
    line += f"; {not_restored} selected not restored." if not_restored else "."
    return line + (" Undone." if undone else "")


def plan_line(variables: int, params: int, nbytes: int, where: str, skipped: int) -> str:
    """A dry run's one line: what a restore would restore, and how many selected it would
    skip."""
    line = (
        f"Would restore {plural(variables, 'variable')} ({params:,} "
        f"parameter{'' if params == 1 else 's'}, "
        f"{human_bytes(nbytes)}) from {where}"
    )
    return line + (f"; {skipped} selected would be skipped." if skipped else ".")
