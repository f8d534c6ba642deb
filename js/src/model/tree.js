// The model tree as the front end walks it: built from the kernel's rows, filtered, shown.
// Pure functions of their arguments (no DOM): unit tested in js/test/.

/**
 * @typedef {object} TreeNode
 * @property {number} i
 * @property {string} id           the row's path, as in w.selected
 * @property {string} parent       the parent row's id ("" at the top)
 * @property {string} kind         "module" | "variable"
 * @property {string} label      the attribute name the user wrote, else the Keras name
 * @property {string} kerasName  the Keras name (shown beside a differing label)
 * @property {string} name       the readable full name (backbone/conv1/kernel)
 * @property {string} title      the object path (hover)
 * @property {string} status
 * @property {number[] | null} modelShape
 * @property {number[] | null} ckptShape
 * @property {string} dtype
 * @property {number} nbytes
 * @property {number} params
 * @property {string} layer
 * @property {string} group
 * @property {TreeNode[]} children
 * @property {TreeNode[]} vars     variable descendants (for modules)
 * @property {TreeNode | null} [parentNode]
 *
 * @typedef {{ nodes: TreeNode[], index: Map<string, TreeNode>, roots: TreeNode[] }} Tree
 * @typedef {{ label: string, title: string, id: string, layer?: string, kind?: string,
 *   status?: string, name?: string }} Filterable
 */

/**
 * A table the kernel sends column-oriented, as one JSON text (it costs the kernel one
 * encoding instead of a walk over every value) or, from older kernels, as an object.
 * @param {string | Record<string, any[]> | null | undefined} value
 * @returns {Record<string, any[]>}
 */
export function decodeColumns(value) {
  if (typeof value === "string") return value ? JSON.parse(value) : {};
  return value || {};
}

/**
 * The model tree built once from the column-oriented rows the kernel sends.
 * @param {Record<string, any[]>} columns
 * @returns {Tree}
 */
export function buildTree(columns) {
  const n = columns.id ? columns.id.length : 0;
  /** @type {TreeNode[]} */
  const nodes = [];
  const index = new Map();
  for (let i = 0; i < n; i++) {
    const node = {
      i,
      id: columns.id[i],
      parent: columns.parent[i],
      kind: columns.kind[i],
      label: columns.label[i],
      kerasName: columns.keras_name ? columns.keras_name[i] : "",
      name: columns.name ? columns.name[i] : "",
      title: columns.title[i],
      status: columns.status[i],
      modelShape: columns.model_shape[i],
      ckptShape: columns.ckpt_shape[i],
      dtype: columns.dtype[i],
      nbytes: columns.nbytes[i],
      params: columns.params ? columns.params[i] : 0,
      layer: columns.layer[i],
      group: columns.group[i],
      children: [],
      vars: [],
    };
    nodes.push(node);
    index.set(node.id, node);
  }
  return { nodes, index, roots: link(nodes, index) };
}

/**
 * Link each node to its parent and children, and each module to its variable
 * descendants (``vars``); the nodes without a parent are the roots, in order.
 * @template {{parent: string, kind: string, parentNode: any, children: any[], vars: any[]}} N
 * @param {N[]} nodes
 * @param {Map<string, N>} index
 * @returns {N[]}
 */
export function link(nodes, index) {
  /** @type {N[]} */
  const roots = [];
  for (const node of nodes) {
    const parent = node.parent ? index.get(node.parent) : null;
    node.parentNode = parent || null;
    (parent ? parent.children : roots).push(node);
  }
  for (const node of nodes) {
    if (node.kind !== "variable") continue;
    for (let p = node.parentNode; p; p = p.parentNode) p.vars.push(node);
  }
  return roots;
}

/** @param {string} text a glob: `*` any run, `?` one character; case ignored */
export function globToRegExp(text) {
  const escaped = text.replace(/[.+^${}()|\\]/g, "\\$&");
  return new RegExp(`^${escaped.replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
}

/**
 * Whether a row passes the filter text and the status chip.
 * @param {Filterable} node
 * @param {string} filter
 * @param {string | null} chip
 */
export function matches(node, filter, chip) {
  if (chip && node.kind === "variable" && node.status !== chip) return false;
  if (chip && node.kind === "module") return false;
  if (!filter) return true;
  const fields = [node.label, node.title, node.id, node.layer || "", node.name || ""];
  if (/[*?]/.test(filter)) {
    const re = globToRegExp(filter);
    return fields.some((f) => re.test(f));
  }
  const lower = filter.toLowerCase();
  return fields.some((f) => f.toLowerCase().includes(lower));
}

/**
 * The rows shown, in order, with their depth: expanded modules open; while filtering,
 * every match with its variables and its ancestors, all open.
 * @param {Tree} tree
 * @param {{ expanded: Set<string>, filter: string, chip: string | null }} view
 * @returns {[TreeNode, number][]}
 */
export function visibleRows(tree, { expanded, filter, chip }) {
  /** @type {[TreeNode, number][]} */
  const rows = [];
  const filtering = Boolean(filter || chip);
  const show = new Set();
  if (filtering) {
    for (const node of tree.nodes) {
      if (!matches(node, filter, chip)) continue;
      show.add(node);
      for (const v of node.vars) show.add(v);
      for (let p = node.parentNode; p; p = p.parentNode) show.add(p);
    }
  }
  /** @type {(node: TreeNode, depth: number) => void} */
  const walk = (node, depth) => {
    if (filtering && !show.has(node)) return;
    rows.push([node, depth]);
    if (node.kind === "module" && (filtering || expanded.has(node.id))) {
      for (const child of node.children) walk(child, depth + 1);
    }
  };
  for (const node of tree.roots) walk(node, 0);
  return rows;
}

/**
 * The tickable rows the filter shows (every tickable row without a filter), leaving out
 * rows under one already chosen: what "Select matching" asks the kernel to tick.
 * @param {Tree} tree
 * @param {Set<string>} tickable
 * @param {string} filter
 * @param {string | null} chip
 * @returns {string[]}
 */
export function matchingIds(tree, tickable, filter, chip) {
  const filtering = Boolean(filter || chip);
  const chosen = new Set();
  for (const node of tree.nodes) {
    if (filtering && !matches(node, filter, chip)) continue;
    if (!tickable.has(node.id)) continue;
    let covered = false;
    for (let p = node.parentNode; p && !covered; p = p.parentNode) covered = chosen.has(p.id);
    if (!covered) chosen.add(node.id);
  }
  return [...chosen];
}

/**
 * Whether the last restore wrote this variable (or, for a layer, all its variables).
 * @param {TreeNode} node
 * @param {Set<string>} restored
 */
export function restoredRow(node, restored) {
  if (!restored.size) return false;
  if (node.kind === "variable") return restored.has(node.id);
  return node.vars.length > 0 && node.vars.every((v) => restored.has(v.id));
}
