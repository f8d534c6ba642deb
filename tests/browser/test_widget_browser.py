"""The widget in a real JupyterLab and Chromium: clicks change the kernel's model."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.jupyter import (
    full_height_screenshot,
    open_notebook,
    run_all_cells,
    run_cell,
    write_notebook,
)

pytestmark = pytest.mark.browser

DOCS = Path(__file__).parent.parent.parent / "docs"

SETUP = """\
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np
import ckpt_widgets as cw
from ckpt_widgets.demo import make_demo

model, checkpoint = make_demo("demo")
before = model.backbone.get_layer("conv1").kernel.numpy().copy()
w = cw.CheckpointWidget(model, checkpoint)
w
"""
CHECK = """\
changed = not np.array_equal(model.backbone.get_layer("conv1").kernel.numpy(), before)
print("CHANGED", changed, "SELECTED", w.selected)
"""


@pytest.fixture
def demo(jupyter_server, page):
    write_notebook(jupyter_server.root_dir, "demo.ipynb", [SETUP, CHECK, "pass"])
    open_notebook(page, jupyter_server, "demo.ipynb")
    run_all_cells(page)
    widget = page.get_by_test_id("ckpt-widget")
    expect(widget).to_be_visible()
    return widget


def row(widget, path):
    return widget.locator(f'[data-testid="ckpt-row"][data-path="{path}"]')


def test_tick_restore_check_kernel_undo(demo, page):
    widget = demo
    backbone = row(widget, "backbone")
    expect(backbone).to_have_attribute("data-status", "match")
    expect(row(widget, "head")).to_have_attribute("data-status", "shape_mismatch")
    expect(row(widget, "head/_kernel").locator("input[type=checkbox]")).to_be_disabled()

    backbone.locator("input[type=checkbox]").check()
    conv1 = row(widget, "backbone/_functional/_operations/1")
    expect(conv1.locator("input[type=checkbox]")).to_be_checked()
    widget.get_by_test_id("restore-button").click()
    expect(widget.get_by_test_id("restore-result")).to_contain_text("Restored 8 variables")
    assert "CHANGED True SELECTED ['backbone']" in run_cell(page, 1)

    widget.get_by_test_id("show-code").click()
    code = widget.get_by_test_id("restore-code")
    expect(code).to_contain_text("'backbone': model.backbone")
    expect(code).to_contain_text("expect_partial()")
    copy = widget.get_by_test_id("copy-code")
    copy.click()
    expect(copy).to_have_text(re.compile("Copied|Selected"))

    widget.get_by_test_id("undo-button").click()
    expect(widget.get_by_test_id("restore-result")).to_contain_text("Undone")
    assert "CHANGED False" in run_cell(page, 1)


def test_partial_tick_is_indeterminate_and_syncs(demo, page):
    widget = demo
    row(widget, "backbone/_functional/_operations/1").locator("input[type=checkbox]").check()
    box = row(widget, "backbone").locator("input[type=checkbox]")
    # The tick goes to the kernel and comes back: wait for the drawn answer.
    expect(box).to_have_js_property("indeterminate", True)
    expect(box).not_to_be_checked()
    assert "SELECTED ['backbone/_functional/_operations/1']" in run_cell(page, 1)


def test_histogram_and_screenshot(demo, page):
    widget = demo
    row(widget, "backbone/_functional/_operations/1").locator(".ckw-label").click()
    histogram = widget.get_by_test_id("histogram")
    expect(histogram.locator("img")).to_be_visible()
    expect(histogram.locator("table")).to_contain_text("checkpoint")
    widget.locator('[data-testid="ckpt-row"][data-path="backbone"] input').check()
    full_height_screenshot(page, widget, DOCS / "widget.png")


WHITE_SHARE = """img => {
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const context = canvas.getContext("2d");
  context.drawImage(img, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let white = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] > 200 && data[i + 1] > 200 && data[i + 2] > 200) white += 1;
  }
  return white / (data.length / 4);
}"""


@pytest.mark.parametrize("color_scheme", ["dark"])
def test_dark_theme(demo, page, color_scheme):
    widget = demo
    background = widget.evaluate("el => getComputedStyle(el).backgroundColor")
    channels = [int(c) for c in background[background.index("(") + 1 : -1].split(",")[:3]]
    assert sum(channels) < 3 * 100, background  # JupyterLab's dark layout colour
    widget.locator('[data-testid="ckpt-row"][data-path="backbone"] input').check()
    row(widget, "backbone").locator(".ckw-label").click()  # a layer: several plots
    histogram = widget.get_by_test_id("histogram")
    image = histogram.get_by_test_id("histogram-image")
    expect(image).to_be_visible(timeout=30_000)  # six plots: slow on a loaded machine
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    assert image.evaluate(WHITE_SHARE) < 0.05  # not a white rectangle in the dark theme
    # sharp on HiDPI: 2 image pixels per CSS pixel
    assert image.evaluate("img => img.naturalWidth / img.getBoundingClientRect().width") >= 1.9
    stats = histogram.get_by_test_id("stats")
    expect(stats).to_contain_text("max |diff|")
    assert stats.evaluate("t => t.scrollWidth") <= histogram.evaluate("p => p.clientWidth")
    full_height_screenshot(page, widget, DOCS / "widget-dark.png")
    image.click()  # enlarge, then shrink
    expect(widget.get_by_test_id("histogram-enlarged")).to_be_visible()
    widget.get_by_test_id("histogram-image").click()
    expect(widget.get_by_test_id("histogram-enlarged")).to_have_count(0)


def test_preview_follows_restore_and_undo(demo, page):
    widget = demo
    conv1 = "backbone/_functional/_operations/1"
    row(widget, conv1).locator(".ckw-label").click()
    image = widget.get_by_test_id("histogram-image")
    expect(image).to_be_visible()
    before = image.get_attribute("src")
    row(widget, "backbone").locator("input[type=checkbox]").check()
    widget.get_by_test_id("restore-button").click()
    expect(widget.get_by_test_id("restore-result")).to_contain_text("Restored 8 variables")
    expect(image).not_to_have_attribute("src", before)  # drawn again with restored values
    expect(row(widget, conv1).get_by_test_id("restored-badge")).to_be_visible()
    expect(row(widget, "head").get_by_test_id("restored-badge")).to_have_count(0)
    assert "CHANGED True" in run_cell(page, 1)
    after = image.get_attribute("src")
    widget.get_by_test_id("undo-button").click()
    expect(widget.get_by_test_id("restore-result")).to_contain_text("Undone")
    expect(image).not_to_have_attribute("src", after)
    expect(widget.get_by_test_id("restored-badge")).to_have_count(0)
    assert "CHANGED False" in run_cell(page, 1)


def test_log_counts_and_an_empty_filter(demo, page):
    widget = demo
    row(widget, "backbone/_functional/_operations/1").locator(".ckw-label").click()
    image = widget.get_by_test_id("histogram-image")
    expect(image).to_be_visible()
    before = image.get_attribute("src")
    widget.get_by_test_id("log-counts").check()
    expect(image).not_to_have_attribute("src", before)
    widget.locator(".ckw-filter").fill("no_such_thing")
    expect(widget.get_by_test_id("no-rows")).to_contain_text("No row matches 'no_such_thing'")


def test_kernel_errors_are_shown(jupyter_server, page):
    write_notebook(
        jupyter_server.root_dir,
        "errors.ipynb",
        [SETUP, CHECK, 'w.selected = ["no_such_layer"]'],
    )
    open_notebook(page, jupyter_server, "errors.ipynb")
    run_all_cells(page)  # the kernel ticks a name the model does not have
    widget = page.get_by_test_id("ckpt-widget")
    expect(widget.get_by_test_id("error")).to_contain_text("no_such_layer")
    expect(widget.get_by_test_id("restore-button")).to_have_text("Restore 0 variables")
    expect(widget.get_by_test_id("restore-button")).to_be_disabled()
    assert "CHANGED False" in run_cell(page, 1)


def test_keyboard_treegrid(demo, page):
    """One Tab stop into the tree; arrows move and expand, Space ticks, Enter previews."""
    widget = demo
    conv1 = "backbone/_functional/_operations/1"
    kernel = f"{conv1}/_kernel"
    expect(widget.get_by_role("treegrid")).to_have_count(1)
    expect(widget.locator('[data-testid="ckpt-row"][tabindex="0"]')).to_have_count(1)
    widget.locator(".ckw-rules-panel summary").focus()
    page.keyboard.press("Tab")  # into the tree: its first row
    expect(row(widget, "backbone")).to_be_focused()
    expect(row(widget, "backbone")).to_have_attribute("aria-level", "1")
    page.keyboard.press("ArrowDown")
    expect(row(widget, conv1)).to_be_focused()
    page.keyboard.press("ArrowLeft")  # collapse
    expect(row(widget, conv1)).to_have_attribute("aria-expanded", "false")
    expect(row(widget, kernel)).to_have_count(0)
    page.keyboard.press("ArrowRight")  # expand
    expect(row(widget, conv1)).to_have_attribute("aria-expanded", "true")
    expect(row(widget, kernel)).to_have_attribute("aria-level", "3")
    page.keyboard.press("ArrowRight")  # to the first child
    expect(row(widget, kernel)).to_be_focused()
    page.keyboard.press(" ")
    expect(row(widget, kernel).locator("input[type=checkbox]")).to_be_checked()
    expect(row(widget, kernel)).to_have_attribute("aria-selected", "true")
    assert f"SELECTED ['{kernel}']" in run_cell(page, 1)
    row(widget, kernel).focus()
    page.keyboard.press("Enter")
    image = widget.get_by_test_id("histogram").locator("img")
    expect(image).to_have_attribute("alt", f"histograms of {kernel}")
    expect(row(widget, kernel)).to_be_focused()
    page.keyboard.press("Tab")  # out of the tree in one press
    assert page.evaluate("() => document.activeElement.dataset.testid") != "ckpt-row"
    page.keyboard.press("Shift+Tab")  # back to the row it left
    expect(row(widget, kernel)).to_be_focused()
    page.keyboard.press("ArrowLeft")  # a variable: to its layer
    expect(row(widget, conv1)).to_be_focused()
    page.keyboard.press("End")
    expect(row(widget, "head/bias")).to_be_focused()
    page.keyboard.press(" ")  # shape differs: not tickable, nothing sent
    page.keyboard.press("Home")
    expect(row(widget, "backbone")).to_be_focused()
    page.keyboard.press(" ")
    expect(row(widget, "backbone").locator("input[type=checkbox]")).to_be_checked()
    assert "'backbone']" in run_cell(page, 1)  # the kernel's selection now holds backbone


def test_quickstart_notebook_in_the_browser(jupyter_server, page):
    notebook = DOCS.parent / "notebooks" / "quickstart.ipynb"
    shutil.copy(notebook, jupyter_server.root_dir / "quickstart.ipynb")
    open_notebook(page, jupyter_server, "quickstart.ipynb")
    run_all_cells(page, timeout=180)
    widget = page.get_by_test_id("ckpt-widget")
    expect(row(widget, "backbone")).to_have_attribute("data-status", "match")
    row(widget, "backbone").locator("input[type=checkbox]").check()
    widget.get_by_test_id("restore-button").click()
    expect(widget.get_by_test_id("restore-result")).to_contain_text("Restored 8 variables")


def test_rename_rules_box(demo, page):
    widget = demo
    widget.locator(".ckw-rules-panel summary").click()
    rules = widget.get_by_test_id("rules")
    rules.fill("([ => broken")
    expect(widget.get_by_test_id("error")).to_contain_text("Rule 1")
    rules.fill("^model/head/ => backbone/")  # pairs nothing that fits: no error
    expect(widget.get_by_test_id("error")).to_have_count(0)
    expect(rules).to_be_focused()


def test_rules_text_survives_a_redisplay(jupyter_server, page):
    cells = [SETUP, "print('RULES', repr(w.rules_text))", "w"]
    write_notebook(jupyter_server.root_dir, "rules.ipynb", cells)
    open_notebook(page, jupyter_server, "rules.ipynb")
    run_cell(page, 0, timeout=180)  # imports TensorFlow and writes the demo checkpoint
    first = page.get_by_test_id("ckpt-widget")
    first.locator(".ckw-rules-panel summary").click()
    first.get_by_test_id("rules").fill("^model/head/ => backbone/")
    expect(first.get_by_test_id("notice")).to_contain_text("pair no variable")  # applied
    assert "RULES '^model/head/ => backbone/'" in run_cell(page, 1)
    run_cell(page, 2)  # the same widget shown again
    second = page.get_by_test_id("ckpt-widget").nth(1)
    expect(second.get_by_test_id("rules")).to_have_value("^model/head/ => backbone/")


def test_checkpoint_view_shows_the_files_tree(demo, page):
    widget = demo
    widget.get_by_role("tab", name="Checkpoint").click()
    rows = widget.get_by_test_id("ckpt-file-row")
    optimizer = widget.locator('[data-testid="ckpt-file-row"][data-path="model/optimizer"]')
    expect(optimizer).to_have_attribute("data-status", "unused")
    expect(optimizer).to_have_attribute("data-kind", "module")
    assert rows.count() > 20
    widget.get_by_test_id("status-chip").and_(widget.locator('[data-status="optimizer"]')).click()
    expect(widget.locator('[data-testid="ckpt-file-row"][data-kind="module"]')).to_have_count(0)


def test_pair_editor_for_an_unmatched_variable(demo, page):
    widget = demo
    row(widget, "head/_kernel").locator(".ckw-label").click()
    select = widget.get_by_test_id("pair-select")
    expect(select).to_be_visible()
    select.select_option("model/head/_kernel")
    expect(widget.locator(".ckw-rules-panel summary")).to_contain_text("1 variable paired")
    expect(widget.get_by_test_id("error")).to_have_count(0)


OTHER_MODEL = """\
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
import tensorflow as tf
import ckpt_widgets as cw
from ckpt_widgets.demo import make_demo

model, _ = make_demo("demo")
other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5), keras.layers.Dense(2)])
prefix = tf.train.Checkpoint(model=other).write("other/ckpt")
w = cw.CheckpointWidget(model, prefix)
w
"""


def test_nothing_matches_says_what_to_try(jupyter_server, page):
    write_notebook(
        jupyter_server.root_dir, "other.ipynb", [OTHER_MODEL, 'print("ALIGNED", w.aligned)']
    )
    open_notebook(page, jupyter_server, "other.ipynb")
    run_all_cells(page)
    widget = page.get_by_test_id("ckpt-widget")
    hint = widget.get_by_test_id("hint")
    expect(hint).to_contain_text("None of the model's")
    expect(hint).to_contain_text("Align layers")
    assert "ALIGNED False" in run_cell(page, 1)
    hint.get_by_test_id("hint-align").click()
    expect(widget.get_by_test_id("align-layers")).to_be_checked()
    assert "ALIGNED True" in run_cell(page, 1)
