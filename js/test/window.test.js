import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTree, decodeColumns, matches, matchingIds, restoredRow, visibleRows } from "../src/model/tree.js";
import { MAX_ROWS, rowWindow } from "../src/model/window.js";

/** Column-oriented rows as the kernel sends them (see ckpt_widgets' tree rows). */
function columns(rows) {
  const keys = [
    "id",
    "parent",
    "kind",
    "label",
    "title",
    "status",
    "model_shape",
    "ckpt_shape",
    "dtype",
    "nbytes",
    "layer",
    "group",
  ];
  const out = Object.fromEntries(keys.map((k) => [k, []]));
  for (const row of rows) {
    const full = {
      title: row.id,
      status: "match",
      model_shape: null,
      ckpt_shape: null,
      dtype: "",
      nbytes: 0,
      layer: "",
      group: "model",
      label: row.id.split("/").pop(),
      ...row,
    };
    for (const k of keys) out[k].push(full[k]);
  }
  return out;
}

const TREE = buildTree(
  columns([
    { id: "backbone", parent: "", kind: "module" },
    { id: "backbone/conv1", parent: "backbone", kind: "module", layer: "conv1" },
    { id: "backbone/conv1/kernel", parent: "backbone/conv1", kind: "variable" },
    { id: "backbone/conv1/bias", parent: "backbone/conv1", kind: "variable", status: "missing" },
    { id: "head", parent: "", kind: "module" },
    { id: "head/kernel", parent: "head", kind: "variable", status: "shape_mismatch" },
  ]),
);
const ids = (rows) => rows.map(([node, depth]) => `${depth}:${node.id}`);

test("rowWindow draws at most the limit and counts the rest", () => {
  const rows = Array.from({ length: 10 }, (_, i) => i);
  assert.deepEqual(rowWindow(rows, 4), { shown: [0, 1, 2, 3], more: 6 });
  assert.deepEqual(rowWindow(rows, 10), { shown: rows, more: 0 });
  assert.deepEqual(rowWindow([], 4), { shown: [], more: 0 });
  const big = Array.from({ length: MAX_ROWS + 1 }, (_, i) => i);
  assert.equal(rowWindow(big).shown.length, MAX_ROWS);
  assert.equal(rowWindow(big).more, 1);
});

test("buildTree links parents, children and each module's variables", () => {
  assert.deepEqual(
    TREE.roots.map((n) => n.id),
    ["backbone", "head"],
  );
  const backbone = TREE.index.get("backbone");
  assert.deepEqual(
    backbone.vars.map((n) => n.id),
    ["backbone/conv1/kernel", "backbone/conv1/bias"],
  );
  assert.equal(TREE.index.get("backbone/conv1/kernel").parentNode.id, "backbone/conv1");
});

test("visibleRows shows expanded modules only, with depths", () => {
  const view = { expanded: new Set(["backbone"]), filter: "", chip: null };
  assert.deepEqual(ids(visibleRows(TREE, view)), ["0:backbone", "1:backbone/conv1", "0:head"]);
  view.expanded = new Set();
  assert.deepEqual(ids(visibleRows(TREE, view)), ["0:backbone", "0:head"]);
});

test("a filter shows each match with its ancestors and its variables, open", () => {
  const view = { expanded: new Set(), filter: "conv1", chip: null };
  assert.deepEqual(ids(visibleRows(TREE, view)), [
    "0:backbone",
    "1:backbone/conv1",
    "2:backbone/conv1/kernel",
    "2:backbone/conv1/bias",
  ]);
  view.filter = "CONV*"; // a glob, case ignored
  assert.equal(visibleRows(TREE, view).length, 4);
  view.filter = "";
  view.chip = "shape_mismatch";
  assert.deepEqual(ids(visibleRows(TREE, view)), ["0:head", "1:head/kernel"]);
});

test("matches tries label, title, id and layer", () => {
  const node = { label: "kernel", title: "t", id: "a/b", layer: "dense" };
  assert.ok(matches(node, "dens", null));
  assert.ok(matches(node, "a/?", null));
  assert.ok(!matches(node, "conv", null));
});

test("matchingIds leaves out rows under one already chosen", () => {
  const tickable = new Set(["backbone", "backbone/conv1", "backbone/conv1/kernel", "head"]);
  assert.deepEqual(matchingIds(TREE, tickable, "", null), ["backbone", "head"]);
  assert.deepEqual(matchingIds(TREE, tickable, "kernel", null), ["backbone/conv1/kernel"]);
});

test("restoredRow marks a layer only when all its variables were restored", () => {
  const conv1 = TREE.index.get("backbone/conv1");
  assert.ok(!restoredRow(conv1, new Set(["backbone/conv1/kernel"])));
  assert.ok(restoredRow(conv1, new Set(["backbone/conv1/kernel", "backbone/conv1/bias"])));
  assert.ok(!restoredRow(conv1, new Set()));
});

test("decodeColumns reads the kernel's JSON text and builds the same tree as the object", () => {
  const cols = columns([
    { id: "backbone", parent: "", kind: "module" },
    { id: "backbone/kernel", parent: "backbone", kind: "variable", model_shape: [3, 2], nbytes: 24 },
  ]);
  const decoded = decodeColumns(JSON.stringify(cols));
  assert.deepEqual(decoded, cols);
  assert.deepEqual(decodeColumns(cols), cols); // an object passes through
  assert.deepEqual(decodeColumns(""), {});
  assert.deepEqual(decodeColumns(null), {});
  const tree = buildTree(decoded);
  assert.deepEqual(
    tree.nodes.map((n) => [n.id, n.parentNode?.id ?? null, n.modelShape]),
    [
      ["backbone", null, null],
      ["backbone/kernel", "backbone", [3, 2]],
    ],
  );
  assert.deepEqual(
    tree.index.get("backbone").vars.map((v) => v.id),
    ["backbone/kernel"],
  );
});
