"""restore(..., dry_run=True) and restore_many(..., dry_run=True): the report of what a
restore would do, and nothing changed."""

from __future__ import annotations

import math

import pytest

import ckpt_widgets as cw
from tests import models
from tests.conftest import assert_same


def test_dry_run_changes_nothing_and_lists_what_restore_then_restores(net_ckpt, tf):
    prefix, _ = net_ckpt
    model = models.net(head_units=7, seed=70)
    before = models.values(model)
    plan = cw.restore(model, prefix, dry_run=True)
    for v, old in zip(model.weights, before):
        assert_same(v.numpy(), old)
    assert plan.dry_run
    shapes = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
    keys = list(plan.restored["key"])
    assert plan.params == sum(math.prod(shapes[k]) for k in keys) == 2 * 4 + 4 + 4 * 5 + 5
    assert plan.summary().startswith("Would restore 4 variables (37 parameters, ")
    assert set(plan.skipped["layer"]) == {"head"}
    assert plan.skipped["reason"].str.contains("shape").all()
    with pytest.raises(cw.UndoError, match="dry run"):
        plan.undo()

    report = cw.restore(model, prefix)
    assert list(report.restored["name"]) == list(plan.restored["name"])
    assert list(report.restored["key"]) == keys
    assert report.skipped.equals(plan.skipped)
    assert report.code == plan.code and report.params == plan.params
    assert not report.dry_run


def test_dry_run_of_several_sources(cnn_pair):
    (pa, _), (pb, _) = cnn_pair
    model = models.cnn(seed=71)
    before = models.values(model)
    parts = [(pa, {"include": "conv1"}), (pb, {"include": ["conv2", "top"]})]
    plan = cw.restore_many(model, parts, dry_run=True)
    for v, old in zip(model.weights, before):
        assert_same(v.numpy(), old)
    assert plan.dry_run and [len(r.restored) for r in plan.reports] == [2, 4]
    assert plan.params == sum(
        math.prod(v.shape) for v in model.weights if "conv" in v.path or "top" in v.path
    )
    assert plan.summary().startswith("Would restore 6 variables (")
    report = cw.restore_many(model, parts)
    assert list(report.restored["name"]) == list(plan.restored["name"])


def test_dry_run_still_refuses_a_bad_selection(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(seed=72)
    with pytest.raises(cw.SelectionError):
        cw.restore(model, prefix, include="no_such_layer", dry_run=True)
