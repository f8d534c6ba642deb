// The Compare view: two sides (checkpoints, or the model and a checkpoint) side by side.
// The kernel compares (when the view first opens) and sends the rows and a chart of
// change per layer; sorting by a change column is a view concern, done here.
import { h } from "../core/dom.js";
import { plural, shapeText, statText } from "../core/format.js";
import { themeColours } from "../core/theme.js";
import { buildCompareTree, nextSort, sortedVariables } from "../model/compare.js";
import { visibleRows } from "../model/tree.js";
import { rowWindow } from "../model/window.js";
import { expander, treeRow, twisty } from "./row.js";

/**
 * @typedef {import("../core/context.js").Context} Context
 * @typedef {import("../model/compare.js").CompareNode} CompareNode
 * @typedef {import("../model/compare.js").CompareTree} CompareTree
 * @typedef {import("../model/compare.js").Sort} Sort
 * @typedef {{ tree: CompareTree, expanded: Set<string>, sort: Sort | null,
 *   chart: { url: string, scale: number } | null, rows: any }} CompareState
 */

/** The words for cw.compare's statuses. */
export const COMPARE_LABELS = {
  same: "same",
  changed: "changed",
  only_a: "only in A",
  only_b: "only in B",
  shape_changed: "shape changed",
  dtype_changed: "dtype changed",
};
const HEADS = [
  ["name", null],
  ["status", null],
  ["shape A", null],
  ["shape B", null],
  ["rel change", "rel_change"],
  ["max |diff|", "max_abs_diff"],
  ["cosine", "cosine"],
];

/** The Compare view's own state, kept in the view state across redraws. */
export function compareState(/** @type {Context} */ ctx) {
  const { state, model } = ctx;
  const rows = model.get("comparison")?.rows;
  if (!state.compare || state.compare.rows !== rows) {
    const tree = buildCompareTree(rows || {});
    const expanded = new Set();
    if (tree.nodes.length <= 200) for (const node of tree.nodes) if (node.kind === "module") expanded.add(node.id);
    const old = state.compare;
    state.compare = { tree, expanded, sort: old ? old.sort : null, chart: old ? old.chart : null, rows };
  }
  return /** @type {CompareState} */ (state.compare);
}

/** A status as shown, with the sides' letters ("only in model"). */
function statusText(/** @type {string} */ status, /** @type {Record<string, any>} */ info) {
  if (status === "only_a") return `only in ${info.a || "A"}`;
  if (status === "only_b") return `only in ${info.b || "B"}`;
  return /** @type {Record<string, string>} */ (COMPARE_LABELS)[status] || status;
}

/**
 * Open the Compare view; the kernel compares the first time (or `a`, `b` when given).
 * @param {Context} ctx
 * @param {string} [a]
 * @param {string} [b]
 */
export function openCompare(ctx, a, b) {
  ctx.state.view = "compare";
  const info = ctx.model.get("comparison") || {};
  if (a || b || (!info.rows && !info.running)) {
    /** @type {Record<string, any>} */
    const message = { type: "compare", theme: themeColours(ctx.root) };
    if (a && b) Object.assign(message, { a, b });
    ctx.send(message);
  }
  ctx.draw();
}

/**
 * Take the kernel's "compare_chart" message (its PNG in `buffers[0]`).
 * @param {Context} ctx
 * @param {Record<string, any>} message
 * @param {(DataView<ArrayBuffer> | ArrayBuffer)[]} buffers
 */
export function receiveChart(ctx, message, buffers) {
  const view = compareState(ctx);
  if (view.chart) URL.revokeObjectURL(view.chart.url);
  view.chart = { url: URL.createObjectURL(new Blob([buffers[0]], { type: "image/png" })), scale: message.scale || 1 };
  ctx.draw();
}

/** @param {Context} ctx */
export function createCompareBar(ctx) {
  const { model, state } = ctx;

  function sideSelect(/** @type {string} */ which, /** @type {Record<string, any>} */ info) {
    const labels = (model.get("sources") || []).map((/** @type {{ label: string }} */ s) => s.label);
    const sides = model.get("header")?.explore ? labels : ["model", ...labels];
    return h(
      "select",
      {
        "data-testid": `compare-${which}`,
        "aria-label": `compare side ${which.toUpperCase()}`,
        onchange: (/** @type {any} */ e) => {
          const a = which === "a" ? e.target.value : info.a;
          const b = which === "b" ? e.target.value : info.b;
          if (a && b && a !== b) openCompare(ctx, a, b);
        },
      },
      sides.map((/** @type {string} */ s) => h("option", { value: s, selected: s === info[which] }, s)),
    );
  }

  return function compareBar() {
    if (state.view !== "compare") return null;
    const info = model.get("comparison") || {};
    const view = compareState(ctx);
    const bar = h("div", { class: "ckw-compare", "data-testid": "compare-bar" });
    /** @type {Record<string, number>} */
    const counts = {};
    for (const node of view.tree.nodes) {
      if (node.kind === "variable") counts[node.status] = (counts[node.status] || 0) + 1;
    }
    bar.append(
      h(
        "div",
        { class: "ckw-toolbar" },
        h("label", { class: "ckw-field" }, "compare ", sideSelect("a", info), " with ", sideSelect("b", info)),
        info.running
          ? h("span", { class: "ckw-note", "data-testid": "compare-running" }, "Comparing…")
          : Object.entries(counts).map(([s, n]) =>
              h("span", { class: `ckw-badge ckw-compare-${s}` }, `${statusText(s, info)} ${n}`),
            ),
        h(
          "button",
          {
            class: "ckw-button",
            "data-testid": "compare-again",
            title: "Compare again (after a restore or after training wrote the files)",
            disabled: Boolean(info.running || model.get("busy")),
            onclick: () => openCompare(ctx, info.a, info.b),
          },
          "Compare again",
        ),
      ),
    );
    const chart = view.chart;
    if (chart && info.rows) {
      const img = h("img", {
        src: chart.url,
        alt: `change per layer, ${info.a} against ${info.b}`,
        "data-testid": "compare-chart",
      });
      const fit = () => {
        img.style.width = `${img.naturalWidth / chart.scale}px`;
      };
      if (img.complete && img.naturalWidth) fit();
      else img.addEventListener("load", fit);
      bar.append(h("div", { class: "ckw-plots" }, img));
    }
    return bar;
  };
}

/** The Compare view's table heading: the change columns sort on a click. */
export function compareHead(/** @type {Context} */ ctx) {
  const view = compareState(ctx);
  const info = ctx.model.get("comparison") || {};
  return h(
    "tr",
    {},
    HEADS.map(([text, key]) => {
      const label = String(text)
        .replace(" A", ` ${info.a || "A"}`)
        .replace(" B", ` ${info.b || "B"}`);
      if (!key) return h("th", {}, label);
      const sorted = view.sort && view.sort.key === key ? view.sort.dir : 0;
      return h(
        "th",
        { "aria-sort": sorted ? (sorted < 0 ? "descending" : "ascending") : "none" },
        h(
          "button",
          {
            class: "ckw-sort",
            "data-testid": `sort-${key}`,
            title: "Sort the variables by this column (largest first, then smallest, then the tree)",
            onclick: () => {
              view.sort = nextSort(view.sort, String(key));
              ctx.draw();
            },
          },
          label + (sorted ? (sorted < 0 ? " ▼" : " ▲") : ""),
        ),
      );
    }),
  );
}

/**
 * The Compare view's rows: the tree, or the variables sorted by a change column.
 * @param {Context} ctx
 */
export function compareRows(ctx) {
  const { state, model } = ctx;
  const info = model.get("comparison") || {};
  if (!info.rows) {
    const text = info.running ? "Comparing…" : "Nothing compared yet.";
    return [h("tr", {}, h("td", { colspan: "7", class: "ckw-note" }, text))];
  }
  const view = compareState(ctx);
  /** @type {[CompareNode, number][]} */
  const all = view.sort
    ? sortedVariables(view.tree, view.sort, state.filter).map((node) => [node, 0])
    : /** @type {any} */ (
        visibleRows(/** @type {any} */ (view.tree), { expanded: view.expanded, filter: state.filter, chip: null })
      );
  const { shown, more } = rowWindow(all);
  const rows = shown.map(([node, depth]) => compareRow(ctx, view, info, node, depth, Boolean(view.sort)));
  if (more)
    rows.push(h("tr", {}, h("td", { colspan: "7", class: "ckw-note" }, `${more} more rows: narrow the filter`)));
  return rows;
}

/**
 * @param {Context} ctx
 * @param {CompareState} view
 * @param {Record<string, any>} info
 * @param {CompareNode} node
 * @param {number} depth
 * @param {boolean} flat  sorted: full paths, no tree
 */
function compareRow(ctx, view, info, node, depth, flat) {
  const { state } = ctx;
  const row = node.row;
  const isModule = node.kind === "module";
  const open = view.expanded.has(node.id) || Boolean(state.filter);
  const toggle = expander(ctx, view.expanded, node);
  const counts = isModule ? `${plural(row.variables, "variable")}, ${row.changed} changed, ${row.same} same` : "";
  return treeRow(
    ctx,
    node,
    toggle,
    h(
      "td",
      { class: "ckw-name", style: `padding-left: ${0.4 + depth * 1.1}em`, title: counts || null },
      flat ? null : twisty(node, open, toggle),
      h(
        "button",
        {
          class: "ckw-label",
          title: `${node.title} — ${info.a} and ${info.b} histograms`,
          onclick: () => {
            state.chosen = node.id;
            state.histogram = { path: node.id, loading: true };
            ctx.requestPreview(node.id);
            ctx.draw();
          },
        },
        flat ? node.id : node.label,
      ),
      node.layer && !flat ? h("span", { class: "ckw-note" }, ` ${node.layer}`) : null,
    ),
    h(
      "td",
      {},
      h(
        "span",
        { class: `ckw-badge ckw-compare-${node.status}`, title: `status '${node.status}'` },
        statusText(node.status, info),
      ),
    ),
    h("td", { class: "ckw-shape" }, shapeText(row.shape_a)),
    h("td", { class: "ckw-shape" }, shapeText(row.shape_b)),
    h(
      "td",
      {
        class: "ckw-num",
        "data-testid": "rel_change",
        title: row.rel_change === "inf" ? `${info.a} is all zeros here` : null,
      },
      row.rel_change === "inf" ? "∞" : statText(row.rel_change),
    ),
    h("td", { class: "ckw-num" }, statText(row.max_abs_diff)),
    h("td", { class: "ckw-num" }, statText(row.cosine)),
  );
}
