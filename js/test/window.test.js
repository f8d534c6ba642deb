import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTree, link, matches, matchingIds, restoredRow, visibleRows } from "../src/model/tree.js";
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

test("buildTree reads each row's columns into its node", () => {
  const tree = buildTree(
    columns([
      { id: "backbone", parent: "", kind: "module" },
      { id: "backbone/kernel", parent: "backbone", kind: "variable", model_shape: [3, 2], nbytes: 24 },
    ]),
  );
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

/** Rows of `blocks` top modules, each of 3 layers of 2 variables, parents first. */
function blockRows(blocks) {
  const rows = [];
  for (let b = 0; b < blocks; b++) {
    rows.push({ id: `block${b}`, parent: "", kind: "module", nbytes: 48 });
    for (let l = 0; l < 3; l++) {
      const layer = `block${b}/layer${l}`;
      rows.push({ id: layer, parent: `block${b}`, kind: "module", layer: `b${b}_l${l}` });
      for (const v of ["kernel", "bias"]) {
        const status = v === "bias" && l === 1 ? "missing" : "match";
        rows.push({ id: `${layer}/${v}`, parent: layer, kind: "variable", status, model_shape: [2], nbytes: 8 });
      }
    }
  }
  return rows;
}

/** Every node as plain data: its fields and its links by id. */
function snapshot(tree) {
  return tree.nodes.map((n) => ({
    id: n.id,
    i: n.i,
    fields: [n.kind, n.label, n.title, n.status, n.modelShape, n.ckptShape, n.dtype, n.nbytes, n.layer, n.group],
    parent: n.parentNode?.id ?? null,
    children: n.children.map((c) => c.id),
    vars: n.vars.map((v) => v.id),
  }));
}

/** The tree as built before it was made lazy: every node, then `link`, in one go. */
function eagerSnapshot(cols) {
  const nodes = cols.id.map((id, i) => ({
    id,
    i,
    kind: cols.kind[i],
    fields: [
      cols.kind[i],
      cols.label[i],
      cols.title[i],
      cols.status[i],
      cols.model_shape[i],
      cols.ckpt_shape[i],
      cols.dtype[i],
      cols.nbytes[i],
      cols.layer[i],
      cols.group[i],
    ],
    parent: cols.parent[i],
    parentNode: null,
    children: [],
    vars: [],
  }));
  link(nodes, new Map(nodes.map((n) => [n.id, n])));
  return nodes.map((n) => ({
    id: n.id,
    i: n.i,
    fields: n.fields,
    parent: n.parentNode?.id ?? null,
    children: n.children.map((c) => c.id),
    vars: n.vars.map((v) => v.id),
  }));
}

test("the first draw makes only the top rows; the rest waits", () => {
  const tree = buildTree(columns(blockRows(10)));
  assert.equal(tree.size, 10 * 10);
  const rows = visibleRows(tree, { expanded: new Set(), filter: "", chip: null });
  assert.deepEqual(
    ids(rows),
    Array.from({ length: 10 }, (_, b) => `0:block${b}`),
  );
  assert.equal(tree.built, null); // nothing below the top rows was made
  assert.equal(tree.made.filter(Boolean).length, 10);
});

test("finish builds the same tree as the eager build, keeping the top rows drawn", () => {
  const cols = columns(blockRows(4));
  const tree = buildTree(cols);
  const roots = [...tree.roots];
  tree.finish();
  assert.deepEqual(snapshot(tree), eagerSnapshot(cols));
  assert.ok(tree.roots.every((node, k) => node === roots[k])); // the same objects
  tree.finish(); // once
  assert.deepEqual(snapshot(tree), eagerSnapshot(cols));
});

test("asking before the rest is built (expand, filter, select, restored) gives the eager answers", () => {
  const cols = columns(blockRows(4));
  const finished = buildTree(cols);
  finished.finish();
  const views = [
    { expanded: new Set(["block1", "block1/layer2"]), filter: "", chip: null },
    { expanded: new Set(), filter: "layer1", chip: null },
    { expanded: new Set(), filter: "", chip: "missing" },
  ];
  for (const view of views) {
    assert.deepEqual(ids(visibleRows(buildTree(cols), view)), ids(visibleRows(finished, view)));
  }
  const tickable = new Set(["block0", "block2/layer1", "block2/layer1/kernel"]);
  assert.deepEqual(matchingIds(buildTree(cols), tickable, "", null), matchingIds(finished, tickable, "", null));
  const restored = new Set(["block3/layer0/kernel", "block3/layer0/bias"]);
  const fresh = buildTree(cols);
  assert.equal(restoredRow(fresh.roots[3], restored), restoredRow(finished.roots[3], restored));
  assert.equal(restoredRow(fresh.index.get("block3/layer0"), restored), true);
  assert.deepEqual(
    buildTree(cols).roots[2].vars.map((v) => v.id),
    finished.roots[2].vars.map((v) => v.id),
  );
});

test("a row whose parent is missing is a top row once the tree is built, as before", () => {
  const cols = columns([
    { id: "a", parent: "", kind: "module" },
    { id: "lost/x", parent: "lost", kind: "variable" },
  ]);
  const tree = buildTree(cols);
  tree.finish();
  assert.deepEqual(snapshot(tree), eagerSnapshot(cols));
  assert.deepEqual(
    tree.roots.map((n) => n.id),
    ["a", "lost/x"],
  );
});
