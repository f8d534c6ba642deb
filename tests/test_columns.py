"""Tables sent as binary buffers: what the kernel encodes, the front end's decoder reads back.

The decoding is js/src/model/columns.js itself, run in Node on the buffers ipywidgets
separates from the state (laid in one frame at odd byte offsets, as a websocket frame may
hold them); the expected values are the columns the kernel had.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ipywidgets.widgets.widget import _remove_buffers

import ckpt_widgets as cw
from ckpt_widgets.widget.columns import encode_columns
from tests import models
from tests.front_end import send

DECODER = Path(__file__).parent.parent / "js" / "src" / "model" / "columns.js"
NODE_SCRIPT = """
import { readFileSync } from "node:fs";
import { decodeColumns } from %s;
const { state, paths, buffers } = JSON.parse(readFileSync(0, "utf8"));
const parts = buffers.map((b) => Buffer.from(b, "base64"));
let end = 0;
const starts = parts.map((p) => {
  const start = Math.ceil(end / 8) * 8 + 1;
  end = start + p.length;
  return start;
});
const frame = new Uint8Array(end);
parts.forEach((p, i) => frame.set(p, starts[i]));
paths.forEach((path, i) => {
  let obj = state;
  for (const key of path.slice(0, -1)) obj = obj[key];
  obj[path[path.length - 1]] = new DataView(frame.buffer, starts[i], parts[i].length);
});
process.stdout.write(JSON.stringify(Object.fromEntries(
  Object.entries(state).map(([name, table]) => [name, decodeColumns(table)]))));
"""


def front_end_reads(state: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
    """What the front end's ``decodeColumns`` makes of each table in a widget state, sent
    as ipywidgets sends it (the JSON part, the buffers apart)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (the front end's tests need it too)")
    json_part, paths, buffers = _remove_buffers(state)
    message = {
        "state": json_part,
        "paths": paths,
        "buffers": [base64.b64encode(bytes(b)).decode() for b in buffers],
    }
    script = NODE_SCRIPT % json.dumps(DECODER.as_uri())
    done = subprocess.run(
        [node, "--input-type=module", "-e", script],
        input=json.dumps(message),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_every_kind_of_column_round_trips_through_the_front_end():
    n = 300  # over 256 distinct values in "layer": two-byte codes
    table = {
        "id": [f"block{i // 30}/layer{i}" for i in range(n)],
        "name": ["é/ü", "😀/k", "日本", ""] * (n // 4) + [""] * (n % 4),  # UTF-16 != UTF-8
        "title": [f"block{i // 30}/layer{i}" for i in range(n)],  # equal to "id"
        "kind": ["module" if i % 7 == 0 else "variable" for i in range(n)],
        "layer": [f"l{i % 290}" for i in range(n)],
        "nbytes": [i * 8 for i in range(n)],
        "big": [2**40 + i for i in range(n)],  # over int32: sent as float64, still exact
        "ratio": [i / 7 for i in range(n)],
        "shape": [None if i % 3 == 0 else [i, 2] for i in range(n)],
        "flag": [i % 2 == 0 for i in range(n)],  # bools are not numbers: sent as JSON
    }
    encoded = encode_columns(table)
    types = {c["name"]: c["type"] for c in encoded["columns"]}
    assert types == {
        "id": "text", "name": "categories", "title": "same", "kind": "categories",
        "layer": "text", "nbytes": "int32", "big": "float64", "ratio": "float64",
        "shape": "json", "flag": "json",
    }  # fmt: skip
    assert front_end_reads({"rows": encoded})["rows"] == table


def test_text_with_many_distinct_non_ascii_values_round_trips():
    table = {"id": [f"{i}-{'é😀日'[i % 3] * (i % 4)}" for i in range(50)], "n": list(range(50))}
    assert encode_columns(table)["columns"][0]["type"] == "text"
    assert front_end_reads({"rows": encode_columns(table)})["rows"] == table


def test_an_empty_table_is_an_empty_object_in_the_front_end():
    assert front_end_reads({"rows": encode_columns({})})["rows"] == {}
    assert front_end_reads({"rows": encode_columns({"id": [], "n": []})})["rows"] == {
        "id": [],
        "n": [],
    }


def test_the_widget_sends_its_rows_as_buffers_the_front_end_reads_back(net_ckpt):
    """The synced state carries no row as JSON text; the front end reads exactly
    ``w.rows`` and ``w.ckpt_rows`` (both still plain columns in Python)."""
    prefix, _ = net_ckpt
    widget = cw.CheckpointWidget(models.net(head_units=7, seed=60), prefix)
    send(widget, {"type": "checkpoint_rows"})  # the Checkpoint tab opens
    state = widget.get_state(["rows", "ckpt_rows"])
    json_part, _, buffers = _remove_buffers(state)
    assert buffers and "backbone/_functional/_operations/1/_kernel" not in json.dumps(json_part)
    read = front_end_reads(state)
    assert read["rows"] == widget.rows and read["ckpt_rows"] == widget.ckpt_rows
    assert "model/head/bias" in read["ckpt_rows"]["id"]
