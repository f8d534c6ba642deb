"""Names people read, in a real JupyterLab and Chromium: the tree shows the attribute names
the model's code sets (with Keras's names beside them), the Checkpoint tab labels optimizer
slots by their weight and slot, and a click still ticks the row the kernel expects.
Expected names are printed by the kernel from Keras (attribute names, ``layer.name``,
the optimizer's own lists), never from ckpt_widgets."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.browser.jupyter import open_notebook, run_all_cells, run_cell, write_notebook

pytestmark = pytest.mark.browser

SETUP = """\
import os, json
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, keras, tensorflow as tf
import ckpt_widgets as cw

class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.encoder = keras.Sequential(
            [keras.layers.Dense(4, name="d1"), keras.layers.Dense(3, name="d2")]
        )
        self.head = keras.layers.Dense(2, name="out")
    def call(self, x):
        return self.head(self.encoder(x))

trained = Net()
trained.compile("adam", "mse")
trained.fit(np.ones((8, 5), "float32"), np.zeros((8, 2), "float32"), epochs=1, verbose=0)
prefix = tf.train.Checkpoint(model=trained).write("names/ckpt")
model = Net()
model(np.zeros((1, 5), "float32"))
w = cw.CheckpointWidget(model, prefix)
w
"""
FACTS = """\
opt = trained.optimizer
d1 = trained.encoder.layers[0]
k = [id(v) for v in opt.variables].index(id(opt._velocities[0]))
assert opt._trainable_variables[0] is d1.kernel
print("FACTS", json.dumps({
    "keras_name": model.encoder.name,
    "slot_path": f"model/optimizer/_variables/{k}",
    "slot_label": f"{opt.name} velocity of encoder/{d1.name}/{d1.kernel.name}",
}))
"""
CHECK = """print("SELECTED", json.dumps(w.selected))"""


def facts(page) -> dict:
    out = run_cell(page, 1)
    return json.loads(out.split("FACTS", 1)[1].strip().splitlines()[0])


def test_attribute_names_and_optimizer_slot_labels(jupyter_server, page):
    write_notebook(jupyter_server.root_dir, "names.ipynb", [SETUP, FACTS, CHECK])
    open_notebook(page, jupyter_server, "names.ipynb")
    run_all_cells(page)
    widget = page.get_by_test_id("ckpt-widget")
    expect(widget).to_be_visible()
    known = facts(page)

    encoder = widget.locator('[data-testid="ckpt-row"][data-path="encoder"]')
    expect(encoder.locator(".ckw-label")).to_have_text("encoder")  # what the code says
    expect(encoder.get_by_test_id("keras-name")).to_have_text(known["keras_name"])
    d1 = widget.locator('[data-testid="ckpt-row"][data-path="encoder/_functional/_operations/1"]')
    expect(d1.locator(".ckw-label")).to_have_text("d1")
    expect(d1.locator(".ckw-label")).to_have_attribute(
        "title", "encoder/_functional/_operations/1 — show histograms"
    )

    d1.locator("input[type=checkbox]").check()
    expect(d1.locator("input[type=checkbox]")).to_be_checked()
    selected = run_cell(page, 2).split("SELECTED", 1)[1].strip().splitlines()[0]
    assert json.loads(selected) == ["encoder/_functional/_operations/1"]

    widget.get_by_role("tab", name="Checkpoint").click()
    slot = widget.locator(f'[data-testid="ckpt-file-row"][data-path="{known["slot_path"]}"]')
    expect(slot.locator(".ckw-name")).to_have_text(known["slot_label"])
    expect(slot.locator(".ckw-name")).to_have_attribute(
        "title", f"{known['slot_path']} ({known['slot_path']}/.ATTRIBUTES/VARIABLE_VALUE)"
    )
