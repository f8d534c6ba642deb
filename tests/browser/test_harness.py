"""The browser harness itself: JupyterLab runs notebooks, and widgets render and sync."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.jupyter import (
    cell_output,
    open_notebook,
    run_all_cells,
    run_cell,
    write_notebook,
)

pytestmark = pytest.mark.browser

PROBE_WIDGET = '''\
import anywidget
import traitlets


class W(anywidget.AnyWidget):
    _esm = """
    export default {
      render({ model, el }) {
        const b = document.createElement("button");
        b.dataset.testid = "probe";
        b.textContent = "n=" + model.get("n");
        b.onclick = () => { model.set("n", model.get("n") + 1); model.save_changes(); };
        el.appendChild(b);
        model.on("change:n", () => (b.textContent = "n=" + model.get("n")));
      },
    };
    """
    n = traitlets.Int(0).tag(sync=True)
'''


def test_runs_cells_and_keeps_kernel_state(jupyter_server, page):
    write_notebook(
        jupyter_server.root_dir, "state.ipynb", ["x = 41", "x += 1", 'print("answer", x)']
    )
    open_notebook(page, jupyter_server, "state.ipynb")

    run_all_cells(page)
    assert "answer 42" in cell_output(page, 2)

    assert run_cell(page, 1) == ""
    assert "answer 43" in run_cell(page, 2)


def test_anywidget_renders_and_syncs_to_the_kernel(jupyter_server, page):
    write_notebook(
        jupyter_server.root_dir,
        "widget.ipynb",
        [PROBE_WIDGET, "w = W()\nw", 'print("n is", w.n)'],
    )
    open_notebook(page, jupyter_server, "widget.ipynb")
    run_all_cells(page)
    assert "n is 0" in cell_output(page, 2)

    probe = page.locator("[data-testid=probe]")
    expect(probe).to_have_text("n=0")
    probe.click()
    expect(probe).to_have_text("n=1")

    assert "n is 1" in run_cell(page, 2)
