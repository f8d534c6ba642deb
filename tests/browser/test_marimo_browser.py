"""The widget in a real marimo server (``marimo run``) in Chromium: the tree renders,
ticking and Restore change the kernel's model, the preview stays inside the widget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.jupyter import free_port

pytestmark = pytest.mark.browser

APP = """\
import marimo

app = marimo.App()


@app.cell
def _():
    import json
    import os

    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import marimo as mo
    import numpy as np

    import ckpt_widgets as cw
    from ckpt_widgets.demo import make_demo

    model, checkpoint = make_demo(os.environ["CKW_DEMO_DIR"])
    before = model.backbone.get_layer("conv1").kernel.numpy().copy()
    w = cw.CheckpointWidget(model, checkpoint)

    def _write(change):
        kernel = model.backbone.get_layer("conv1").kernel.numpy()
        state = {"changed": not np.array_equal(kernel, before), "selected": w.selected}
        with open(os.environ["CKW_OUT"], "w") as f:
            json.dump(state, f)

    w.observe(_write, names="result")  # the kernel's state after a click, for the test
    mo.ui.anywidget(w)
    return


if __name__ == "__main__":
    app.run()
"""


@pytest.fixture
def marimo_url(tmp_path):
    """``marimo run`` of a one-cell notebook showing ``mo.ui.anywidget(CheckpointWidget)``
    on a free port; stopped after the test."""
    pytest.importorskip("marimo")
    (tmp_path / "app.py").write_text(APP)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).parents[2]),
        "CKW_DEMO_DIR": str(tmp_path / "demo"),
        "CKW_OUT": str(tmp_path / "out.json"),
    }
    command = [sys.executable, "-m", "marimo", "run", "app.py", "--headless"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-token"]
    log = (tmp_path / "marimo.log").open("w")
    server = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, server, tmp_path / "marimo.log")
        yield url, tmp_path / "out.json"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


def _wait_until_up(url: str, server: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"marimo exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(1)
    pytest.fail(f"marimo did not answer at {url} within {timeout:.0f} s:\n{log.read_text()}")


def _inside(inner: dict, outer: dict) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


@pytest.mark.parametrize("width", [1400, 900])
def test_widget_in_marimo_restores_and_keeps_the_preview_inside(browser, marimo_url, width):
    url, out = marimo_url
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.goto(url)
        widget = page.get_by_test_id("ckpt-widget")
        expect(widget).to_be_visible(timeout=240_000)
        backbone = widget.locator('[data-testid="ckpt-row"][data-path="backbone"]')
        expect(backbone).to_have_attribute("data-status", "match")

        backbone.locator("button.ckw-label").click()  # the preview: histograms and statistics
        histogram = widget.get_by_test_id("histogram")
        expect(histogram.locator("img")).to_be_visible(timeout=120_000)
        frame = widget.bounding_box()
        for part in (histogram, histogram.locator("img"), histogram.locator("table").first):
            assert _inside(part.bounding_box(), frame), (part, part.bounding_box(), frame)
        assert widget.evaluate("w => w.scrollWidth <= w.clientWidth + 1")  # nothing sticks out

        backbone.locator("input[type=checkbox]").check()
        widget.get_by_test_id("restore-button").click()
        expect(widget.get_by_test_id("restore-result")).to_contain_text(
            "Restored 8 variables", timeout=120_000
        )
        deadline = time.monotonic() + 30
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert json.loads(out.read_text()) == {"changed": True, "selected": ["backbone"]}
    finally:
        context.close()
