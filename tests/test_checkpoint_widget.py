"""CheckpointWidget in Python: synced state, restore, undo, errors sent to the front end."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import ckpt_widgets as cw
from ckpt_widgets.widget.checkpoint_widget import RUNNING, _columns
from ckpt_widgets.widget.rows import checkpoint_tree
from tests import models
from tests.conftest import assert_same
from tests.front_end import (
    click_restore,
    click_restore_then_cancel,
    send,
    sent_messages,
    wait_until_idle,
)


@pytest.fixture
def widget(net_ckpt):
    prefix, _ = net_ckpt
    return cw.CheckpointWidget(models.net(head_units=7, seed=60), prefix)


def test_state_sent_to_the_front_end(widget):
    header = widget.header
    assert header["root"] == "model"
    assert header["counts"]["match"] == 4 and header["counts"]["shape_mismatch"] == 2
    assert header["counts"]["optimizer"] == 14
    rows = widget.rows
    by_id = dict(zip(rows["id"], rows["status"]))
    assert by_id["backbone"] == "match" and by_id["head"] == "shape_mismatch"
    assert by_id["backbone/_functional/_operations/1/_kernel"] == "match"
    assert dict(zip(rows["id"], rows["label"]))["backbone/_functional/_operations/2"] == "d2"
    send(widget, {"type": "checkpoint_rows"})  # the Checkpoint tab opens
    ckpt = widget.ckpt_rows
    assert set(ckpt["group"]) == {"model", "optimizer", ""}  # "" for objects
    kinds = dict(zip(ckpt["id"], ckpt["kind"]))
    assert kinds["model/optimizer"] == "module" and kinds["model/head/bias"] == "variable"
    seen = set()
    for node, parent in zip(ckpt["id"], ckpt["parent"]):
        assert parent == "" or parent in seen  # parents come first
        seen.add(node)
    statuses = dict(zip(ckpt["id"], ckpt["status"]))
    assert statuses["model/head"] == "shape_mismatch" and statuses["model/optimizer"] == "unused"


def test_restore_the_ticked_submodule_then_undo(widget, net_ckpt):
    _, saved = net_ckpt
    model = widget.model
    before = models.values(model)
    widget.selected = ["backbone"]
    report = widget.restore()
    assert len(report.restored) == 4
    for v, s in zip(model.backbone.weights, saved.backbone.weights):
        assert_same(v.numpy(), s.numpy())
    assert_same(model.head.kernel.numpy(), before[4])
    assert widget.result["restored"] == 4 and widget.result["can_undo"]
    assert "'backbone': model.backbone" in widget.result["code"]
    widget.undo()
    for v, old in zip(model.weights, before):
        assert_same(v.numpy(), old)
    assert not widget.result["can_undo"]


def test_ticking_a_layer_drops_the_ticks_it_covers(widget, net_ckpt):
    child = "backbone/_functional/_operations/1"
    widget.tick(child)
    widget.tick("backbone")  # covers the child: one tick left, not two
    assert widget.selected == ["backbone"] and widget.ticks["total"] == 4
    widget.tick(child)  # covered by a wider tick already: nothing added
    assert widget.selected == ["backbone"]
    widget.selected = [child, "no_such_layer"]  # set from Python
    widget.tick("backbone")  # a tick naming nothing stays, so the error line says so
    assert widget.selected == ["no_such_layer", "backbone"]
    assert "no_such_layer" in widget.error
    widget.selected = ["backbone"]
    _, writer = net_ckpt
    report = widget.restore()
    assert len(report.restored) == 4
    for v, w in zip(widget.model.backbone.weights, writer.backbone.weights):
        assert_same(v.numpy(), w.numpy())


def test_ticking_a_submodule_with_mismatches_restores_the_matching_part(widget):
    widget.selected = ["head", "backbone/_functional/_operations/1"]
    report = widget.restore()  # head is shape-mismatched: skipped, not an error
    assert set(report.restored["layer"]) == {"d1"}


def test_adapt_lets_mismatched_variables_through(widget, net_ckpt):
    _, saved = net_ckpt
    widget.adapt = "zeros"
    widget.selected = ["head"]
    widget.restore()
    kernel = widget.model.head.kernel.numpy()
    assert_same(kernel[:, :3], saved.head.kernel.numpy())
    assert not kernel[:, 3:].any()


def test_errors_reach_the_front_end_and_change_nothing(widget):
    before = models.values(widget.model)
    with pytest.raises(ValueError, match="Nothing is ticked"):
        widget.restore()
    assert "Nothing is ticked" in widget.error
    click_restore(widget)  # a click does the same
    assert "Nothing is ticked" in widget.error
    send(widget, {"type": "format_disk"})
    assert "Unknown request" in widget.error
    widget.selected = ["no_such_layer"]
    assert widget.error.startswith("SelectionError: include: 'no_such_layer' names no")
    assert widget.ticks["total"] == 0
    click_restore(widget)
    assert "no_such_layer" in widget.error
    for v, old in zip(widget.model.weights, before):
        assert_same(v.numpy(), old)
    widget.selected = ["backbone"]
    click_restore(widget)
    assert widget.error == ""


def test_change_root(widget):
    widget.set_root("")
    assert widget.header["root"] == ""
    assert widget.header["counts"]["match"] == 0
    widget.set_root("model")
    assert widget.header["counts"]["match"] == 4


def test_preview_returns_png_and_stats(widget):
    png, stats = widget.preview("backbone")
    assert png.startswith(b"\x89PNG")
    assert set(stats["side"]) == {"checkpoint", "model"}
    assert np.isfinite(stats["mean"]).all()


def test_undo_after_training_offers_undo_anyway(widget):
    widget.selected = ["backbone"]
    widget.restore()
    kernel = widget.model.backbone.layers[0].kernel
    kernel.assign(kernel.numpy() + 1)  # as a training step would
    with pytest.raises(cw.UndoError, match="changed since the restore"):
        widget.undo()
    assert "changed since the restore" in widget.error
    assert widget.result["undo_conflict"] and widget.result["can_undo"]
    widget.undo(force=True)
    assert widget.error == "" and not widget.result["can_undo"]


def test_preview_limit_from_the_front_end_is_validated(widget):
    sent = sent_messages(widget)
    send(widget, {"type": "preview", "path": "backbone", "limit": "lots"})
    assert widget.error == "ValueError: Request 'preview' needs 'limit' from 1 to 50, not 'lots'."
    send(widget, {"type": "preview", "path": "backbone"})
    send(widget, {"type": "preview", "path": "backbone", "limit": 2})
    assert [m["limit"] for m, _ in sent] == [6, 2]
    assert sent[1][0]["shown"] == 2 and sent[1][0]["count"] == 4
    send(widget, {"type": "preview", "path": "../../etc/passwd"})
    assert "etc/passwd" in widget.error and len(sent) == 2


def test_untracked_variables_are_shown_and_previewable(keras, tf, tmp_path):
    class Blocks(keras.Model):
        def __init__(self):
            super().__init__()
            self.blocks = [keras.layers.Dense(3, name="hidden")]
            self.out = keras.layers.Dense(1, name="out")

        def call(self, x):
            return self.out(self.blocks[0](x))

    model = Blocks()
    model(np.zeros((1, 2), "float32"))
    prefix = tf.train.Checkpoint(model=model).write(str(tmp_path / "ckpt"))
    widget = cw.CheckpointWidget(model, prefix)
    statuses = dict(zip(widget.rows["id"], widget.rows["status"]))
    untracked = [i for i, s in statuses.items() if s == "untracked"]
    assert len(untracked) == 2 and widget.header["counts"]["untracked"] == 2
    png, stats = widget.preview(untracked[0])
    assert png.startswith(b"\x89PNG") and list(stats["side"]) == ["model"]


def test_a_stale_widget_refuses_until_refreshed(keras, tf, tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, name="first")])
    prefix = tf.train.Checkpoint(model=model).write(str(tmp_path / "ckpt"))
    widget = cw.CheckpointWidget(model, prefix)
    model.add(keras.layers.Dense(2, name="second"))  # the model changes under the widget
    widget.selected = ["first"]
    click_restore(widget)
    assert "model changed since this widget was drawn (2 variables added" in widget.error
    widget.refresh()
    assert widget.header["counts"]["missing"] == 2
    widget.selected = ["first"]
    click_restore(widget)
    assert widget.error == "" and widget.result["restored"] == 2


def test_cancel_from_the_front_end_rolls_back(widget):
    before = models.values(widget.model)
    widget.selected = ["backbone"]
    click_restore_then_cancel(widget)  # after the first part was written
    assert "cancelled" in widget.error and widget.progress == {} and not widget.busy
    for v, old in zip(widget.model.weights, before):
        assert_same(v.numpy(), old)


def test_restore_button_runs_in_the_background_with_progress(widget):
    seen = []
    widget.observe(lambda change: seen.append(change["new"]), names="progress")
    widget.selected = ["backbone"]
    click_restore(widget)
    assert widget.error == "" and widget.result["restored"] == 4
    assert {"done": 0, "total": seen[0]["total"]} == seen[0] and seen[-1] == {}


def test_rules_and_align_rematch_from_the_front_end(keras, tf, tmp_path):
    old = models.net(seed=70)
    holder = tf.train.Checkpoint(old_head=old.head, backbone=old.backbone)
    prefix = tf.train.Checkpoint(model=holder).write(str(tmp_path / "ckpt"))
    widget = cw.CheckpointWidget(models.net(seed=71), prefix)
    assert widget.header["counts"]["match"] == 4  # the head's attribute was renamed
    send(widget, {"type": "rules", "text": "^model/old_head/ => head/"})
    assert widget.error == "" and widget.header["counts"]["renamed"] == 2
    assert widget.header["counts"]["match"] == 6
    send(widget, {"type": "rules", "text": "([ => x"})
    assert "Rule 1" in widget.error and widget.header["counts"]["match"] == 6
    send(widget, {"type": "rules", "text": ""})
    assert widget.header["counts"]["match"] == 4
    send(widget, {"type": "align"})
    assert widget.error == "" and widget.header["counts"]["match"] == 6
    widget.selected = ["head"]
    click_restore(widget)
    assert_same(widget.model.head.kernel.numpy(), old.head.kernel.numpy())


def test_pair_one_variable_by_hand(keras, tf, tmp_path):
    old = models.net(seed=72)
    holder = tf.train.Checkpoint(old_head=old.head, backbone=old.backbone)
    prefix = tf.train.Checkpoint(model=holder).write(str(tmp_path / "ckpt"))
    widget = cw.CheckpointWidget(models.net(seed=73), prefix)
    widget.pair("head/_kernel", "model/old_head/_kernel")
    assert widget.error == "" and widget.header["counts"]["renamed"] == 1
    statuses = dict(zip(widget.rows["id"], widget.rows["status"]))
    assert statuses["head/_kernel"] == "match" and statuses["head/bias"] == "missing"
    with pytest.raises(ValueError, match="nowhere"):
        widget.pair("head/_kernel", "model/nowhere")
    assert "nowhere" in widget.error and widget.header["counts"]["renamed"] == 1


def test_widget_over_a_keras_weights_file(tmp_path):
    saved = models.cnn(seed=90)
    path = tmp_path / "cnn.weights.h5"
    saved.save_weights(str(path))
    widget = cw.CheckpointWidget(models.cnn(seed=91), path)
    assert widget.header["counts"]["match"] == len(saved.weights)
    widget.selected = [
        p for p, kind in zip(widget.rows["id"], widget.rows["kind"]) if kind == "module"
    ][:1]
    report = widget.restore()
    assert len(report.restored) == 2 and "h5py.File(" in report.code
    png, _ = widget.preview(widget.selected[0])
    assert png.startswith(b"\x89PNG")


def test_requests_while_a_restore_runs_are_refused_and_busy_stays(widget, net_ckpt):
    """A restore job blocked in its progress hook; every request fired at it is refused."""

    import traitlets

    _, saved = net_ckpt
    started, gate = threading.Event(), threading.Event()

    def slow(change):  # runs in the job's thread: the job waits for the gate
        started.set()
        gate.wait(60)

    widget.observe(slow, names="progress")
    widget.selected = ["backbone"]
    state = (dict(widget.selection), widget.active, widget.adapt, widget.selected)
    send(widget, {"type": "restore"})
    assert started.wait(60) and widget.busy
    requests = [
        {"type": "preview", "path": "backbone"},
        {"type": "undo"},
        {"type": "undo", "force": True},
        {"type": "refresh"},
        {"type": "tick", "paths": ["head"], "on": True},
        {"type": "clear"},
        {"type": "set_root", "root": ""},
        {"type": "rules", "text": "^x => y"},
        {"type": "align"},
        {"type": "set_align", "on": True},
        {"type": "pair", "model": "head/_kernel", "ckpt": "model/head/_kernel"},
        {"type": "add_source", "path": "/nowhere"},
        {"type": "show_source", "label": "A"},
        {"type": "remove_source", "label": "A"},
        {"type": "restore"},
    ]
    for request in requests:
        widget.error = ""
        send(widget, request)
        assert widget.error == f"ValueError: {RUNNING}", request
        assert widget.busy, request
    for call in (widget.undo, widget.refresh, lambda: widget.preview("head"), widget.restore):
        with pytest.raises(ValueError, match="A restore is running"):
            call()
    for name, value in [("selected", ["head"]), ("adapt", "zeros"), ("selection", {"A": []})]:
        with pytest.raises(traitlets.TraitError, match="A restore is running"):
            setattr(widget, name, value)
    widget.set_state({"selected": ["head"]})  # as the front end would
    assert widget.error == f"ValueError: {RUNNING}"
    assert widget.busy and widget.report is None
    assert (dict(widget.selection), widget.active, widget.adapt, widget.selected) == state
    gate.set()
    wait_until_idle(widget)
    assert not widget.busy and widget.error == "" and widget.result["restored"] == 4
    for v, s in zip(widget.model.backbone.weights, saved.backbone.weights):
        assert_same(v.numpy(), s.numpy())  # restored, and no undo ran alongside
    assert widget.result["can_undo"] and not widget.report.undone


def test_suggest_renames_and_refresh_keep_the_ticks_that_mean_the_same(tf, tmp_path):
    old = models.net(seed=74)
    holder = tf.train.Checkpoint(old_head=old.head, backbone=old.backbone)
    prefix = tf.train.Checkpoint(model=holder).write(str(tmp_path / "ckpt"))
    widget = cw.CheckpointWidget(models.net(seed=75), prefix)
    widget.selected = ["backbone", "head"]  # nothing of head is in the file yet
    assert widget.ticks["total"] == 4 and "head" not in widget.tickable
    dropped = "Unticked, as they no longer restore the same stored tensors into the same variables"
    widget.accept_suggested_renames()
    assert widget.selected == ["backbone"] and widget.ticks["total"] == 4
    assert widget.notice == f"{dropped}: 'head'."
    widget.selected = ["backbone", "head"]
    assert widget.ticks["total"] == 6 and widget.ticks["rows"]["head"] == "all"
    widget.refresh()
    assert widget.selected == ["backbone", "head"] and widget.notice == ""
    assert widget.ticks["total"] == 6
    widget.set_rules("")  # head's pairs go: its tick no longer means the same
    assert widget.selected == ["backbone"] and widget.ticks["total"] == 4
    assert widget.notice == f"{dropped}: 'head'."
    report = widget.restore()
    assert set(report.restored["layer"]) == {"d1", "d2"}


@pytest.mark.parametrize("how", ["write", "manager"])
def test_refresh_reads_the_checkpoint_written_again(tf, tmp_path, how):
    writer = models.net(seed=76)
    checkpoint = tf.train.Checkpoint(model=writer)
    if how == "write":
        save = lambda: checkpoint.write(str(tmp_path / "ckpt"))  # noqa: E731
    else:
        manager = tf.train.CheckpointManager(checkpoint, str(tmp_path), max_to_keep=2)
        save = lambda: manager.save(checkpoint_number=1)  # noqa: E731
    prefix = save()
    widget = cw.CheckpointWidget(models.net(seed=77), prefix)
    widget.selected = ["backbone"]
    models.perturb(writer, seed=78)  # training goes on and saves again to the same prefix
    assert save() == prefix
    widget.refresh()
    widget.selected = ["backbone"]
    widget.restore()
    for v, s in zip(widget.model.backbone.weights, writer.backbone.weights):
        assert_same(v.numpy(), s.numpy())


# -- issue 12: previews that follow restores, restored rows, roots, words, hints ---------------


def test_the_open_preview_is_drawn_again_after_restore_and_undo(widget, net_ckpt, monkeypatch):
    _, saved = net_ckpt
    sent = sent_messages(widget)
    path = "backbone/_functional/_operations/1/_kernel"
    widget.preview(path)
    assert widget.error == "" and len(sent) == 1
    first = {row["side"]: row for row in sent[0][0]["stats"]}
    assert first["checkpoint"]["max_abs_diff"] > 0
    widget.selected = ["backbone"]
    click_restore(widget)
    assert widget.error == "" and len(sent) == 2
    after = {row["side"]: row for row in sent[1][0]["stats"]}
    assert sent[1][0]["path"] == path and after["model"]["max_abs_diff"] == 0
    stored = saved.backbone.layers[0].kernel.numpy()
    assert after["model"]["mean"] == pytest.approx(float(stored.astype(np.float64).mean()))
    assert sent[1][1][0] != sent[0][1][0]  # another image
    widget.undo()
    assert widget.error == "" and len(sent) == 3
    assert sent[2][0]["stats"][1]["max_abs_diff"] == first["model"]["max_abs_diff"]


def test_restored_rows_are_marked_until_undo(widget):
    widget.selected = ["backbone"]
    click_restore(widget)
    rows = zip(widget.rows["id"], widget.rows["kind"])
    assert sorted(widget.restored) == sorted(
        i for i, kind in rows if kind == "variable" and i.startswith("backbone/")
    )
    assert len(widget.restored) == 4 and set(widget.restored) <= set(widget.rows["id"])
    widget.undo()
    assert widget.restored == []


def test_preview_theme_and_log_from_the_front_end(widget, monkeypatch):
    sent = sent_messages(widget)
    dark = {
        "foreground": "#eeeeee",
        "background": "#111111",
        "checkpoint": "#4488ff",
        "model": "#ff8800",
    }
    request = {"type": "preview", "path": "backbone", "theme": dark, "log": True}
    send(widget, request)
    assert widget.error == "" and sent[-1][0]["log"] is True and sent[-1][0]["scale"] == 2
    send(widget, {**request, "theme": {**dark, "model": "url(x)"}})
    assert "Theme colour 'model'" in widget.error and len(sent) == 1
    send(widget, {**request, "log": "yes"})
    assert "'log' as true or false" in widget.error and len(sent) == 1


def test_root_select_offers_only_places_where_weights_match(widget):
    roots, counts = widget.header["roots"], widget.header["root_counts"]
    assert roots[0] == "model" and counts["model"] == 4
    assert all(counts[r] > 0 for r in roots)
    assert not any("optimizer" in r or "_operations" in r for r in roots)
    assert list(counts.values()) == sorted(counts.values(), reverse=True)


def test_result_tells_skipped_from_not_selected_with_plurals(widget):
    widget.selected = ["backbone/_functional/_operations/1/_kernel", "head"]
    click_restore(widget)
    result = widget.result
    assert result["restored"] == 1
    assert result["summary"].startswith("Restored 1 variable (")
    assert "2 selected not restored" in result["summary"]
    assert result["skipped_count"] == 2 and result["not_selected"] == 3
    assert {r["model_path"] for r in result["skipped"]} == {"head/_kernel", "head/bias"}
    assert all(r["selected"] and r["status"] == "shape_mismatch" for r in result["skipped"])


def test_a_checkpoint_of_another_model_says_what_to_try(keras, tf, tmp_path):
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5), keras.layers.Dense(2)])
    prefix = tf.train.Checkpoint(model=other).write(str(tmp_path / "ckpt"))
    widget = cw.CheckpointWidget(models.net(seed=80), prefix)
    hint = widget.header["hint"]
    assert hint.startswith("None of the model's 6 variables matches") and "Align layers" in hint
    widget.align_layers(True)
    assert "Align layers" not in widget.header["hint"]


def test_a_good_match_gives_no_hint(widget):
    assert widget.header["hint"] == ""


def test_rules_that_pair_nothing_say_so(widget):
    widget.set_rules("^nowhere/ => head/")
    assert widget.error == "" and widget.notice.startswith("The 1 rule pair no variable")


def test_rules_text_is_the_rules_box_per_source(keras, tf, tmp_path):
    old = models.net(seed=70)
    holder = tf.train.Checkpoint(old_head=old.head, backbone=old.backbone)
    prefix = tf.train.Checkpoint(model=holder).write(str(tmp_path / "ckpt"))
    widget = cw.CheckpointWidget(models.net(seed=71), prefix)
    rules = "^model/old_head/ => head/"
    widget.set_state({"rules_text": rules})  # typed in the box
    assert widget.error == "" and widget.header["counts"]["renamed"] == 2
    widget.set_state({"rules_text": "([ => x"})
    assert "Rule 1" in widget.error and widget.rules_text == "([ => x"  # kept as typed
    assert widget.header["counts"]["renamed"] == 2
    widget.set_state({"rules_text": rules})
    assert widget.error == "" and widget.header["counts"]["renamed"] == 2
    other = tf.train.Checkpoint(model=holder).write(str(tmp_path / "other"))
    assert widget.add_source(other) == "B"
    widget.show_source("B")
    assert widget.rules_text == "" and not widget.header["counts"].get("renamed")
    widget.show_source("A")  # its rules come back with it, not matched again
    assert widget.rules_text == rules and widget.header["counts"]["renamed"] == 2
    widget.set_rules("")  # from a script: the box follows
    assert widget.rules_text == "" and not widget.header["counts"].get("renamed")
    widget.set_state({"rules_text": 3})
    assert "does not fit" in widget.error and widget.rules_text == ""


def test_preview_by_keras_layer_name_and_variable_path(widget):
    first = widget.model.backbone.layers[0]
    _, stats = widget.preview(first.name)  # a Keras layer name, as include= takes
    assert list(stats["path"].unique()) == [
        "backbone/_functional/_operations/1/_kernel",
        "backbone/_functional/_operations/1/bias",
    ]
    _, stats = widget.preview(first.kernel.path)  # a Keras variable path
    assert list(stats["path"].unique()) == ["backbone/_functional/_operations/1/_kernel"]
    _, stats = widget.preview(f"backbone/{first.name}/{first.kernel.name}")  # readable name
    assert list(stats["path"].unique()) == ["backbone/_functional/_operations/1/_kernel"]
    with pytest.raises(KeyError, match=rf"did you mean .*'{first.name}'"):
        widget.preview(first.name + "x")
    assert widget.error.startswith("KeyError: ")


def test_errors_and_the_skipped_list_name_variables_readably(widget):
    head = widget.model.head
    want = (
        rf"'head/{head.kernel.name}' \(model \(5, 7\) float32, checkpoint \(5, 3\) float32; "
        r"object path 'head/_kernel'\)"
    )
    with pytest.raises(cw.ShapeMismatchError, match=want):
        cw.restore(widget.model, widget.match, include=["head"])
    widget.selected = ["backbone/_functional/_operations/1/_kernel", "head"]
    click_restore(widget)
    labels = sorted(r["label"] for r in widget.result["skipped"])
    assert labels == sorted(f"head/{v.name}" for v in head.weights)


def test_status_words_are_one_vocabulary_for_widget_and_readme(widget):
    from ckpt_widgets.words import STATUS_WORDS

    words = widget.header["status_words"]
    assert words == STATUS_WORDS and set(widget.header["statuses"]) <= set(words)
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    table = readme.split("## What the statuses mean", 1)[1].split("\n\n", 2)[1]
    rows = [line.split("|")[1:3] for line in table.splitlines()[2:]]
    shown = {status.strip().strip("`"): word.strip() for status, word in rows}
    assert set(shown) == set(widget.header["statuses"])
    for status, word in shown.items():
        assert word.split(" (")[0] == STATUS_WORDS[status]


def test_root_select_of_the_demo_lists_where_its_weights_sit(tmp_path):
    from ckpt_widgets.demo import make_demo

    model, directory = make_demo(tmp_path / "demo")
    widget = cw.CheckpointWidget(model, directory)
    # The demo's new head has other units: the backbone's weights are what match.
    assert widget.header["roots"] == ["model"]
    assert widget.header["root_counts"] == {"model": len(model.backbone.weights)}


def test_root_select_of_a_keras_hub_backbone(tf, tmp_path):
    keras_hub = pytest.importorskip("keras_hub")
    writer = keras_hub.models.BertBackbone(**models.TINY_TRANSFORMER)
    prefix = tf.train.Checkpoint(model=writer).write(str(tmp_path / "ckpt"))
    model = keras_hub.models.BertBackbone(**models.TINY_TRANSFORMER)
    widget = cw.CheckpointWidget(model, prefix)
    assert widget.header["roots"] == ["model"]
    assert widget.header["root_counts"] == {"model": len(model.weights)}


def test_dry_run_shows_the_plan_and_changes_nothing(widget, net_ckpt):
    _, saved = net_ckpt
    model = widget.model
    before = models.values(model)
    widget.selected = ["backbone", "head"]
    widget.dry_run()  # the Dry run button
    for v, old in zip(model.weights, before):
        assert_same(v.numpy(), old)
    plan = widget.plan
    assert plan["variables"] == 4 == len(saved.backbone.weights)
    assert plan["params"] == sum(int(np.prod(v.shape)) for v in saved.backbone.weights)
    [source] = plan["sources"]
    assert source["label"] == "A" and [layer["layer"] for layer in source["layers"]] == ["d1", "d2"]
    assert [layer["params"] for layer in source["layers"]] == [2 * 4 + 4, 4 * 5 + 5]
    assert plan["skipped_count"] == 2 and {s["layer"] for s in plan["skipped"]} == {"head"}
    assert "shape" in plan["skipped"][0]["reason"]
    assert "'backbone': model.backbone" in plan["code"]
    assert widget.result == {}

    widget.tick("backbone/_functional/_operations/2", False)  # the shown plan follows the ticks
    assert widget.plan["variables"] == 2
    report = widget.restore()
    assert set(report.restored["model_path"]) == {
        "backbone/_functional/_operations/1/_kernel",
        "backbone/_functional/_operations/1/bias",
    }
    assert widget.plan == {}


def test_dry_run_with_nothing_ticked_says_so(widget):
    with pytest.raises(ValueError, match="Nothing is ticked"):
        widget.dry_run()
    assert "Nothing is ticked" in widget.error
    widget.selected = ["backbone"]
    widget.dry_run()
    widget.selected = []
    assert "Nothing is ticked" in widget.plan["error"]
    send(widget, {"type": "close_plan"})
    assert widget.plan == {}


def test_rows_and_header_count_parameters(widget):
    model = widget.model
    rows = dict(zip(widget.rows["id"], widget.rows["params"]))
    assert rows["backbone/_functional/_operations/1/_kernel"] == 2 * 4
    assert rows["backbone"] == sum(int(np.prod(v.shape)) for v in model.backbone.weights)
    assert rows["head"] == 5 * 7 + 7
    assert widget.header["params"] == sum(int(np.prod(v.shape)) for v in model.weights)
    assert widget.header["nbytes"] == sum(v.numpy().nbytes for v in model.weights)
    stored = widget.checkpoint_rows()
    ckpt = dict(zip(stored["id"], stored["params"]))
    assert ckpt["model/head"] == 5 * 3 + 3


def test_checkpoint_rows_are_built_when_the_tab_first_opens(net_ckpt, tf, tmp_path):
    """Not with the widget: then exactly what an eager build gives, kept up to date."""
    prefix, _ = net_ckpt
    model = models.net(head_units=7, seed=60)
    widget = cw.CheckpointWidget(model, prefix)
    assert widget.ckpt_rows == {}
    send(widget, {"type": "checkpoint_rows"})
    eager = checkpoint_tree(cw.match(model, prefix))
    assert widget.error == "" and widget.ckpt_rows == _columns(eager)
    assert widget.checkpoint_rows().equals(eager)
    other = tf.train.Checkpoint(other=model).write(str(tmp_path / "ckpt"))
    widget.add_source(other)  # another match on show: the rows follow it
    assert widget.ckpt_rows == _columns(checkpoint_tree(cw.match(model, other)))
    assert "other/head/bias" in widget.ckpt_rows["id"]
    widget.show_source("A")
    assert widget.ckpt_rows == _columns(eager)


@pytest.mark.parametrize("k", [1, 3])
def test_ctrl_c_at_the_kth_assign_of_undo_from_the_front_end_leaves_it_undone(
    widget, monkeypatch, k
):
    """Ctrl-C while Undo (the front end's request) puts back the k-th variable: the undo
    finishes first, so every variable has its value from before the restore; the widget
    said it was still restored (Undo offered, rows marked), and Undo then refused."""
    model = widget.model
    before = models.values(model)
    widget.selected = ["backbone"]
    click_restore(widget)
    restored = models.values(model)
    assert any((a != b).any() for a, b in zip(restored, before))
    variable, left = model.backbone.weights[k - 1], [1]
    real = variable.assign

    def interrupted_assign(value, *args, **kwargs):
        if left[0]:
            left[0] -= 1
            raise KeyboardInterrupt
        return real(value, *args, **kwargs)

    monkeypatch.setattr(variable, "assign", interrupted_assign)
    with pytest.raises(KeyboardInterrupt):
        send(widget, {"type": "undo"})
    assert left == [0]  # the Ctrl-C came during the undo
    for v, old in zip(model.weights, before):
        assert_same(v.numpy(), old)
    assert widget.report.undone
    assert not widget.busy and widget.restored == []
    assert not widget.result["can_undo"] and not widget.result["undo_conflict"]
    assert "from before the restore" in widget.notice and widget.error == ""


def test_ctrl_c_before_undo_puts_anything_back_leaves_it_restored(widget, monkeypatch):
    """Ctrl-C while Undo still compares the variables with what was restored: nothing was
    put back, and the widget still offers Undo, which then works."""
    from ckpt_widgets.engine.transaction import RestoreReport

    widget.selected = ["backbone"]
    click_restore(widget)
    restored = models.values(widget.model)

    def interrupted(_report):
        raise KeyboardInterrupt

    monkeypatch.setattr(RestoreReport, "_changed_since_restore", interrupted)
    with pytest.raises(KeyboardInterrupt):
        send(widget, {"type": "undo"})
    for v, value in zip(widget.model.weights, restored):
        assert_same(v.numpy(), value)
    assert not widget.report.undone and len(widget.restored) == 4
    assert widget.result["can_undo"] and not widget.busy and widget.notice == ""
    monkeypatch.undo()
    widget.undo()
    assert not widget.result["can_undo"] and widget.restored == []
