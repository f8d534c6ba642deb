"""Every notebook in notebooks/ runs top to bottom."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.notebook

ENDS_WITH_THE_WIDGET = {
    "legacy_tf1", "widening_a_layer", "transfer_learning", "keras2_to_keras3", "two_checkpoints",
}  # fmt: skip
WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    stderr = [
        output["text"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("name") == "stderr"
    ]
    assert not stderr  # e.g. TensorFlow's start-up lines
    if path.stem in ENDS_WITH_THE_WIDGET:
        last = [c for c in notebook.cells if c.cell_type == "code"][-1]
        assert any(WIDGET in output.get("data", {}) for output in last.outputs)
    assert not list(tmp_path.iterdir())  # checkpoints go to a temporary folder
