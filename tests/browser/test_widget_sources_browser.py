"""Two checkpoints in one widget, in JupyterLab and Chromium: add one by typing its path,
tick a layer under each, restore, and check the kernel's model bit for bit."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.jupyter import open_notebook, run_all_cells, run_cell, write_notebook

pytestmark = pytest.mark.browser

BUILD = """\
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import keras
import numpy as np
import tensorflow as tf
import ckpt_widgets as cw


def cnn(seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((8, 8, 3)),
        keras.layers.Conv2D(4, 3, name="conv1"),
        keras.layers.Conv2D(4, 3, name="conv2"),
        keras.layers.Flatten(),
        keras.layers.Dense(2, name="top"),
    ])


a, b, model = cnn(1), cnn(2), cnn(3)
tf.train.Checkpoint(model=a).write("two/a")
tf.train.Checkpoint(model=b).write("two/b")
top_before = [v.numpy().copy() for v in model.get_layer("top").weights]
w = cw.CheckpointWidget(model, "two/a")
"""
SETUP = BUILD + "w\n"
CHECK = """\
def same(layer, source):
    pairs = zip(model.get_layer(layer).weights, source.get_layer(layer).weights)
    return all(np.array_equal(ours.numpy(), theirs.numpy()) for ours, theirs in pairs)


top_kept = all(
    np.array_equal(v.numpy(), old) for v, old in zip(model.get_layer("top").weights, top_before)
)
print("CONV1_FROM_A", same("conv1", a), "CONV2_FROM_B", same("conv2", b), "TOP_KEPT", top_kept)
print("REPORT", type(w.report).__name__, w.selection)
"""
CONV1, CONV2 = "_functional/_operations/1", "_functional/_operations/2"


def row(widget, path):
    return widget.locator(f'[data-testid="ckpt-row"][data-path="{path}"]')


def tab(widget, label):
    return widget.locator(f'[data-testid="source-tab"][data-source="{label}"]')


def show(widget, label):
    """Click a source tab and wait until the kernel made that source active."""
    tab(widget, label).click()
    expect(tab(widget, label)).to_have_attribute("aria-selected", "true")


def test_layers_from_two_checkpoints_by_clicking(jupyter_server, page):
    write_notebook(jupyter_server.root_dir, "two.ipynb", [SETUP, CHECK])
    open_notebook(page, jupyter_server, "two.ipynb")
    run_all_cells(page)
    widget = page.get_by_test_id("ckpt-widget")
    expect(widget.get_by_test_id("source-tab")).to_have_count(1)

    path = widget.get_by_test_id("add-source-input")
    path.fill("two/nowhere")
    path.press("Enter")
    expect(widget.get_by_test_id("error")).to_contain_text("No checkpoint at")
    expect(widget.get_by_test_id("source-tab")).to_have_count(1)
    path.fill("two/b")
    widget.get_by_test_id("add-source-button").click()
    expect(tab(widget, "B")).to_have_attribute("aria-selected", "true")
    expect(widget.get_by_test_id("error")).to_have_count(0)
    expect(path).to_have_value("")

    show(widget, "A")
    row(widget, CONV1).locator("input[type=checkbox]").check()
    expect(row(widget, CONV1)).to_have_attribute("data-source", "A")
    show(widget, "B")
    expect(row(widget, CONV1)).to_have_attribute("data-source", "A")  # the badge stays
    expect(row(widget, CONV1).locator(".ckw-source")).to_have_text("A")
    expect(row(widget, CONV1).locator("input[type=checkbox]")).not_to_be_checked()
    row(widget, CONV2).locator("input[type=checkbox]").check()
    expect(row(widget, CONV2)).to_have_attribute("data-source", "B")
    expect(tab(widget, "A")).to_contain_text("2 ticked")

    restore = widget.get_by_test_id("restore-button")
    expect(restore).to_have_text("Restore 4 variables from 2 checkpoints")
    restore.click()
    result = widget.get_by_test_id("restore-result")
    expect(result).to_contain_text("Restored 4 variables")
    expect(result).to_contain_text("from 2 checkpoints")
    output = run_cell(page, 1)
    assert "CONV1_FROM_A True CONV2_FROM_B True TOP_KEPT True" in output
    assert "REPORT CombinedReport" in output

    widget.get_by_test_id("show-code").click()
    expect(widget.get_by_test_id("restore-code")).to_contain_text("two/a")
    expect(widget.get_by_test_id("restore-code")).to_contain_text("two/b")
    widget.get_by_test_id("undo-button").click()
    expect(result).to_contain_text("Undone")
    assert "CONV1_FROM_A False CONV2_FROM_B False TOP_KEPT True" in run_cell(page, 1)


def test_ticking_under_b_moves_a_layer_ticked_under_a(jupyter_server, page):
    """Then a checkpoint added by mistake is removed with its tab's × button."""
    setup = BUILD + 'tf.train.Checkpoint(model=cnn(4)).write("two/c")\nw.add_source("two/b")\nw\n'
    write_notebook(jupyter_server.root_dir, "move.ipynb", [setup, CHECK])
    open_notebook(page, jupyter_server, "move.ipynb")
    run_all_cells(page)
    widget = page.get_by_test_id("ckpt-widget")
    show(widget, "A")
    row(widget, CONV1).locator("input[type=checkbox]").check()
    show(widget, "B")
    expect(row(widget, CONV1)).to_have_attribute("data-source", "A")
    row(widget, CONV1).locator("input[type=checkbox]").check()
    expect(row(widget, CONV1)).to_have_attribute("data-source", "B")
    expect(row(widget, CONV1).locator(".ckw-source")).to_have_count(0)

    widget.get_by_test_id("add-source-input").fill("two/c")
    widget.get_by_test_id("add-source-input").press("Enter")
    expect(tab(widget, "C")).to_have_attribute("aria-selected", "true")
    expect(widget.get_by_test_id("remove-source")).to_have_count(3)
    widget.get_by_role("button", name="remove checkpoint C").click()
    expect(widget.get_by_test_id("source-tab")).to_have_count(2)
    expect(tab(widget, "A")).to_have_attribute("aria-selected", "true")
    expect(tab(widget, "A")).to_be_focused()  # the tab that became active
    assert f"{{'A': [], 'B': ['{CONV1}']}}" in run_cell(page, 1)


SELECT = 'w.selection = {"A": ["conv1", "conv2"], "B": ["top"]}  # Keras layer names\n'
CHECK_PYTHON_MADE = """\
print("CONV1_FROM_A", same("conv1", a), "CONV2_FROM_A", same("conv2", a),
      "TOP_FROM_B", same("top", b))
print("SELECTION", w.selection)
"""
TOP = "_functional/_operations/4"


def test_a_selection_set_in_python_is_ticked_counted_and_restored(jupyter_server, page):
    """What is ticked, the count on the button and what Restore does are one state."""
    setup = BUILD + 'w.add_source("two/b")\nw\n'
    check = CHECK.split("\n\n\ntop_kept")[0] + "\n" + CHECK_PYTHON_MADE
    write_notebook(jupyter_server.root_dir, "python.ipynb", [setup, SELECT, check])
    open_notebook(page, jupyter_server, "python.ipynb")
    run_cell(page, 0)
    widget = page.get_by_test_id("ckpt-widget")
    expect(tab(widget, "B")).to_have_attribute("aria-selected", "true")
    restore = widget.get_by_test_id("restore-button")
    expect(restore).to_have_text("Restore 0 variables")
    expect(restore).to_be_disabled()
    run_cell(page, 1)
    expect(restore).to_have_text("Restore 6 variables from 2 checkpoints")
    expect(row(widget, TOP).locator("input[type=checkbox]")).to_be_checked()
    for path in (CONV1, CONV2):
        expect(row(widget, path).locator("input[type=checkbox]")).not_to_be_checked()
        expect(row(widget, path)).to_have_attribute("data-source", "A")
    show(widget, "A")
    for path in (CONV1, CONV2):
        expect(row(widget, path).locator("input[type=checkbox]")).to_be_checked()
    expect(row(widget, TOP).locator("input[type=checkbox]")).not_to_be_checked()
    expect(tab(widget, "A")).to_contain_text("4 ticked")
    expect(tab(widget, "B")).to_contain_text("2 ticked")

    restore.click()
    expect(widget.get_by_test_id("restore-result")).to_contain_text("Restored 6 variables")
    output = run_cell(page, 2)
    assert "CONV1_FROM_A True CONV2_FROM_A True TOP_FROM_B True" in output

    show(widget, "B")  # a click on conv2 under B keeps the rest of the Python-made selection
    row(widget, CONV2).locator("input[type=checkbox]").check()
    expect(row(widget, CONV2)).to_have_attribute("data-source", "B")
    expect(restore).to_have_text("Restore 6 variables from 2 checkpoints")
    assert "SELECTION {'A': ['conv1'], 'B': ['top', '" + CONV2 + "']}" in run_cell(page, 2)
