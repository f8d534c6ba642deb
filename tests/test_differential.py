"""A full restore leaves every weight where Keras's ``load_weights`` (``.weights.h5``,
``.keras``) or TensorFlow's ``Checkpoint.read`` (TF checkpoints) leaves it, bit for bit.

Each architecture of ``tests/differential_models.py`` is written once in this process
(so the models restored into have other generated layer names than the writer) and once
in a process of its own. Two fresh instances start from the same values: the oracle loads
the file, ckpt_widgets restores it into the other.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import ckpt_widgets as cw
from tests import differential_models as corpus
from tests.conftest import ROOT, assert_same

pytest.importorskip("keras_hub")

NAMES = sorted(corpus.BUILDERS)


class Lab:
    """Builds each architecture at most a few times per module: builds cost seconds."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._writers: dict[str, tuple[object, dict[str, str]]] = {}
        self._pairs: dict[str, tuple[object, object]] = {}
        self._other = subprocess.Popen(
            [sys.executable, "-m", "tests.differential_models", str(directory / "other")],
            cwd=ROOT,
        )

    def writer(self, name: str):
        """A model written in this process, and its files by format."""
        if name not in self._writers:
            model = corpus.BUILDERS[name]()
            corpus.perturb(model, 1)
            self._writers[name] = model, corpus.write(model, self.directory / "same" / name)
        return self._writers[name]

    def other_process_files(self, name: str) -> dict[str, str]:
        """The files of ``name`` written by another process."""
        assert self._other.wait() == 0
        directory = self.directory / "other" / name
        return {fmt: str(directory / file) for fmt, file in corpus.FILES.items()}

    def fresh_pair(self, name: str, seed: int):
        """Two instances of ``name`` holding the same new values: (oracle, ours)."""
        if name not in self._pairs:
            builder = corpus.BUILDERS.get(name) or getattr(corpus, name)
            self._pairs[name] = builder(), builder()
        oracle, ours = self._pairs[name]
        corpus.perturb(ours, seed)
        for a, b in zip(oracle.weights, ours.weights, strict=True):
            a.assign(b)
        return oracle, ours


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("differential"))
    yield lab
    lab._other.wait()


def oracle_load(model, path: str, fmt: str, tf) -> None:
    if fmt == "tf":
        tf.train.Checkpoint(model=model).read(path).expect_partial()
    else:
        model.load_weights(path)


def assert_all_same(weights, expected) -> None:
    weights, expected = list(weights), list(expected)
    assert len(weights) == len(expected)
    for v, e in zip(weights, expected):
        assert_same(v.numpy(), e.numpy())


@pytest.mark.parametrize("fmt", corpus.FORMATS)
@pytest.mark.parametrize("name", NAMES)
def test_same_process(lab, tf, name, fmt):
    """Another instance, other generated names: every weight as the oracle leaves it."""
    writer, files = lab.writer(name)
    oracle, ours = lab.fresh_pair(name, seed=2)
    oracle_load(oracle, files[fmt], fmt, tf)
    cw.restore(ours, files[fmt])
    assert_all_same(ours.weights, oracle.weights)
    if fmt != "tf":  # TensorFlow does not save layers held in a dict or list
        assert_all_same(ours.weights, writer.weights)


@pytest.mark.parametrize("fmt", corpus.FORMATS)
def test_backbone_file_into_a_task_model(lab, tf, fmt):
    """A ``BertBackbone``'s file restores into a ``BertTextClassifier``'s backbone only."""
    writer, files = lab.writer("bert")
    oracle, ours = lab.fresh_pair("bert_classifier", seed=3)
    head = [v.numpy() for v in ours.weights if not _in(v, ours.backbone)]
    oracle_load(oracle.backbone, files[fmt], fmt, tf)
    report = cw.restore(ours, files[fmt])
    assert len(report.restored) == len(writer.weights)
    assert_all_same(ours.weights, oracle.weights)
    assert_all_same(ours.backbone.weights, writer.weights)
    for v, old in zip([v for v in ours.weights if not _in(v, ours.backbone)], head):
        assert_same(v.numpy(), old)


@pytest.mark.parametrize("fmt", corpus.FORMATS)
@pytest.mark.parametrize("name", NAMES)
def test_other_process(lab, tf, name, fmt):
    """A file written by another process: every weight as the oracle leaves it."""
    path = lab.other_process_files(name)[fmt]
    oracle, ours = lab.fresh_pair(name, seed=4)
    oracle_load(oracle, path, fmt, tf)
    cw.restore(ours, path)
    assert_all_same(ours.weights, oracle.weights)


def _in(variable, layer) -> bool:
    return any(variable is w for w in layer.weights)
