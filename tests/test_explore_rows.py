"""The widget without a model: explore rows, compare rows, change chart, A/B overlays, and
the widget's explore and compare views driven from Python and by front-end messages."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ckpt_widgets as cw
from ckpt_widgets.widget.explore_rows import (
    Comparison,
    change_by_layer,
    change_chart,
    compare_rows,
    explore_rows,
    source_preview,
)
from tests import models
from tests.front_end import send, sent_messages, wait_until_idle
from tests.runs import frozen_backbone_run, stored

HEAD = ("model/head/_kernel", "model/head/bias")
BACKBONE = tuple(
    f"model/backbone/_functional/_operations/{i}/{v}" for i in (1, 2) for v in ("_kernel", "bias")
)
ATTR = "/.ATTRIBUTES/VARIABLE_VALUE"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A frozen-backbone fine-tuning run: ``ckpt-1`` (before) … ``ckpt-4``, and the model."""
    _, prefixes, model = frozen_backbone_run(tmp_path_factory.mktemp("explore_rows"))
    return prefixes, model


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    """A small CNN saved as ``.weights.h5`` and ``.keras``, then again with conv2 doubled."""
    directory = tmp_path_factory.mktemp("keras_files")
    model = models.cnn(seed=4)
    model.save_weights(str(directory / "a.weights.h5"))
    model.save(str(directory / "a.keras"))
    before = models.values(model)
    conv2 = model.get_layer("conv2").kernel
    conv2.assign(conv2 * 2.0)
    model.save_weights(str(directory / "b.weights.h5"))
    model.save(str(directory / "b.keras"))
    return directory, model, before


def by_id(rows):
    return rows.set_index("id")


# -- explore rows -------------------------------------------------------------------------


def test_tf2_tree_sizes_bytes_and_groups_from_the_file(run, tf):
    prefixes, _ = run
    rows = by_id(explore_rows(cw.open_checkpoint(prefixes[-1])))
    shapes = dict(tf.train.list_variables(prefixes[-1]))
    for path in HEAD + BACKBONE:
        shape = shapes[path + ATTR]
        assert rows.loc[path, "shape"] == list(shape)
        assert rows.loc[path, "size"] == math.prod(shape)
        assert rows.loc[path, "nbytes"] == 4 * math.prod(shape)
        assert rows.loc[path, "kind"] == "variable" and rows.loc[path, "group"] == "model"
    head = rows.loc["model/head"]
    assert head["kind"] == "module" and head["variables"] == 2
    assert head["size"] == sum(math.prod(shapes[p + ATTR]) for p in HEAD)
    backbone = rows.loc["model/backbone"]
    assert backbone["size"] == sum(math.prod(shapes[p + ATTR]) for p in BACKBONE)
    # Model against optimizer state: the optimizer subtree holds only optimizer state.
    optimizer = rows.loc["model/optimizer"]
    assert optimizer["status"] == "optimizer" and optimizer["params_model"] == 0
    slots = [k for k in shapes if k.startswith("model/optimizer/")]
    assert optimizer["variables"] == len(slots)
    assert rows.loc["model", "status"] == "mixed"
    ids = list(rows.index)
    assert all(ids.index(p) < ids.index(c) for c, p in zip(rows.index, rows["parent"]) if p)


def test_tf1_name_tree(tf, tmp_path):
    prefix, values = models.write_tf1_saver(tf, tmp_path / "tf1")
    rows = by_id(explore_rows(cw.open_checkpoint(prefix)))
    for name, value in values.items():
        assert rows.loc[name, "shape"] == list(value.shape)
        assert rows.loc[name, "size"] == value.size
    assert rows.loc["fc1", "kind"] == "module"
    assert rows.loc["fc1", "size"] == values["fc1/weights"].size + values["fc1/biases"].size
    assert rows.loc["fc2", "nbytes"] == values["fc2/weights"].nbytes + values["fc2/biases"].nbytes


@pytest.mark.parametrize("name", ["a.weights.h5", "a.keras"])
def test_keras_layer_tree_names_layers_and_counts_parameters(keras_files, name):
    directory, model, _ = keras_files
    rows = by_id(explore_rows(cw.open_checkpoint(directory / name)))
    layers = dict(zip(rows.index, rows["layer"]))
    for layer in model.layers:
        if not layer.weights:
            continue
        module = [
            p for p, n in layers.items() if n == layer.name and rows.loc[p, "kind"] == "module"
        ]
        assert len(module) == 1, layer.name
        assert rows.loc[module[0], "size"] == sum(int(np.prod(w.shape)) for w in layer.weights)
    top = rows[rows["parent"] == ""]
    assert top["size"].sum() == model.count_params()


def test_source_preview_statistics_equal_numpy(run):
    prefixes, _ = run
    src = cw.open_checkpoint(prefixes[-1])
    png, stats = source_preview(src, "model/head")
    assert png.startswith(b"\x89PNG")
    assert list(stats["path"]) == list(HEAD) and set(stats["side"]) == {"checkpoint"}
    for _, row in stats.iterrows():
        value = stored(prefixes[-1], row["path"] + ATTR).astype(np.float64)
        np.testing.assert_allclose(row["mean"], value.mean(), rtol=1e-9)
        assert row["min"] == value.min() and row["max"] == value.max()
    with pytest.raises(KeyError, match="no variable or subtree"):
        source_preview(src, "model/haed")


def test_source_preview_streams_a_large_tensor(run, monkeypatch):
    # A stored tensor over slice_bytes is read in pieces, never whole (a 1 GB embedding took
    # 1042 MB extra); its statistics and drawn counts stay exactly numpy's.
    prefixes, _ = run
    src = cw.open_checkpoint(prefixes[-1])
    whole, _ = source_preview(src, HEAD[0])
    pieces, read_pieces = [], src.read_pieces
    monkeypatch.setattr(src, "read_pieces", lambda *a: pieces.append(a) or read_pieces(*a))
    png, stats = source_preview(src, HEAD[0], slice_bytes=8)
    assert pieces and png == whole
    value = stored(prefixes[-1], HEAD[0] + ATTR).astype(np.float64)
    assert stats["min"].iat[0] == value.min() and stats["max"].iat[0] == value.max()
    np.testing.assert_allclose(stats["std"].iat[0], value.std(), rtol=1e-9)


# -- compare rows -------------------------------------------------------------------------


def test_frozen_backbone_rows_same_trained_head_changed(run):
    prefixes, _ = run
    a, b = prefixes[0], prefixes[-1]
    rows = by_id(compare_rows(cw.compare(a, b)))
    for path in HEAD + BACKBONE:
        x, y = stored(a, path + ATTR), stored(b, path + ATTR)
        want = "same" if np.array_equal(x.view(np.uint8), y.view(np.uint8)) else "changed"
        assert rows.loc[path, "status"] == want
        rel = np.linalg.norm((y - x).astype(np.float64)) / np.linalg.norm(x.astype(np.float64))
        np.testing.assert_allclose(rows.loc[path, "rel_change"], rel, rtol=1e-9, atol=0)
    assert {rows.loc[p, "status"] for p in BACKBONE} == {"same"}
    assert {rows.loc[p, "status"] for p in HEAD} == {"changed"}
    assert rows.loc["model/backbone", "status"] == "same"
    assert rows.loc["model/backbone", "rel_change"] == 0.0
    assert rows.loc["model/head", "status"] == "changed" and rows.loc["model/head", "changed"] == 2
    # Adam's slots appear with the first step: only in B, nothing to measure, also for
    # the subtree holding only them.
    only_b = rows[rows["status"] == "only_b"]
    assert (only_b["kind"] == "variable").sum() == 4
    assert only_b.loc["model/optimizer/_variables", "only_b"] == 4
    assert (
        only_b.loc[only_b.index.str.startswith("model/optimizer/_var"), "rel_change"].isna().all()
    )


def test_a_change_from_all_zeros_is_infinite_and_sorts_first(tf, tmp_path):
    zeros = tf.Variable(np.zeros(3, "float32"))
    other = tf.Variable(np.ones(2, "float32"))
    a = tf.train.Checkpoint(bias=zeros, other=other).write(str(tmp_path / "a"))
    zeros.assign([0.0, 0.5, 0.0])
    other.assign([1.0, 1.5])
    b = tf.train.Checkpoint(bias=zeros, other=other).write(str(tmp_path / "b"))
    rows = by_id(compare_rows(cw.compare(a, b)))
    assert rows.loc["bias", "status"] == "changed" and rows.loc["bias", "rel_change"] == "inf"
    assert rows.loc["other", "rel_change"] == pytest.approx(0.5 / np.sqrt(2), rel=1e-12)
    assert rows.loc["bias", "max_abs_diff"] == 0.5


def test_change_by_layer_and_chart(run):
    prefixes, _ = run
    a, b = prefixes[0], prefixes[-1]
    table = cw.compare(a, b)
    layers = change_by_layer(table).set_index("module")
    assert set(layers.index) == {
        "model/head",
        "model/backbone/_functional/_operations/1",
        "model/backbone/_functional/_operations/2",
    }
    x = np.concatenate([stored(a, p + ATTR).ravel() for p in HEAD]).astype(np.float64)
    y = np.concatenate([stored(b, p + ATTR).ravel() for p in HEAD]).astype(np.float64)
    want = np.linalg.norm(y - x) / np.linalg.norm(x)
    np.testing.assert_allclose(layers.loc["model/head", "rel_change"], want, rtol=1e-9)
    assert layers.loc["model/backbone/_functional/_operations/1", "rel_change"] == 0.0
    dark = {"foreground": "#eeeeee", "background": "#111111", "checkpoint": "#00aaff"}
    png = change_chart(table, theme={**dark, "model": "#ffaa00"}, scale=2)
    assert png.startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="theme"):
        change_chart(table, theme={"foreground": "#000000"})


def test_overlay_statistics_of_both_sides_and_the_difference(run):
    prefixes, _ = run
    a, b = prefixes[0], prefixes[-1]
    comparison = Comparison.of(a, b, ("A", "B"))
    png, stats = comparison.overlay(HEAD[0])
    assert png.startswith(b"\x89PNG")
    assert list(stats["side"]) == ["A", "B", "B - A"]
    x = stored(a, HEAD[0] + ATTR).astype(np.float64)
    y = stored(b, HEAD[0] + ATTR).astype(np.float64)
    sides = stats.set_index("side")
    for side, value in (("A", x), ("B", y), ("B - A", y - x)):
        np.testing.assert_allclose(sides.loc[side, "mean"], value.mean(), rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(sides.loc[side, "std"], value.std(), rtol=1e-9, atol=1e-15)
    assert (stats["max_abs_diff"] == np.abs(y - x).max()).all()
    # An only-in-B variable has one side and no difference.
    only_b = comparison.table.loc[comparison.table["status"] == "only_b", "path"].iloc[0]
    assert list(comparison.overlay(only_b)[1]["side"]) == ["B"]


def test_tf1_and_keras_files_compare_rows(tf, tmp_path, keras_files):
    values = {"fc1/weights": np.arange(8, dtype="float32").reshape(2, 4)}
    values["fc2/weights"] = np.ones((4, 5), "float32")
    moved = {**values, "fc2/weights": values["fc2/weights"] * 3.0}
    a = models.save_tf1(tf, values, tmp_path / "a" / "model")
    b = models.save_tf1(tf, moved, tmp_path / "b" / "model")
    rows = by_id(compare_rows(cw.compare(a, b)))
    assert rows.loc["fc1/weights", "status"] == "same"
    assert rows.loc["fc2/weights", "status"] == "changed"
    np.testing.assert_allclose(rows.loc["fc2", "rel_change"], 2.0, rtol=1e-12)
    directory, model, before = keras_files
    ids = [id(w) for w in model.weights]
    kernel, bias = (before[ids.index(id(w))] for w in model.get_layer("conv2").weights)
    moved = np.linalg.norm(kernel) / np.sqrt(np.sum(kernel**2) + np.sum(bias**2))
    for suffix in (".weights.h5", ".keras"):
        table = cw.compare(directory / f"a{suffix}", directory / f"b{suffix}")
        layers = change_by_layer(table).set_index("label")
        assert layers.loc["conv2", "status"] == "changed"
        np.testing.assert_allclose(layers.loc["conv2", "rel_change"], moved, rtol=1e-6)
        unchanged = layers.drop(index="conv2")
        assert set(unchanged["status"]) == {"same"} and (unchanged["rel_change"] == 0).all()


# -- the widget without a model -----------------------------------------------------------


@pytest.mark.parametrize("how", ["path", "none_then_path"])
def test_widget_explores_a_checkpoint_alone(run, how):
    prefixes, _ = run
    w = (
        cw.CheckpointWidget(prefixes[-1])
        if how == "path"
        else cw.CheckpointWidget(None, prefixes[-1])
    )
    assert w.model is None and w.active == "A" and w.header["explore"]
    assert w.header["checkpoint"] == prefixes[-1]
    expected = explore_rows(cw.open_checkpoint(prefixes[-1]))
    assert w.rows["id"] == list(expected["id"]) and w.rows["size"] == list(expected["size"])
    sent = sent_messages(w)
    send(w, {"type": "preview", "path": HEAD[1]})
    assert w.error == ""
    ((message, buffers),) = sent
    assert message["type"] == "histogram" and buffers[0].startswith(b"\x89PNG")
    value = stored(prefixes[-1], HEAD[1] + ATTR)
    assert message["stats"][0]["max"] == pytest.approx(float(value.max()), abs=0)
    _, stats = w.preview("model/backbone")
    assert list(stats["path"]) == list(BACKBONE)


def test_widget_without_a_model_refuses_to_restore(run):
    prefixes, _ = run
    w = cw.CheckpointWidget(prefixes[-1])
    with pytest.raises(cw.NothingToRestoreError, match="no model"):
        w.restore()
    assert "no model" in w.error and w.report is None
    send(w, {"type": "tick", "paths": [HEAD[0]], "on": True})
    assert "no model" in w.error and w.selection == {"A": []}
    with pytest.raises(ValueError, match="Give a checkpoint"):
        cw.CheckpointWidget(models.net())
    with pytest.raises(ValueError, match="Give a checkpoint"):
        cw.CheckpointWidget(None)


def test_widget_compares_two_checkpoints(run):
    prefixes, _ = run
    w = cw.CheckpointWidget(prefixes[0])
    with pytest.raises(ValueError, match="Add a second checkpoint"):
        w.compare()
    assert w.add_source(prefixes[-1]) == "B" and w.active == "B"
    with pytest.raises(ValueError, match="already source A"):
        w.add_source(prefixes[0])
    assert w.comparison == {}  # computed when the view opens, not before
    sent = sent_messages(w)
    send(w, {"type": "compare"})  # the Compare view opens: a job in the background
    wait_until_idle(w)
    assert w.error == "" and not w.busy
    assert w.comparison["a"] == "A" and w.comparison["b"] == "B"
    status = dict(zip(w.comparison["rows"]["id"], w.comparison["rows"]["status"]))
    assert {status[p] for p in BACKBONE} == {"same"} and {status[p] for p in HEAD} == {"changed"}
    ((chart, buffers),) = sent
    assert chart["type"] == "compare_chart" and buffers[0].startswith(b"\x89PNG")
    w.overlay(HEAD[0])
    message, buffers = sent[-1]
    assert message["overlay"] == ["A", "B"] and [r["side"] for r in message["stats"]] == [
        "A",
        "B",
        "B - A",
    ]
    assert buffers[0].startswith(b"\x89PNG")
    table = w.compare("B", "A")
    assert set(table.loc[table["status"] == "only_a", "path"]) >= {"model/optimizer/_variables/2"}
    w.remove_source("B")
    assert w.comparison == {}


def test_widget_compares_a_live_model_with_its_checkpoint(run):
    prefixes, model = run
    before = models.values(model)
    w = cw.CheckpointWidget(model, prefixes[0])
    table = w.compare().set_index("path")
    assert w.comparison["a"] == "model" and w.comparison["b"] == "A"
    for path in HEAD + BACKBONE:
        live = next(v for v in model.weights if v.path.endswith(_keras_name(path)))
        want = np.array_equal(live.numpy(), stored(prefixes[0], path + ATTR))
        assert table.loc[path.removeprefix("model/"), "status"] == ("same" if want else "changed")
    assert {table.loc[p.removeprefix("model/"), "status"] for p in HEAD} == {"changed"}
    for value, after in zip(before, models.values(model)):
        assert np.array_equal(value, after)  # comparing reads, never writes
    _, stats = w.overlay("head/bias")
    assert list(stats["side"]) == ["model", "A", "A - model"]


def _keras_name(path):
    layer = {"head": "head", "1": "d1", "2": "d2"}[path.split("/")[-2]]
    return f"{layer}/{'kernel' if path.endswith('_kernel') else 'bias'}"


def test_two_files_sharing_nothing_say_so(run, keras_files):
    prefixes, _ = run
    directory, _, _ = keras_files
    w = cw.CheckpointWidget([prefixes[-1], directory / "a.weights.h5"])
    assert [s["label"] for s in w.sources] == ["A", "B"]
    send(w, {"type": "compare"})  # the Compare view opens: a job in the background
    wait_until_idle(w)
    assert w.error.startswith("NothingInCommonError:") and "share no variable path" in w.error
    assert w.comparison == {}
    with pytest.raises(cw.NothingInCommonError, match="share no variable path"):
        w.compare()
