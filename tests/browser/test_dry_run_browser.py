"""The Dry run button in a real JupyterLab: it shows the plan and the code, the kernel's
model stays unchanged, then Restore restores exactly what the plan listed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.jupyter import open_notebook, run_all_cells, run_cell, write_notebook

pytestmark = pytest.mark.browser

SETUP = """\
import os, tempfile
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import ckpt_widgets as cw
from ckpt_widgets.demo import make_demo

model, checkpoint = make_demo(tempfile.mkdtemp())
before = [v.numpy().copy() for v in model.weights]
w = cw.CheckpointWidget(model, checkpoint)
w
"""
CHECK = """\
changed = sorted({v.path.split("/")[-2] for v, b in zip(model.weights, before)
                  if not np.array_equal(v.numpy(), b)})
print("CHANGED", changed, "PARAMS", sum(int(np.prod(v.shape)) for v in model.backbone.weights))
"""


def row(widget, path):
    return widget.locator(f'[data-testid="ckpt-row"][data-path="{path}"]')


def test_dry_run_shows_the_plan_then_restore_does_it(jupyter_server, page):
    write_notebook(jupyter_server.root_dir, "dry.ipynb", [SETUP, CHECK])
    open_notebook(page, jupyter_server, "dry.ipynb")
    run_all_cells(page, timeout=300)
    widget = page.get_by_test_id("ckpt-widget")
    expect(widget).to_be_visible()
    expect(row(widget, "backbone").get_by_test_id("params")).to_have_text("1,424")
    expect(widget.get_by_test_id("model-size")).to_contain_text("1,509 parameters")
    expect(widget.get_by_test_id("dry-run-button")).to_be_disabled()

    row(widget, "backbone").locator("input[type=checkbox]").check()
    widget.get_by_test_id("dry-run-button").click()
    plan = widget.get_by_test_id("plan")
    expect(plan.get_by_test_id("plan-summary")).to_contain_text(
        "Would restore 8 variables (1,424 parameters"
    )
    layers = plan.get_by_test_id("plan-layer")
    expect(layers).to_have_count(3)
    assert [layers.nth(i).get_attribute("data-layer") for i in range(3)] == [
        "conv1",
        "bn1",
        "conv2",
    ]
    expect(plan.get_by_test_id("plan-code")).to_contain_text(
        "tf.train.Checkpoint(model={'backbone': model.backbone})"
    )
    assert "CHANGED [] PARAMS 1424" in run_cell(page, 1)

    widget.get_by_test_id("restore-button").click()
    expect(widget.get_by_test_id("restore-result")).to_contain_text("Restored 8 variables")
    expect(plan).to_have_count(0)
    assert "CHANGED ['bn1', 'conv1', 'conv2']" in run_cell(page, 1)
