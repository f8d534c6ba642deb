"""The widget in Jupyter Notebook 7 (the same server, the /notebooks front end)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.jupyter import write_notebook
from tests.browser.test_widget_browser import SETUP

pytestmark = pytest.mark.browser


def test_widget_renders_and_restores_in_notebook_7(jupyter_server, page):
    pytest.importorskip("notebook", minversion="7")
    write_notebook(jupyter_server.root_dir, "nb7.ipynb", [SETUP])
    page.goto(f"{jupyter_server.url}/notebooks/nb7.ipynb?token={jupyter_server.token}")
    cell = page.locator(".jp-CodeCell").first
    expect(cell).to_be_visible(timeout=60_000)
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(
        1, timeout=60_000
    )
    prompt = cell.locator(".jp-InputPrompt")
    # Notebook 7 may drop a keystroke sent while it is still connecting to the kernel:
    # press Run until the prompt shows the cell was taken ("[*]" or a number).
    for _ in range(5):
        prompt.click()
        page.keyboard.press("Control+Enter")
        try:
            expect(prompt).not_to_have_text(re.compile(r"^\[ \]:$"), timeout=10_000)
            break
        except AssertionError:
            continue
    widget = page.get_by_test_id("ckpt-widget")
    expect(widget).to_be_visible(timeout=90_000)
    widget.locator('[data-testid="ckpt-row"][data-path="backbone"] input').check()
    widget.get_by_test_id("restore-button").click()
    expect(widget.get_by_test_id("restore-result")).to_contain_text("Restored 8 variables")
