// The Compare view's rows as the front end walks them: the kernel's compare rows as a
// tree, and the same variables sorted by a change column. Pure functions (no DOM).
import { link, matches } from "./tree.js";

/**
 * @typedef {object} CompareNode
 * @property {string} id
 * @property {string} parent
 * @property {string} kind        "module" | "variable"
 * @property {string} label
 * @property {string} title
 * @property {string} status      same | changed | only_a | only_b | shape_changed | dtype_changed
 * @property {string} layer
 * @property {Record<string, any>} row  every column of the kernel's row
 * @property {CompareNode[]} children
 * @property {CompareNode[]} vars
 * @property {CompareNode | null} parentNode
 *
 * @typedef {{ nodes: CompareNode[], index: Map<string, CompareNode>, roots: CompareNode[] }} CompareTree
 * @typedef {{ key: string, dir: number }} Sort  dir -1: largest first
 */

/** The columns a Compare view can be sorted by. */
export const SORT_KEYS = ["rel_change", "max_abs_diff", "cosine"];

/**
 * @param {Record<string, any[]>} columns  the `rows` of the kernel's `comparison`
 * @returns {CompareTree}
 */
export function buildCompareTree(columns) {
  const n = columns?.id ? columns.id.length : 0;
  const names = Object.keys(columns || {});
  /** @type {CompareNode[]} */
  const nodes = [];
  const index = new Map();
  for (let i = 0; i < n; i++) {
    /** @type {Record<string, any>} */
    const row = {};
    for (const name of names) row[name] = columns[name][i];
    const node = {
      id: row.id,
      parent: row.parent,
      kind: row.kind,
      label: row.label,
      title: row.title,
      status: row.status,
      layer: row.layer || "",
      row,
      children: [],
      vars: [],
      parentNode: null,
    };
    nodes.push(node);
    index.set(node.id, node);
  }
  return { nodes, index, roots: link(nodes, index) };
}

/**
 * The variables that pass the filter, ordered by `sort.key` (`sort.dir` -1: largest
 * first; ``"inf"``, a change from all zeros, is the largest); rows without a value (only
 * on one side, shape changed) come last, in tree order.
 * @param {CompareTree} tree
 * @param {Sort} sort
 * @param {string} filter
 * @returns {CompareNode[]}
 */
export function sortedVariables(tree, sort, filter) {
  const shown = tree.nodes.filter((node) => node.kind === "variable" && matches(node, filter, null));
  const value = (/** @type {CompareNode} */ node) => (node.row[sort.key] === "inf" ? Infinity : node.row[sort.key]);
  const valued = shown.filter((node) => typeof value(node) === "number");
  const empty = shown.filter((node) => typeof value(node) !== "number");
  valued.sort((x, y) => (value(x) === value(y) ? 0 : sort.dir * (value(x) < value(y) ? -1 : 1)));
  return [...valued, ...empty];
}

/**
 * The next sort after a click on a column's heading: largest first, then smallest
 * first, then the tree again (null).
 * @param {Sort | null} sort
 * @param {string} key
 * @returns {Sort | null}
 */
export function nextSort(sort, key) {
  if (!sort || sort.key !== key) return { key, dir: -1 };
  return sort.dir === -1 ? { key, dir: 1 } : null;
}
