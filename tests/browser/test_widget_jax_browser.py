"""The widget in JupyterLab with a kernel on Keras's JAX backend: a checkpoint written
by the TensorFlow backend (in the test process), the backbone ticked by a click, restored,
and the kernel's values checked against TensorFlow's reader bit for bit."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import models
from tests.browser import kernel
from tests.browser.jupyter import open_notebook, run_cell, write_notebook

pytestmark = pytest.mark.browser

SETUP = (
    kernel.imports(backend="jax", log_level=3)
    + kernel.NET
    + """\
model = Net()
model(np.zeros((1, 2), "float32"))
head_before = [np.array(v) for v in model.head.weights]
print("BACKEND", keras.backend.backend())
w = cw.CheckpointWidget(model, "jax/ckpt")
w
"""
)
CHECK = """\
reader = tf.train.load_checkpoint("jax/ckpt")
keys = {n: n + "/.ATTRIBUTES/VARIABLE_VALUE" for n in (
    "model/backbone/_functional/_operations/1/_kernel",
    "model/backbone/_functional/_operations/1/bias",
    "model/backbone/_functional/_operations/2/_kernel",
    "model/backbone/_functional/_operations/2/bias",
)}
live = [model.backbone.layers[0].kernel, model.backbone.layers[0].bias,
        model.backbone.layers[1].kernel, model.backbone.layers[1].bias]
same = all(np.array_equal(np.array(v), reader.get_tensor(k)) for v, k in zip(live, keys.values()))
kept = all(np.array_equal(np.array(v), b) for v, b in zip(model.head.weights, head_before))
print("BACKBONE_FROM_FILE", same, "HEAD_KEPT", kept)
"""


def test_widget_restores_a_tensorflow_checkpoint_into_a_jax_model(jupyter_server, page, tf):
    pytest.importorskip("jax")
    writer = models.net(head_units=3, seed=5)
    tf.train.Checkpoint(model=writer).write(str(jupyter_server.root_dir / "jax" / "ckpt"))
    write_notebook(jupyter_server.root_dir, "jax.ipynb", [SETUP, CHECK])
    open_notebook(page, jupyter_server, "jax.ipynb")
    assert "BACKEND jax" in run_cell(page, 0, timeout=240)
    widget = page.get_by_test_id("ckpt-widget")
    backbone = widget.locator('[data-testid="ckpt-row"][data-path="backbone"]')
    expect(backbone).to_have_attribute("data-status", "match")
    backbone.locator("input[type=checkbox]").check()
    expect(widget.get_by_test_id("restore-button")).to_contain_text("Restore 4 variables")
    widget.get_by_test_id("restore-button").click()
    expect(widget.get_by_test_id("restore-result")).to_contain_text("Restored 4 variables")
    assert "BACKBONE_FROM_FILE True HEAD_KEPT True" in run_cell(page, 1)
