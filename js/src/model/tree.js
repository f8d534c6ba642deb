// The model tree as the front end walks it: built from the kernel's rows, filtered, shown.
// Pure functions of their arguments (no DOM): unit tested in js/test/.

/**
 * @typedef {{ nodes: TreeNode[], index: Map<string, TreeNode>, roots: TreeNode[] }} Tree
 * @typedef {{ label: string, title: string, id: string, layer?: string, kind?: string,
 *   status?: string, name?: string }} Filterable
 */

/** One row of the model tree: a submodule or a variable. */
export class TreeNode {
  /**
   * @param {Record<string, any[]>} columns
   * @param {number} i  the row
   * @param {ModelTree | null} tree  the tree to finish when children or vars are asked for
   */
  constructor(columns, i, tree) {
    this.i = i;
    /** @type {string} the row's path, as in w.selected */
    this.id = columns.id[i];
    /** @type {string} the parent row's id ("" at the top) */
    this.parent = columns.parent[i];
    /** @type {string} "module" | "variable" */
    this.kind = columns.kind[i];
    /** @type {string} the attribute name the user wrote, else the Keras name */
    this.label = columns.label[i];
    /** @type {string} the Keras name (shown beside a differing label) */
    this.kerasName = columns.keras_name ? columns.keras_name[i] : "";
    /** @type {string} the readable full name (backbone/conv1/kernel) */
    this.name = columns.name ? columns.name[i] : "";
    /** @type {string} the object path (hover) */
    this.title = columns.title[i];
    /** @type {string} */
    this.status = columns.status[i];
    /** @type {number[] | null} */
    this.modelShape = columns.model_shape[i];
    /** @type {number[] | null} */
    this.ckptShape = columns.ckpt_shape[i];
    /** @type {string} */
    this.dtype = columns.dtype[i];
    /** @type {number} */
    this.nbytes = columns.nbytes[i];
    /** @type {number} */
    this.params = columns.params ? columns.params[i] : 0;
    /** @type {string} */
    this.layer = columns.layer[i];
    /** @type {string} */
    this.group = columns.group[i];
    /** @type {TreeNode | null} */
    this.parentNode = null;
    this.tree = tree;
    /** @type {TreeNode[]} */
    this.ownChildren = [];
    /** @type {TreeNode[]} */
    this.ownVars = [];
  }

  /** The rows right under this one, in order. */
  get children() {
    this.tree?.finish();
    return this.ownChildren;
  }

  /** The variables at any depth under this one (for modules). */
  get vars() {
    this.tree?.finish();
    return this.ownVars;
  }
}

/**
 * The model tree of the kernel's column-oriented rows. Only the top rows are made at
 * once (the first draw shows them, collapsed); the other rows, the index and the links
 * are made the first time anything asks for them (`nodes`, `index`, a node's `children`
 * or `vars`) or when `finish` is called (after the first paint): the same tree either way.
 */
export class ModelTree {
  /** @param {Record<string, any[]>} columns */
  constructor(columns) {
    this.columns = columns;
    /** @type {number} rows in the tree */
    this.size = columns.id ? columns.id.length : 0;
    /** @type {(TreeNode | undefined)[]} */
    this.made = new Array(this.size);
    /** @type {TreeNode[]} the rows without a parent, in order */
    this.roots = [];
    for (let i = 0; i < this.size; i++) {
      if (columns.parent[i]) continue;
      const node = new TreeNode(columns, i, this);
      this.made[i] = node;
      this.roots.push(node);
    }
    /** @type {Map<string, TreeNode> | null} */
    this.built = null;
  }

  /** Make every row and link the tree (once). */
  finish() {
    if (this.built) return;
    const index = new Map();
    this.built = index;
    const nodes = this.made;
    for (let i = 0; i < this.size; i++) {
      const node = nodes[i] || new TreeNode(this.columns, i, null);
      nodes[i] = node;
      index.set(node.id, node);
    }
    for (const root of this.roots) root.tree = null;
    // The same roots (a row whose parent is missing would join them, as a root).
    this.roots = link(/** @type {TreeNode[]} */ (nodes), index);
  }

  /** @returns {TreeNode[]} every row, parents first */
  get nodes() {
    this.finish();
    return /** @type {TreeNode[]} */ (this.made);
  }

  /** @returns {Map<string, TreeNode>} the rows by id */
  get index() {
    this.finish();
    return /** @type {Map<string, TreeNode>} */ (this.built);
  }
}

/**
 * The model tree of the column-oriented rows the kernel sends (see `ModelTree`).
 * @param {Record<string, any[]>} columns
 * @returns {ModelTree}
 */
export function buildTree(columns) {
  return new ModelTree(columns);
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
