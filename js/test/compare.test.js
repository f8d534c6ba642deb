// The Compare view's pure parts: the tree from the kernel's rows, sorting by change.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildCompareTree, nextSort, sortedVariables } from "../src/model/compare.js";

const ROWS = {
  id: ["m", "m/a", "m/b", "m/c", "m/d", "s"],
  parent: ["", "m", "m", "m", "m", ""],
  kind: ["module", "variable", "variable", "variable", "variable", "variable"],
  label: ["m", "a", "b", "c", "d", "s"],
  title: ["m", "m/a", "m/b", "m/c", "m/d", "s"],
  status: ["changed", "same", "changed", "only_b", "changed", "changed"],
  layer: ["", "", "", "", "", ""],
  rel_change: [0.5, 0, 0.25, null, "inf", 3],
};

test("the tree keeps the kernel's order and links parents", () => {
  const tree = buildCompareTree(ROWS);
  assert.deepEqual(
    tree.roots.map((n) => n.id),
    ["m", "s"],
  );
  assert.deepEqual(
    tree.index.get("m").vars.map((n) => n.id),
    ["m/a", "m/b", "m/c", "m/d"],
  );
  assert.equal(tree.index.get("m/b").row.rel_change, 0.25);
});

test("variables sort by change, inf first, rows without a value last", () => {
  const tree = buildCompareTree(ROWS);
  const down = sortedVariables(tree, { key: "rel_change", dir: -1 }, "");
  assert.deepEqual(
    down.map((n) => n.id),
    ["m/d", "s", "m/b", "m/a", "m/c"],
  );
  const up = sortedVariables(tree, { key: "rel_change", dir: 1 }, "");
  assert.deepEqual(
    up.map((n) => n.id),
    ["m/a", "m/b", "s", "m/d", "m/c"],
  );
  const filtered = sortedVariables(tree, { key: "rel_change", dir: -1 }, "m/*");
  assert.deepEqual(
    filtered.map((n) => n.id),
    ["m/d", "m/b", "m/a", "m/c"],
  );
});

test("a heading click cycles largest first, smallest first, the tree", () => {
  const first = nextSort(null, "rel_change");
  assert.deepEqual(first, { key: "rel_change", dir: -1 });
  const second = nextSort(first, "rel_change");
  assert.deepEqual(second, { key: "rel_change", dir: 1 });
  assert.equal(nextSort(second, "rel_change"), null);
  assert.deepEqual(nextSort(second, "cosine"), { key: "cosine", dir: -1 });
});
