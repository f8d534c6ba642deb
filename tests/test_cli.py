"""The ``ckpt-widgets`` command line, run as a separate process on real files."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pandas as pd
import pytest

from ckpt_widgets.cli import DIFF_COLUMNS, main
from tests import models
from tests.conftest import ROOT
from tests.runs import frozen_backbone_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return frozen_backbone_run(tmp_path_factory.mktemp("cli"))


def process(*args: str) -> subprocess.CompletedProcess:
    """``python -m ckpt_widgets.cli ARGS`` in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "ckpt_widgets.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


@pytest.fixture
def cli(capsys):
    """``main(ARGS)`` in this process (TensorFlow is loaded once), as a finished process."""

    def call(*args: str) -> subprocess.CompletedProcess:
        code = main(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return call


def test_entry_point_is_declared():
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, function = scripts["ckpt-widgets"].partition(":")
    assert __import__(module, fromlist=[function]).main is main


def test_ls_prints_every_variable_and_csv_parses(cli, run, tf):
    _, prefixes, _ = run
    out = cli("ls", prefixes[-1])
    assert out.returncode == 0, out.stderr
    keys = [k for k, _ in tf.train.list_variables(prefixes[-1]) if "OBJECT_GRAPH" not in k]
    assert "model/head/_kernel" in out.stdout and "..." not in out.stdout
    assert len(out.stdout.strip().splitlines()) == 1 + len(keys)
    table = pd.read_csv(io.StringIO(cli("ls", prefixes[-1], "--csv").stdout))
    assert sorted(table["key"]) == sorted(keys)


def test_ls_summary_and_stats(cli, run):
    _, prefixes, _ = run
    summary = pd.read_csv(io.StringIO(cli("ls", prefixes[-1], "--summary", "--csv").stdout))
    assert "model/backbone" in set(summary["path"])
    stats = pd.read_csv(io.StringIO(cli("ls", prefixes[-1], "--stats", "--csv").stdout))
    assert {"mean", "std", "nan", "inf", "all_zero"} <= set(stats.columns)


@pytest.mark.slow  # starts Python and TensorFlow in a process of its own
def test_diff_csv_reports_frozen_same_and_head_changed(cli, run):
    _, prefixes, _ = run
    out = process("diff", prefixes[1], prefixes[-1], "--csv")
    assert out.returncode == 0, out.stderr
    table = pd.read_csv(io.StringIO(out.stdout)).set_index("path")
    backbone = table[table.index.str.startswith("model/backbone/")]
    assert len(backbone) == 4 and set(backbone["status"]) == {"same"}
    assert (backbone["rel_change"] == 0.0).all()
    assert table.loc["model/head/_kernel", "status"] == "changed"
    changed = pd.read_csv(
        io.StringIO(cli("diff", prefixes[1], prefixes[-1], "--csv", "--changed").stdout)
    )
    assert "same" not in set(changed["status"])


def test_diff_prints_a_plain_table(cli, run):
    _, prefixes, _ = run
    out = cli("diff", prefixes[1], prefixes[-1])
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:2] == ["path", "status"]
    assert any(line.split()[:2] == ["model/head/bias", "changed"] for line in lines)
    backbone = [line for line in lines if line.startswith("model/backbone/")]
    assert len(backbone) == 4 and all(line.split()[1] == "same" for line in backbone)
    nothing = cli("diff", prefixes[-1], prefixes[-1], "--changed")
    assert nothing.returncode == 0 and nothing.stdout.split() == DIFF_COLUMNS


def test_run_prints_change_per_module(cli, run):
    directory, _, _ = run
    table = pd.read_csv(io.StringIO(cli("run", directory, "--csv").stdout))
    frozen = table[table["module"].str.startswith("model/backbone/")]
    assert len(frozen) and (frozen["rel_change"] == 0.0).all()


@pytest.mark.slow  # the last case runs in a process of its own
def test_missing_broken_and_unrelated_files_exit_2_with_one_sentence(cli, run, tmp_path):
    _, prefixes, _ = run
    (tmp_path / "broken.keras").write_bytes(b"PK\x03\x04 truncated")
    models.cnn(seed=1).save_weights(str(tmp_path / "cnn.weights.h5"))
    cases = [
        (("ls", str(tmp_path / "nothing")), "No checkpoint at"),
        (("ls", str(tmp_path / "broken.keras")), "is not a readable Keras weights file"),
        (("diff", prefixes[-1], str(tmp_path / "nothing")), "No checkpoint at"),
        (("diff", prefixes[-1], str(tmp_path / "cnn.weights.h5")), "share no variable path"),
    ]
    for i, (args, message) in enumerate(cases):
        out = process(*args) if i == len(cases) - 1 else cli(*args)
        assert out.returncode == 2, args
        assert out.stdout == ""
        assert message in out.stderr and "Traceback" not in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr
