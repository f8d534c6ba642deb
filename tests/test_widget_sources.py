"""CheckpointWidget with several sources: per-source ticks, one restore, one undo, one code."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import ckpt_widgets as cw
from ckpt_widgets.widget.state import label_for
from tests import models
from tests.conftest import assert_code_reproduces, assert_same, assert_unchanged
from tests.front_end import click_restore, click_restore_then_cancel, send
from tests.test_tf1 import RULES as TF1_RULES
from tests.test_tf1 import tf1_ckpt as tf1_ckpt  # a fixture

SEED = 102  # the live model's own values, different from both checkpoints'


def layer_of(variable) -> str:
    return variable.path.split("/")[-2]


def check(model, plan):
    """Every variable of ``model`` equals the one of the model ``plan`` names for its layer."""
    for i, v in enumerate(model.weights):
        assert_same(v.numpy(), plan[layer_of(v)][i])


@pytest.fixture
def two(cnn_pair):
    """A widget over checkpoint A with checkpoint B added, and the expected values."""
    (pa, a), (pb, b) = cnn_pair
    model = models.cnn(seed=SEED)
    widget = cw.CheckpointWidget(model, pa)
    assert widget.add_source(pb) == "B"
    return widget, models.values(a), models.values(b), models.values(model)


def test_sources_are_listed_and_the_added_one_is_active(two, cnn_pair):
    widget, *_ = two
    (pa, _), (pb, _) = cnn_pair
    assert [(s["label"], s["path"]) for s in widget.sources] == [("A", pa), ("B", pb)]
    assert widget.active == "B" and widget.header["checkpoint"] == pb
    assert widget.selection == {"A": [], "B": []}
    widget.show_source(0)
    assert widget.active == "A" and widget.source.prefix == pa
    widget.active = "B"  # the same as show_source("B")
    assert widget.match.source.prefix == pb and widget.header["checkpoint"] == pb


def test_layers_from_two_sources_in_one_restore(two, tf):
    widget, a, b, before = two
    model = widget.model
    widget.show_source("A")
    widget.selected = ["conv1"]
    widget.show_source("B")
    widget.selected = ["bn", "conv2"]
    assert widget.selection == {"A": ["conv1"], "B": ["bn", "conv2"]}
    report = widget.restore()
    assert isinstance(report, cw.CombinedReport) and widget.report is report
    check(model, {"conv1": a, "bn": b, "conv2": b, "top": before})
    assert widget.result["restored"] == 8 and widget.result["can_undo"]
    assert "from 2 checkpoints (2 from" in widget.result["summary"]
    assert widget.result["skipped_count"] == 0  # every ticked variable was restored
    assert widget.result["not_selected"] == 2  # top, in neither selection
    assert_code_reproduces(widget.result["code"], model, models.cnn(seed=SEED), tf)
    widget.undo()
    check(model, {"conv1": before, "bn": before, "conv2": before, "top": before})
    assert not widget.result["can_undo"] and widget.result["summary"].endswith("Undone.")


def test_ticks_under_one_source_restore_as_before(two):
    widget, _, b, before = two
    widget.selected = ["top"]  # under B, the active source
    report = widget.restore()
    assert isinstance(report, cw.RestoreReport)
    check(widget.model, {"conv1": before, "bn": before, "conv2": before, "top": b})
    assert widget.result["summary"].startswith("Restored 2 variables")


def test_ticking_under_another_source_moves_the_variables(two):
    widget, *_ = two
    widget.show_source("A")
    widget.selected = ["conv1", "conv2"]
    widget.show_source("B")
    assert set(widget.owners.values()) == {"A"} and len(widget.owners) == 4
    widget.selected = ["_functional/_operations/3/bias"]  # conv2's bias, as a click sends it
    assert widget.selection == {
        "A": ["conv1", "_functional/_operations/3/_kernel"],
        "B": ["_functional/_operations/3/bias"],
    }
    assert widget.owners == {
        "_functional/_operations/1/_kernel": "A",
        "_functional/_operations/1/bias": "A",
        "_functional/_operations/3/_kernel": "A",
    }
    widget.selection = {**widget.selection, "A": ["conv*"]}  # a script ticks under A
    assert widget.selection["B"] == [] and widget.selected == []
    widget.show_source("A")
    assert widget.selected == ["conv*"] and widget.owners == {}


def test_each_source_keeps_its_root_and_rules(two):
    widget, *_ = two
    widget.set_root("")
    assert widget.header["root"] == "" and widget.header["counts"]["match"] == 0
    widget.show_source("A")
    assert widget.header["root"] == "model" and widget.header["counts"]["match"] == 10
    widget.set_rules("^model/_functional/_operations/5/ => _functional/_operations/5/")
    assert widget.rename is not None
    widget.show_source("B")
    assert widget.rename is None and widget.header["root"] == ""
    assert [s["root"] for s in widget.sources] == ["model", ""]


def test_a_failing_second_source_leaves_the_model_as_it_was(two, cnn_pair, tmp_path):
    widget, *_ = two
    (_, _), (pb, _) = cnn_pair
    copy = tmp_path / "b"
    for suffix in (".index", ".data-00000-of-00001"):
        shutil.copy(pb + suffix, str(copy) + suffix)
    assert widget.add_source(str(copy)) == "C"
    widget.selected = ["conv2"]
    widget.show_source("A")
    widget.selected = ["conv1"]
    before = models.values(widget.model)
    data = tmp_path / "b.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:16])  # C's values can no longer be read
    with pytest.raises(cw.RestoreError, match="put back"):
        widget.restore()
    assert f"Restoring from '{copy}' failed" in widget.error and widget.report is None
    for v, old in zip(widget.model.weights, before):
        assert_same(v.numpy(), old)


def test_cancel_rolls_back_every_source(two):
    widget, *_ = two
    widget.selected = ["conv2"]
    widget.show_source("A")
    widget.selected = ["conv1"]
    before = models.values(widget.model)
    click_restore_then_cancel(widget)  # after the first part was written
    assert "cancelled" in widget.error and widget.progress == {} and not widget.busy
    for v, old in zip(widget.model.weights, before):
        assert_same(v.numpy(), old)


def test_restore_button_and_undo_anyway_over_two_sources(two):
    widget, a, b, before = two
    widget.selected = ["top"]
    widget.show_source("A")
    widget.selected = ["conv1"]
    click_restore(widget)
    assert widget.error == "" and widget.result["restored"] == 4
    check(widget.model, {"conv1": a, "bn": before, "conv2": before, "top": b})
    top = widget.model.get_layer("top").kernel
    top.assign(top.numpy() + 1)  # as a training step would
    with pytest.raises(cw.UndoError, match="changed since the restore"):
        widget.undo()
    assert "changed since the restore" in widget.error and widget.result["undo_conflict"]
    assert_same(widget.model.get_layer("conv1").kernel.numpy(), a[0])  # nothing undone
    widget.undo(force=True)
    assert widget.error == "" and not widget.result["can_undo"]
    check(widget.model, {"conv1": before, "bn": before, "conv2": before, "top": before})


def test_adding_a_bad_source_changes_nothing(two, cnn_pair, net_ckpt, tmp_path):
    widget, *_ = two
    (pa, _), _ = cnn_pair
    widget.selected = ["conv1"]
    state = (list(widget.sources), widget.active, dict(widget.selection))
    with pytest.raises(FileNotFoundError):
        widget.add_source(tmp_path / "nowhere")
    assert widget.error.startswith("FileNotFoundError: No checkpoint at")
    with pytest.raises(ValueError, match="already source A; each checkpoint can be added once"):
        widget.add_source(pa)
    with pytest.raises(cw.NothingToRestoreError, match="checkpoint of another model"):
        widget.add_source(net_ckpt[0])
    assert "so it was not added" in widget.error
    send(widget, {"type": "add_source", "path": 7})
    assert widget.error.startswith("ValueError: Type the path of a checkpoint")
    with pytest.raises(ValueError, match="No source 'Q'"):
        widget.show_source("Q")
    assert widget.error == "ValueError: No source 'Q'; this widget holds A, B."
    with pytest.raises(Exception, match="no source 'Q'"):
        widget.selection = {"Q": ["conv1"]}
    assert (list(widget.sources), widget.active, dict(widget.selection)) == state


def test_add_source_from_the_front_end(cnn_pair):
    (pa, _), (pb, _) = cnn_pair
    widget = cw.CheckpointWidget(models.cnn(seed=SEED), pa)
    send(widget, {"type": "add_source", "path": f"  {pb}  "})
    assert widget.error == "" and widget.active == "B" and len(widget.sources) == 2
    send(widget, {"type": "show_source", "label": "A"})
    assert widget.active == "A" and widget.header["checkpoint"] == pa


def test_adapt_given_when_the_widget_is_made(net_ckpt):
    prefix, saved = net_ckpt
    widget = cw.CheckpointWidget(models.net(head_units=7, seed=61), prefix, adapt="zeros")
    widget.selected = ["head"]
    widget.restore()
    head = widget.model.head
    assert_same(head.kernel.numpy()[:, :3], saved.head.kernel.numpy())
    assert_same(head.kernel.numpy()[:, 3:], np.zeros((head.kernel.shape[0], 4), "float32"))
    zeros = np.zeros(4, "float32")
    assert_same(head.bias.numpy(), np.concatenate([saved.head.bias.numpy(), zeros]))


def test_removing_b_keeps_a_ticks_and_restores_only_them(two):
    widget, a, _, before = two
    widget.selected = ["conv2", "top"]  # under B
    widget.show_source("A")
    widget.selected = ["conv1"]
    assert set(widget.owners.values()) == {"B"}
    rows, header = widget.rows, widget.header
    widget.remove_source("B")
    assert widget.error == "" and [s["label"] for s in widget.sources] == ["A"]
    assert widget.selection == {"A": ["conv1"]} and widget.selected == ["conv1"]
    assert widget.owners == {} and widget.active == "A"
    assert widget.rows == rows and widget.header == header
    report = widget.restore()
    assert isinstance(report, cw.RestoreReport) and len(report.restored) == 2
    check(widget.model, {"conv1": a, "bn": before, "conv2": before, "top": before})


def test_removing_the_active_source_shows_the_first_left(two, cnn_pair):
    widget, *_ = two
    (pa, _), _ = cnn_pair
    widget.selected = ["top"]
    widget.remove_source(1)
    assert widget.active == "A" and widget.header["checkpoint"] == pa
    assert widget.selection == {"A": []} and widget.selected == []


def test_the_last_source_cannot_be_removed(two):
    widget, *_ = two
    widget.remove_source("B")
    widget.selected = ["conv1"]
    state = (list(widget.sources), widget.active, dict(widget.selection), widget.rows)
    with pytest.raises(ValueError, match="only checkpoint"):
        widget.remove_source("A")
    assert widget.error == (
        "ValueError: Source A is the only checkpoint; add one before removing it."
    )
    assert (list(widget.sources), widget.active, dict(widget.selection), widget.rows) == state


def test_letters_are_not_reused(two, cnn_pair):
    widget, *_ = two
    _, (pb, _) = cnn_pair
    widget.remove_source("B")
    assert widget.add_source(pb) == "C"  # the same file again, under a new letter
    assert [s["label"] for s in widget.sources] == ["A", "C"]
    assert widget.selection == {"A": [], "C": []}
    with pytest.raises(ValueError, match="No source 'B'; this widget holds A, C"):
        widget.show_source("B")
    widget.remove_source(0)
    assert widget.active == "C" and widget.selection == {"C": []}
    with pytest.raises(ValueError, match="removed ones included"):
        label_for(26)


def test_a_restore_can_be_undone_after_its_source_is_removed(two):
    widget, a, b, before = two
    widget.selected = ["top"]
    widget.show_source("A")
    widget.selected = ["conv1"]
    report = widget.restore()
    check(widget.model, {"conv1": a, "bn": before, "conv2": before, "top": b})
    widget.remove_source("B")
    assert widget.report is report and widget.result["can_undo"]
    widget.undo()
    check(widget.model, {"conv1": before, "bn": before, "conv2": before, "top": before})


def test_remove_source_from_the_front_end(two):
    widget, *_ = two
    send(widget, {"type": "remove_source", "label": "Q"})
    assert widget.error == "ValueError: No source 'Q'; this widget holds A, B."
    send(widget, {"type": "remove_source", "label": "B"})
    assert widget.error == "" and widget.active == "A" and len(widget.sources) == 1


def shown_ticked(widget) -> dict[str, list[str]]:
    """The variable rows the front end draws as ticked, per source letter (from ``ticks``)."""
    variables = {i for i, kind in zip(widget.rows["id"], widget.rows["kind"]) if kind == "variable"}
    out: dict[str, list[str]] = {}
    for row, letters in widget.ticks["sources"].items():
        for letter in letters:
            if row in variables:
                out.setdefault(letter, []).append(row)
    return {letter: sorted(rows) for letter, rows in out.items()}


def restored_rows(widget, report) -> dict[str, list[str]]:
    """The rows ``report`` restored, per source letter."""
    letters = {s["path"]: s["label"] for s in widget.sources}
    sources = report.restored.get("source")
    out: dict[str, list[str]] = {}
    for k, path in enumerate(report.restored["model_path"]):
        letter = letters[sources.iloc[k]] if sources is not None else widget.active
        out.setdefault(letter, []).append(path)
    return {letter: sorted(rows) for letter, rows in out.items()}


@pytest.mark.parametrize(
    "selection",
    [
        {"A": ["conv1", "conv2"], "B": ["top"]},  # Keras layer names
        {"A": ["conv*"], "B": ["_functional/_operations/5/_kernel"]},  # glob, object path
        {"A": ["bn"], "B": ["sequential*/conv1/*", "top"]},  # Keras variable path glob
    ],
)
def test_ticks_shown_count_and_restore_are_one_state(two, selection):
    widget, *_ = two
    widget.selection = selection
    shown = shown_ticked(widget)
    count = widget.ticks["total"]
    assert count == sum(map(len, shown.values())) == sum(widget.ticks["counts"].values())
    assert count > 0
    for letter in ("A", "B"):
        widget.show_source(letter)
        module_rows = {r for r, k in zip(widget.rows["id"], widget.rows["kind"]) if k == "module"}
        drawn = {r for r, state in widget.ticks["rows"].items() if r not in module_rows}
        assert drawn == set(shown.get(letter, []))
    report = widget.restore()
    assert len(report.restored) == count
    assert restored_rows(widget, report) == shown


def test_a_tick_from_the_front_end_keeps_the_selection_made_in_python(two):
    widget, a, b, before = two
    widget.selection = {"A": ["conv1", "conv2"], "B": ["top"]}
    assert widget.ticks["total"] == 6 and widget.ticks["counts"] == {"A": 4, "B": 2}
    conv2_bias = "_functional/_operations/3/bias"
    send(widget, {"type": "tick", "paths": [conv2_bias], "on": True})
    assert widget.error == ""
    assert widget.selection == {
        "A": ["conv1", "_functional/_operations/3/_kernel"],
        "B": ["top", conv2_bias],
    }
    assert widget.ticks["rows"]["_functional/_operations/3"] == "some"
    assert widget.ticks["sources"]["_functional/_operations/3"] == ["A", "B"]
    send(widget, {"type": "tick", "paths": ["_functional/_operations/5"]})
    assert widget.selection["B"] == [conv2_bias]
    assert widget.selection["A"] == ["conv1", "_functional/_operations/3/_kernel"]
    assert widget.ticks["total"] == 4
    widget.restore()
    expected = [*a[:2], *before[2:6], a[6], b[7], *before[8:]]  # conv1, conv2's kernel from A
    assert_unchanged(widget.model.weights, expected)


def test_bad_requests_and_state_updates_from_the_front_end_change_nothing(two):
    widget, *_ = two
    widget.selection = {"A": ["conv1"], "B": ["top"]}

    def state():
        return (
            dict(widget.selection), widget.selected, widget.active, widget.adapt,
            dict(widget.ticks), widget.header, [dict(s) for s in widget.sources], widget.busy,
        )  # fmt: skip

    before = state()
    values = models.values(widget.model)
    messages = [
        [], "restore", None, {}, {"type": ["restore"]}, {"type": {"restore": 1}}, {"type": 3},
        {"type": "format_disk"}, {"type": "preview"}, {"type": "preview", "path": ["conv1"]},
        {"type": "preview", "path": "conv1", "limit": True},
        {"type": "preview", "path": "conv1", "limit": 10**9},
        {"type": "undo", "force": "yes"}, {"type": "tick", "paths": "top", "on": True},
        {"type": "tick", "paths": [1], "on": True}, {"type": "tick", "paths": [], "on": True},
        {"type": "tick", "paths": ["top"], "on": "on"}, {"type": "set_root", "root": 5},
        {"type": "show_source", "label": ["A"]}, {"type": "show_source", "label": "Q"},
        {"type": "remove_source", "label": None}, {"type": "rules", "text": None},
        {"type": "set_align", "on": "true"}, {"type": "pair", "model": {}, "ckpt": "x"},
        {"type": "add_source", "path": ["a"]},
    ]  # fmt: skip
    updates = [
        {"active": "Q"}, {"active": 3}, {"active": ["A"]}, {"adapt": "stretch"},
        {"selected": "conv1"}, {"selected": [1]}, {"selection": {"Q": ["conv1"]}},
        {"selection": {"A": "conv1"}}, {"selection": ["A"]}, {"busy": True}, {"rows": {}},
        {"ticks": {"total": 99}}, {"error": ""}, {"active": "A", "adapt": "bogus"},
        {"selection": {"A": ["conv2"]}, "header": {}},
    ]  # fmt: skip
    for message in messages:
        widget.error = ""
        send(widget, message)
        assert widget.error and "\n" not in widget.error, message
        assert not widget.error.startswith(("TypeError", "KeyError", "StopIteration")), message
        assert state() == before, message
    for update in updates:
        widget.error = ""
        widget.set_state(update)
        assert widget.error and "\n" not in widget.error, update
        assert state() == before, update
    assert_unchanged(widget.model.weights, values)
    widget.set_state({"active": "A"})  # a good update still works
    assert widget.error == "" and widget.active == "A" and widget.header["checkpoint"]
    send(widget, {"type": "preview", "path": "_functional/_operations/1"})
    assert widget.error == ""


def test_a_tf1_saver_checkpoint_as_a_source_with_rules(net_ckpt, tf1_ckpt):
    prefix, _ = net_ckpt
    tf1_prefix, stored = tf1_ckpt
    widget = cw.CheckpointWidget(models.net(seed=103), prefix)
    before = models.values(widget.model)
    assert widget.add_source(tf1_prefix, rename=TF1_RULES) == "B"
    assert widget.error == "" and widget.header["counts"]["match"] == 4
    assert widget.header["roots"] == [""]  # a name-based file stores no objects
    widget.selected = ["backbone"]
    assert widget.ticks["total"] == 4
    report = widget.restore()
    assert len(report.restored) == 4
    d1, d2 = widget.model.backbone.layers
    assert_same(d1.kernel.numpy(), stored["fc1/weights"])
    assert_same(d2.bias.numpy(), stored["fc2/biases"])
    assert_unchanged(widget.model.head.weights, before[4:])
    alone = cw.CheckpointWidget(models.net(seed=104), tf1_prefix)  # explore it alone
    assert alone.header["counts"]["unused"] == 4 and alone.ticks["total"] == 0


def test_an_add_that_fails_while_drawing_changes_nothing(two, cnn_pair, monkeypatch, tmp_path):
    import ckpt_widgets.widget.rows

    widget, *_ = two
    _, (pb, _) = cnn_pair
    for suffix in (".index", ".data-00000-of-00001"):
        shutil.copy(pb + suffix, str(tmp_path / "c") + suffix)
    widget.selection = {"A": ["conv1"], "B": ["top"]}

    def state():
        return list(widget.sources), widget.active, dict(widget.selection), widget.selected

    before, header, rows = state(), widget.header, widget.rows
    ticks = getattr(widget, "ticks", None)  # (the ticks trait is new with this test)

    def broken(m):
        raise AttributeError("'CheckpointSource' object has no attribute '_node_paths'")

    monkeypatch.setattr(ckpt_widgets.widget.rows, "model_tree_columns", broken)
    with pytest.raises(AttributeError):
        widget.add_source(str(tmp_path / "c"))
    assert widget.error.startswith("AttributeError")
    assert state() == before
    assert widget.header == header and widget.rows == rows and widget.ticks == ticks
    monkeypatch.undo()
    assert widget.add_source(str(tmp_path / "c")) == "C"  # the letter was not used up
