"""Counts and sizes in messages."""

from __future__ import annotations

from ckpt_widgets.words import human_bytes, plural, restored_line


def test_plural():
    assert plural(1, "variable") == "1 variable"
    assert plural(0, "variable") == "0 variables"
    assert plural(2, "variable") == "2 variables"


def test_human_bytes():
    assert human_bytes(512) == "512 B"
    assert human_bytes(1536) == "1.5 KB"
    assert human_bytes(3 * 1024**3) == "3.0 GB"


def test_restored_line():
    assert restored_line(1, 32, "'a'", 0, False) == "Restored 1 variable (32 B) from 'a'."
    assert (
        restored_line(2, 64, "'a'", 3, True)
        == "Restored 2 variables (64 B) from 'a'; 3 selected not restored. Undone."
    )
