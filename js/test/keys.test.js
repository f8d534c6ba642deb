import assert from "node:assert/strict";
import { test } from "node:test";
import { parentIndex, treeKey } from "../src/model/keys.js";

// backbone (open) > conv1 (shut), kernel; head (shut)
const ROWS = [
  { id: "backbone", depth: 0, module: true, open: true },
  { id: "backbone/conv1", depth: 1, module: true, open: false },
  { id: "backbone/kernel", depth: 1, module: false, open: false },
  { id: "head", depth: 0, module: true, open: false },
];

test("Up and Down move one row, and stop at the ends", () => {
  assert.deepEqual(treeKey("ArrowDown", 0, ROWS), { type: "move", index: 1 });
  assert.deepEqual(treeKey("ArrowUp", 2, ROWS), { type: "move", index: 1 });
  assert.equal(treeKey("ArrowUp", 0, ROWS), null);
  assert.equal(treeKey("ArrowDown", 3, ROWS), null);
});

test("Home and End go to the first and last row", () => {
  assert.deepEqual(treeKey("Home", 2, ROWS), { type: "move", index: 0 });
  assert.deepEqual(treeKey("End", 0, ROWS), { type: "move", index: 3 });
  assert.equal(treeKey("Home", 0, ROWS), null);
});

test("Right opens a shut module, then moves to its first child", () => {
  assert.deepEqual(treeKey("ArrowRight", 1, ROWS), { type: "expand", id: "backbone/conv1" });
  assert.deepEqual(treeKey("ArrowRight", 0, ROWS), { type: "move", index: 1 });
  assert.equal(treeKey("ArrowRight", 2, ROWS), null); // a variable
});

test("Right on an open module without children shown does nothing", () => {
  const rows = [
    { id: "empty", depth: 0, module: true, open: true },
    { id: "next", depth: 0, module: false, open: false },
  ];
  assert.equal(treeKey("ArrowRight", 0, rows), null);
});

test("Left shuts an open module, else moves to the parent", () => {
  assert.deepEqual(treeKey("ArrowLeft", 0, ROWS), { type: "collapse", id: "backbone" });
  assert.deepEqual(treeKey("ArrowLeft", 2, ROWS), { type: "move", index: 0 });
  assert.deepEqual(treeKey("ArrowLeft", 1, ROWS), { type: "move", index: 0 }); // shut module
  assert.equal(treeKey("ArrowLeft", 3, ROWS), null); // top level, shut
});

test("while a filter holds modules open, Left and Right only move", () => {
  const rows = ROWS.map((r) => ({ ...r, open: r.module, fixed: true }));
  assert.deepEqual(treeKey("ArrowLeft", 0, rows), null);
  assert.deepEqual(treeKey("ArrowLeft", 1, rows), { type: "move", index: 0 });
  assert.equal(treeKey("ArrowRight", 1, rows), null); // open, but its children are not the next rows
});

test("Space ticks and Enter previews the focused row", () => {
  assert.deepEqual(treeKey(" ", 2, ROWS), { type: "tick", id: "backbone/kernel" });
  assert.deepEqual(treeKey("Enter", 1, ROWS), { type: "preview", id: "backbone/conv1" });
  assert.equal(treeKey("a", 1, ROWS), null);
  assert.equal(treeKey("ArrowDown", 9, ROWS), null); // no such row
});

test("parentIndex finds the nearest row one level up", () => {
  assert.equal(parentIndex(ROWS, 2), 0);
  assert.equal(parentIndex(ROWS, 0), -1);
});
