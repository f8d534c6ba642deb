"""restore_many: several sources in one transaction, one undo, one snippet."""

from __future__ import annotations

import sys

import pytest

import ckpt_widgets as cw
from tests import models
from tests.conftest import assert_code_reproduces, assert_same, assert_unchanged


@pytest.fixture(scope="module")
def two(tf, tmp_path_factory):
    directory = tmp_path_factory.mktemp("two")
    a, b = models.cnn(seed=80), models.cnn(seed=81)
    pa = tf.train.Checkpoint(model=a).write(str(directory / "a"))
    pb = tf.train.Checkpoint(net=b).write(str(directory / "b"))
    return (pa, a), (pb, b)


def test_layers_from_two_checkpoints_at_once(two, tf):
    (pa, a), (pb, b) = two
    model = models.cnn(seed=82)
    before = models.values(model)
    report = cw.restore_many(
        model, [(pa, {"include": ["conv1", "bn"]}), (pb, {"exclude": ["conv1", "bn"]})]
    )
    assert set(report.restored["source"]) == {pa, pb}
    for v, va, vb in zip(model.weights, a.weights, b.weights):
        from_a = v.path.split("/")[-2] in ("conv1", "bn")
        assert_same(v.numpy(), (va if from_a else vb).numpy())
    twin = models.cnn(seed=82)
    assert_code_reproduces(report.code, model, twin, tf)
    report.undo()
    assert_unchanged(model.weights, before)


def test_overlap_between_sources_is_an_error(two):
    (pa, _), (pb, _) = two
    with pytest.raises(cw.SelectionError, match="choose one source per variable"):
        cw.restore_many(models.cnn(), [(pa, {"include": "conv1"}), (pb, {"include": "conv*"})])


def test_a_failing_second_source_undoes_the_first(two, monkeypatch):
    (pa, _), (pb, _) = two
    model = models.cnn(seed=83)
    before = models.values(model)
    combine = sys.modules["ckpt_widgets.combine"]
    calls = []
    real = combine.execute

    def second_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise cw.RestoreError("disk went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(combine, "execute", second_fails)
    with pytest.raises(cw.RestoreError):
        cw.restore_many(model, [(pa, {"include": "conv1"}), (pb, {"include": "conv2"})])
    assert_unchanged(model.weights, before)


def test_combined_report_reads_like_one(two):
    (pa, _), (pb, _) = two
    model = models.cnn(seed=84)
    report = cw.restore_many(model, [(pa, {"include": "conv1"}), (pb, {"include": "top"})])
    assert report.nbytes == sum(r.nbytes for r in report.reports) > 0
    assert set(report.skipped["layer"]) == {"bn", "conv2"}  # once each, not per source
    assert list(report.skipped["source"]) == [pa] * 6
    assert report.summary().startswith("Restored 4 variables (")
    assert f"from 2 checkpoints (2 from '{pa}', 2 from '{pb}'); skipped 6." in report.summary()
    assert not report.undone
    report.undo()
    assert report.undone and report.summary().endswith(" Undone.")


def test_sources_may_be_matches_already_made(two):
    (pa, a), (pb, b) = two
    model = models.cnn(seed=83)
    parts = [(cw.match(model, pa), {"include": ["conv1"]}), (pb, {"include": ["top"]})]
    report = cw.restore_many(model, parts)
    assert set(report.restored["source"]) == {pa, pb}
    assert_same(model.get_layer("conv1").kernel.numpy(), a.get_layer("conv1").kernel.numpy())
    assert_same(model.get_layer("top").kernel.numpy(), b.get_layer("top").kernel.numpy())
