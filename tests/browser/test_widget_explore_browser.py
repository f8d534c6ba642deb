"""The widget without a model, in a real JupyterLab and Chromium: explore a checkpoint
alone, and compare two checkpoints of a fine-tuning run whose backbone was frozen."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser import kernel
from tests.browser.jupyter import (
    full_height_screenshot,
    open_notebook,
    run_all_cells,
    run_cell,
    write_notebook,
)

pytestmark = pytest.mark.browser

DOCS = Path(__file__).parent.parent.parent / "docs"

RUN = (
    kernel.imports()
    + kernel.NET
    + """\
keras.utils.set_random_seed(11)
model = Net()
model(np.zeros((1, 2), "float32"))
model.backbone.trainable = False
model.compile("adam", "mse")
x = np.random.default_rng(5).standard_normal((16, 2)).astype("float32")
y = np.random.default_rng(6).standard_normal((16, 3)).astype("float32")
manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=model), "{dir}", max_to_keep=None)
prefixes = [manager.save()]
for _ in range(3):
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    prefixes.append(manager.save())

# Expected values, from TensorFlow's reader and numpy (never from ckpt_widgets).
SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
first, last = (tf.train.load_checkpoint(p) for p in (prefixes[0], prefixes[-1]))
shapes = dict(tf.train.list_variables(prefixes[-1]))
stored = {k[: -len(SUFFIX)]: v for k, v in shapes.items() if k.endswith(SUFFIX)}
both = [k for k in stored if first.has_tensor(k + SUFFIX)]
status = {
    k: "same" if np.array_equal(first.get_tensor(k + SUFFIX), last.get_tensor(k + SUFFIX))
    else "changed"
    for k in both
}
rel = {}  # ||b - a|| / ||a||: 0.0 when bit for bit equal (even all zeros), "inf" if a = 0
for k in both:
    a = first.get_tensor(k + SUFFIX).astype(np.float64)
    b = last.get_tensor(k + SUFFIX).astype(np.float64)
    if status[k] == "same":
        rel[k] = 0.0
    elif np.linalg.norm(a) > 0:
        rel[k] = float(np.linalg.norm(b - a) / np.linalg.norm(a))
    else:
        rel[k] = "inf"  # a Dense bias starts at zeros, the step count at 0
"""
)
EXPLORE = (
    RUN
    + """\
w = cw.CheckpointWidget(prefixes[-1])
w
"""
)
COMPARE = (
    RUN
    + """\
w = cw.CheckpointWidget(prefixes[0])
w.add_source(prefixes[-1])
w
"""
)
EXPECTED = """\
print("STATUS", status)
print("REL", rel)
print("HEAD_PARAMS", int(sum(np.prod(v) for k, v in stored.items() if k.startswith("model/head/"))))
"""
KERNEL = """\
shown = w._comparison.labels if w._comparison else None
print("KERNEL", [w.model is None, w.active, (w._shown or {}).get("path"), w.error, shown])
"""
HEAD_KERNEL = "model/head/_kernel"
BACKBONE = "model/backbone/_functional/_operations"


def row(widget, path):
    return widget.locator(f'[data-testid="ckpt-row"][data-path="{path}"]')


def printed(output: str, name: str):
    """A Python literal printed by a cell as ``NAME value``."""
    line = next(line for line in output.splitlines() if line.startswith(name + " "))
    return ast.literal_eval(line[len(name) + 1 :])


def open_widget(jupyter_server, page, name, setup):
    write_notebook(
        jupyter_server.root_dir, f"{name}.ipynb", [setup.replace("{dir}", name), EXPECTED, KERNEL]
    )
    open_notebook(page, jupyter_server, f"{name}.ipynb")
    run_all_cells(page, timeout=240)
    widget = page.get_by_test_id("ckpt-widget")
    expect(widget).to_be_visible()
    return widget


def test_explore_a_checkpoint_without_a_model(jupyter_server, page):
    widget = open_widget(jupyter_server, page, "explore", EXPLORE)
    expect(widget.get_by_test_id("explore-header")).to_contain_text("tf2")
    restore = widget.get_by_test_id("restore-button")
    expect(restore).to_be_disabled()
    expect(restore).to_have_attribute("title", re.compile("No model"))
    head_params = printed(run_cell(page, 1), "HEAD_PARAMS")
    head = row(widget, "model/head")
    expect(head).to_have_attribute("data-kind", "module")
    # Sizes per subtree: the head's parameters and bytes, from TensorFlow's listing.
    expect(head.get_by_test_id("params")).to_have_text(f"{head_params:,}")
    expect(head.get_by_test_id("bytes")).to_have_text(f"{4 * head_params} B")
    expect(row(widget, "model/optimizer")).to_have_attribute("data-status", "optimizer")
    # A group chip filters: only optimizer state is left.
    widget.locator('[data-testid="group-chip"][data-group="optimizer"]').click()
    expect(row(widget, HEAD_KERNEL)).to_have_count(0)
    widget.locator('[data-testid="group-chip"][data-group="optimizer"]').click()
    # A glob in the filter box.
    widget.get_by_label("filter").fill("*bias")
    expect(row(widget, HEAD_KERNEL)).to_have_count(0)
    expect(row(widget, "model/head/bias")).to_be_visible()
    widget.get_by_label("filter").fill("")

    row(widget, HEAD_KERNEL).locator(".ckw-label").click()
    histogram = widget.get_by_test_id("histogram")
    expect(histogram.get_by_test_id("histogram-image")).to_be_visible(timeout=60_000)
    expect(histogram.get_by_test_id("stats")).to_contain_text("checkpoint")
    expect(histogram.get_by_test_id("pair-select")).to_have_count(0)
    assert printed(run_cell(page, 2), "KERNEL") == [True, "A", HEAD_KERNEL, "", None]
    full_height_screenshot(page, widget, DOCS / "widget-explore.png")


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_compare_two_checkpoints_of_a_frozen_backbone_run(jupyter_server, page, color_scheme):
    widget = open_widget(jupyter_server, page, f"compare_{color_scheme}", COMPARE)
    output = run_cell(page, 1)
    status, rel = printed(output, "STATUS"), printed(output, "REL")
    assert {status[f"{BACKBONE}/{i}/{v}"] for i in (1, 2) for v in ("_kernel", "bias")} == {"same"}

    widget.get_by_test_id("compare-tab").click()
    expect(widget.get_by_test_id("compare-chart")).to_be_visible(timeout=60_000)
    for path, want in status.items():
        expect(row(widget, path)).to_have_attribute("data-status", want)
    expect(row(widget, "model/backbone")).to_have_attribute("data-status", "same")
    expect(row(widget, "model/head")).to_have_attribute("data-status", "changed")

    # Sorting by change: the variables in numpy's order of ||b - a|| / ||a||, largest first.
    widget.get_by_test_id("sort-rel_change").click()
    rows = widget.locator('[data-testid="ckpt-row"]')
    rel = {k: float(v) for k, v in rel.items()}  # "inf" -> inf
    moved = sorted((k for k in rel if rel[k] > 0), key=lambda k: -rel[k])
    still = {k for k in rel if rel[k] == 0}
    assert rel["model/head/bias"] == float("inf")  # Dense biases start at zeros
    largest = "|".join(re.escape(k) for k in moved if rel[k] == rel[moved[0]])
    expect(rows.first).to_have_attribute("data-path", re.compile(f"^({largest})$"))
    drawn = rows.evaluate_all("rs => rs.map(r => r.dataset.path)")
    assert set(drawn[: len(moved)]) == set(moved)
    assert [rel[k] for k in drawn[: len(moved)]] == [rel[k] for k in moved]
    assert set(drawn[len(moved) : len(rel)]) == still  # ties keep the tree's order
    widget.get_by_test_id("sort-rel_change").click()  # smallest first
    expect(rows.first).to_have_attribute("data-status", "same")
    widget.get_by_test_id("sort-rel_change").click()  # the tree again
    expect(rows.first).to_have_attribute("data-kind", "module")

    row(widget, HEAD_KERNEL).locator(".ckw-label").click()
    histogram = widget.get_by_test_id("histogram")
    expect(histogram.get_by_test_id("histogram-image")).to_be_visible(timeout=60_000)
    stats = histogram.get_by_test_id("stats")
    expect(stats).to_contain_text("B - A")
    sides = stats.locator(".ckw-stats-side").all_inner_texts()
    assert sides[1:] == ["A", "B", "B - A"]  # a heading, then one row per side
    state = printed(run_cell(page, 2), "KERNEL")
    assert state == [True, "B", None, "", ("A", "B")]
    name = "widget-compare.png" if color_scheme == "light" else "widget-compare-dark.png"
    full_height_screenshot(page, widget, DOCS / name)
