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


def test_a_variable_chosen_by_two_parts_of_one_checkpoint_is_an_error(two):
    """Two parts reading one file may pair a variable with different stored tensors (here
    by rename=): the later one would win in silence."""
    (pa, _), _ = two
    model = models.cnn(seed=87)
    before = models.values(model)
    table = cw.match(model, pa).table
    bn_beta = table.loc[table["name"].str.endswith("bn/beta"), "ckpt_path"].item()
    conv1_bias = model.get_layer("conv1").bias
    parts = [
        (pa, {"include": "conv1"}),
        (pa, {"include": [conv1_bias], "rename": {bn_beta: conv1_bias}}),
    ]
    with pytest.raises(cw.SelectionError, match=r"'conv1/bias' is selected in parts 1 and 2"):
        cw.restore_many(model, parts)
    assert_unchanged(model.weights, before)


def test_a_failing_second_source_undoes_the_first(two, monkeypatch):
    (pa, _), (pb, _) = two
    model = models.cnn(seed=83)
    before = models.values(model)
    combine = sys.modules["ckpt_widgets.engine.restore_many"]
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
    # Nothing selected was left out: the 6 unselected variables are not "skipped" here.
    assert report.summary().endswith(f"from 2 checkpoints (2 from '{pa}', 2 from '{pb}').")
    assert not report.skipped["selected"].any()
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


def test_a_match_of_another_model_is_refused(two):
    (pa, _), (pb, _) = two
    model, other = models.cnn(seed=85), models.cnn(seed=86)
    before, before_other = models.values(model), models.values(other)
    parts = [(pb, {"include": ["top"]}), (cw.match(other, pa), {"include": ["conv1"]})]
    with pytest.raises(cw.MatchError, match="made for model"):
        cw.restore_many(model, parts)
    with pytest.raises(cw.MatchError, match="root= cannot change a Match"):
        cw.restore_many(model, [(cw.match(model, pa), {"include": ["conv1"], "root": "model"})])
    assert_unchanged(model.weights, before)
    assert_unchanged(other.weights, before_other)


@pytest.mark.parametrize("how", ["cancelled", "failed"])
def test_a_later_part_stopping_puts_back_an_undo_false_part(two, monkeypatch, how):
    import threading

    (pa, _), (pb, _) = two
    model = models.cnn(seed=87)
    before = models.values(model)
    stop = threading.Event()
    second: dict = {"include": "conv2"}
    if how == "cancelled":
        stop.set()
        second["cancel"] = stop
        expected, message = cw.RestoreCancelled, "cancelled"
    else:
        restore_module = sys.modules["ckpt_widgets.engine.transaction"]
        real, calls = restore_module._verify, []

        def second_verify_fails(*args):
            calls.append(1)
            if len(calls) == 2:
                raise OSError("disk went away")
            return real(*args)

        monkeypatch.setattr(restore_module, "_verify", second_verify_fails)
        expected, message = cw.RestoreError, "disk went away"
    with pytest.raises(expected, match=message):
        cw.restore_many(model, [(pa, {"include": "conv1", "undo": False}), (pb, second)])
    assert_unchanged(model.weights, before)


def test_undo_false_parts_keep_no_values_once_all_succeeded(two):
    (pa, a), (pb, _) = two
    model = models.cnn(seed=88)
    top_before = [v.numpy() for v in model.get_layer("top").weights]
    report = cw.restore_many(
        model, [(pa, {"include": "conv1", "undo": False}), (pb, {"include": "top"})]
    )
    assert_same(model.get_layer("conv1").kernel.numpy(), a.get_layer("conv1").kernel.numpy())
    with pytest.raises(cw.UndoError, match="undo=False"):
        report.undo()
    with pytest.raises(cw.UndoError, match="undo=False"):
        report.reports[0].undo()
    report.reports[1].undo()  # the part that kept its values still puts them back
    assert_unchanged(model.get_layer("top").weights, top_before)


def test_an_unknown_undo_place_in_a_later_part_changes_nothing(two):
    (pa, _), (pb, _) = two
    model = models.cnn(seed=89)
    before = models.values(model)
    parts = [(pa, {"include": "conv1"}), (pb, {"include": "top", "undo": "dsik"})]
    with pytest.raises(cw.OptionError, match="undo='dsik'"):
        cw.restore_many(model, parts)
    assert_unchanged(model.weights, before)


def test_combined_undo_goes_on_past_a_part_that_fails_and_names_it(two, monkeypatch):
    (pa, a), (pb, _) = two
    model = models.cnn(seed=90)
    before = models.values(model)
    report = cw.restore_many(model, [(pa, {"include": "conv1"}), (pb, {"include": "top"})])
    broken = model.get_layer("conv1").kernel

    def lost(*args, **kwargs):
        raise RuntimeError("device lost")

    monkeypatch.setattr(broken, "assign", lost)
    with pytest.raises(cw.UndoError, match=f"could not be put back: '{broken.path}'"):
        report.undo()
    kept = [i for i, v in enumerate(model.weights) if v is not broken]
    assert_unchanged([model.weights[i] for i in kept], [before[i] for i in kept])
    assert_same(broken.numpy(), a.get_layer("conv1").kernel.numpy())


def test_combined_skipped_keeps_the_row_of_the_source_that_selected_it(tf, tmp_path):
    old = models.net(seed=86)
    pa = tf.train.Checkpoint(model=old).write(str(tmp_path / "a" / "ckpt"))
    holder = tf.train.Checkpoint(backbone=old.backbone)  # no head: the head is model only
    pb = tf.train.Checkpoint(model=holder).write(str(tmp_path / "b" / "ckpt"))
    model = models.net(seed=87)
    report = cw.restore_many(
        model,
        [
            (pa, {"include": "backbone/_functional/_operations/1"}),
            (pb, {"include": ["backbone/_functional/_operations/2", "head"]}),
        ],
    )
    head = report.skipped[report.skipped["layer"] == "head"]
    assert len(head) == 2 and set(head["source"]) == {pb} and head["selected"].all()
    assert report.summary().endswith("; 2 selected not restored.")
