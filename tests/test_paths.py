"""files.paths: the path forms a user may pass, and one clear sentence for the others."""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

from ckpt_widgets.errors import CheckpointError
from ckpt_widgets.files.paths import absolute, as_path, check_regular_file, exists, local_path


def test_str_bytes_and_path_like_are_one_str(tmp_path):
    text = str(tmp_path / "ckpt-1")
    assert as_path(text) == text
    assert as_path(os.fsencode(text)) == text
    assert as_path(pathlib.Path(text)) == text


def test_other_types_nul_and_non_utf8_names_are_refused():
    with pytest.raises(TypeError, match=r"must be a str, bytes or os\.PathLike, not int"):
        as_path(3)
    with pytest.raises(CheckpointError, match="contains a NUL character"):
        as_path("a\0b")
    if sys.platform != "win32":
        with pytest.raises(CheckpointError, match=r"'.*\\xff/ckpt' is not a valid UTF-8 name"):
            as_path(b"/tmp/\xff/ckpt")


def test_local_remote_and_absolute_paths(tmp_path, monkeypatch):
    assert local_path("file:///data/ckpt") == "/data/ckpt"
    assert local_path("gs://bucket/ckpt") is None
    assert local_path("ram://x") is None
    assert local_path("runs/ckpt-1") == "runs/ckpt-1"
    monkeypatch.chdir(tmp_path)
    assert absolute("runs/ckpt-1") == str(tmp_path / "runs" / "ckpt-1")
    assert absolute("gs://bucket/ckpt") == "gs://bucket/ckpt"


def test_exists_locally_and_through_file_urls(tmp_path):
    file = tmp_path / "ckpt.index"
    assert not exists(str(file)) and not exists("file://" + str(file))
    file.write_bytes(b"")
    assert exists(str(file)) and exists("file://" + str(file))


def test_only_regular_files_pass(tmp_path):
    file = tmp_path / "ckpt.index"
    file.write_bytes(b"x")
    check_regular_file(str(file), "a checkpoint index")
    check_regular_file("gs://bucket/ckpt.index", "a checkpoint index")  # left to TensorFlow
    with pytest.raises(CheckpointError, match="is a directory, not a checkpoint index"):
        check_regular_file(str(tmp_path), "a checkpoint index")
    with pytest.raises(CheckpointError, match=r"cannot be read as a checkpoint index \("):
        check_regular_file(str(tmp_path / "missing"), "a checkpoint index")
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo.index"
        os.mkfifo(fifo)
        with pytest.raises(CheckpointError, match=r"is not a regular file \(a FIFO"):
            check_regular_file(str(fifo), "a checkpoint index")
