"""The Pairs view in JupyterLab and Chromium: a Keras 2 checkpoint (written by ``tf_keras`` in
the kernel) beside a Keras 3 model with two candidate layers; pair one by hand, tick,
restore, and check the kernel's model bit for bit."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.jupyter import open_notebook, run_all_cells, run_cell, write_notebook

pytestmark = pytest.mark.browser

DOCS = Path(__file__).parent.parent.parent / "docs"

SETUP = """\
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import keras
import numpy as np
import tensorflow as tf
import tf_keras  # Keras 2, beside Keras 3 in the same kernel
import ckpt_widgets as cw


def functional(k):
    inputs = k.Input((4,))
    x = k.layers.BatchNormalization()(k.layers.Dense(8, activation="relu")(inputs))
    return k.Model(inputs, k.layers.Dense(3)(x))


def branched(k):
    inputs = k.Input((4,))
    x = k.layers.Add()([k.layers.Dense(8, activation="relu")(inputs), k.layers.Dense(8)(inputs)])
    x = k.layers.BatchNormalization()(x)
    return k.Model(inputs, k.layers.Dense(3)(x))


old = functional(tf_keras)
x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
old.compile(optimizer="adam", loss="mse")
old.fit(x, np.ones((16, 3), "float32"), epochs=2, verbose=0)
path = tf.train.Checkpoint(model=old).write("keras2/ckpt")
model = branched(keras)
before = [v.numpy().copy() for v in model.weights]
w = cw.CheckpointWidget(model, path, align=True)
w
"""
CHECK = """\
def bits(a):
    return np.asarray(a).tobytes()


src = cw.open_checkpoint(path)
second = model.layers[2]
chosen = all(
    bits(v.numpy()) == bits(src.read(f"model/layer_with_weights-0/{name}"))
    for v, name in ((second.kernel, "kernel"), (second.bias, "bias"))
)
first_kept = all(bits(v.numpy()) == bits(b) for v, b in zip(model.layers[1].weights, before[:2]))
restored = len(w.report.restored) if w.report else 0
print("CHOSEN_FROM_FILE", chosen, "FIRST_KEPT", first_kept, "RESTORED", restored)
"""
FIRST, SECOND, NORM, LAST = "_operations/1", "_operations/2", "_operations/4", "_operations/5"
STORED = "model/layer_with_weights-0"


def pair(widget, model_layer):
    return widget.locator(f'[data-testid="pair-row"][data-model-layer="{model_layer}"]')


def test_pair_an_ambiguous_layer_by_hand_and_restore(jupyter_server, page):
    write_notebook(jupyter_server.root_dir, "pairs.ipynb", [SETUP, CHECK])
    open_notebook(page, jupyter_server, "pairs.ipynb")
    run_all_cells(page)
    widget = page.get_by_test_id("ckpt-widget")
    expect(widget.get_by_test_id("align-layers")).to_be_checked()
    widget.get_by_test_id("pairs-tab").click()
    expect(widget.get_by_test_id("pairs-tab")).to_contain_text("2 ambiguous")
    expect(widget.get_by_test_id("pair-row")).to_have_count(4)
    ambiguous = widget.locator('[data-testid="pair-row"][data-paired-by="ambiguous"]')
    expect(ambiguous).to_have_count(2)
    expect(pair(widget, FIRST).locator("input[type=checkbox]")).to_be_disabled()
    expect(pair(widget, NORM)).to_have_attribute("data-ckpt-layer", "model/layer_with_weights-1")
    expect(pair(widget, NORM)).to_contain_text("gamma (8,) + beta (8,)")
    widget.screenshot(path=str(DOCS / "widget-pairs.png"))

    choose = pair(widget, SECOND).get_by_test_id("pair-select")
    choose.focus()  # as a click or Tab does
    choose.select_option(STORED)
    expect(pair(widget, SECOND)).to_have_attribute("data-paired-by", "rename")
    expect(pair(widget, SECOND)).to_have_attribute("data-ckpt-layer", STORED)
    expect(pair(widget, SECOND)).to_contain_text("by hand")
    expect(pair(widget, FIRST)).to_have_attribute("data-paired-by", "unpaired")
    expect(pair(widget, FIRST).locator("input[type=checkbox]")).to_be_disabled()
    expect(pair(widget, SECOND).get_by_test_id("pair-select")).to_be_focused()

    pair(widget, SECOND).locator("input[type=checkbox]").check()
    pair(widget, LAST).locator("input[type=checkbox]").check()
    pair(widget, NORM).focus()
    page.keyboard.press(" ")
    expect(pair(widget, NORM).locator("input[type=checkbox]")).to_be_checked()
    pair(widget, LAST).locator("input[type=checkbox]").uncheck()
    restore = widget.get_by_test_id("restore-button")
    expect(restore).to_have_text("Restore 6 variables")

    widget.get_by_role("tab", name="Model").click()  # the tree shows the same ticks
    tree_row = widget.locator(f'[data-testid="ckpt-row"][data-path="{SECOND}"]')
    expect(tree_row.locator("input[type=checkbox]")).to_be_checked()
    expect(
        widget.locator(f'[data-testid="ckpt-row"][data-path="{LAST}"] input')
    ).not_to_be_checked()
    restore.click()
    expect(widget.get_by_test_id("restore-result")).to_contain_text("Restored 6 variables")
    assert "CHOSEN_FROM_FILE True FIRST_KEPT True RESTORED 6" in run_cell(page, 1)
