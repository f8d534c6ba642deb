// The widget without a model: the checkpoint's own tree (sizes, groups, dtypes) and a
// header with its totals. A name shows the stored values' histograms; nothing is ticked.
import { h } from "../core/dom.js";
import { bytesText, plural, shapeText } from "../core/format.js";
import { visibleRows } from "../model/tree.js";
import { rowWindow } from "../model/window.js";
import { chip } from "./chip.js";
import { choose } from "./preview.js";
import { expander, treeRow, twisty } from "./row.js";

/**
 * @typedef {import("../core/context.js").Context} Context
 * @typedef {import("../model/tree.js").TreeNode} TreeNode
 */

/** The Variables view's column headings. */
export const EXPLORE_HEADS = ["name", "group", "shape", "dtype", "params", "size"];
const GROUPS = ["model", "optimizer", "other"];

/** Whether the widget has no model (the kernel says so in its header). */
export function exploring(/** @type {Context} */ ctx) {
  return Boolean(ctx.model.get("header")?.explore);
}

/** A parameter count as "1,234". */
function count(/** @type {number} */ n) {
  return typeof n === "number" ? n.toLocaleString("en-US") : "";
}

/** @param {Context} ctx */
export function createExploreHeader(ctx) {
  const { model, send } = ctx;

  return function exploreHeader() {
    const info = model.get("header");
    const totals = info.totals || {};
    const counts = info.counts || {};
    const parts = [
      plural(totals.variables || 0, "variable"),
      `${count(totals.params)} parameters`,
      bytesText(totals.nbytes || 0),
    ];
    if (totals.params_optimizer) parts.push(`${Math.round(100 * (totals.optimizer_share || 0))}% optimizer state`);
    return h(
      "div",
      { class: "ckw-header", "data-testid": "explore-header" },
      h("span", { class: "ckw-path", title: info.checkpoint }, info.checkpoint),
      h("span", { class: "ckw-note", title: totals.dtypes || "" }, `${info.format} · ${parts.join(" · ")}`),
      h(
        "span",
        { class: "ckw-chips" },
        GROUPS.filter((g) => counts[g]).map((g) =>
          chip(ctx, "group", g, `${g} ${counts[g]}`, `show only ${g} variables`),
        ),
      ),
      h(
        "button",
        {
          class: "ckw-button",
          "data-testid": "refresh",
          title: "Open the checkpoints again, after training wrote them",
          onclick: () => send({ type: "refresh" }),
        },
        "Refresh",
      ),
    );
  };
}

/**
 * The checkpoint's tree rows that are drawn (no tick boxes: there is no model).
 * @param {Context} ctx
 */
export function exploreRows(ctx) {
  const { state } = ctx;
  const sizes = ctx.columns("rows").size || [];
  const { shown, more } = rowWindow(visibleRows(state.tree, state));
  const rows = shown.map(([node, depth]) => exploreRow(ctx, node, depth, sizes[node.i]));
  if (more)
    rows.push(h("tr", {}, h("td", { colspan: "6", class: "ckw-note" }, `${more} more rows: narrow the filter`)));
  return rows;
}

/**
 * @param {Context} ctx
 * @param {TreeNode} node
 * @param {number} depth
 * @param {number} params
 */
function exploreRow(ctx, node, depth, params) {
  const { state } = ctx;
  const open = state.expanded.has(node.id) || Boolean(state.filter || state.chip);
  const toggle = expander(ctx, state.expanded, node);
  return treeRow(
    ctx,
    node,
    toggle,
    h(
      "td",
      { class: "ckw-name", style: `padding-left: ${0.4 + depth * 1.1}em` },
      twisty(node, open, toggle),
      h(
        "button",
        { class: "ckw-label", title: `${node.title} — show histograms`, onclick: () => choose(ctx, node) },
        node.label,
      ),
      node.layer ? h("span", { class: "ckw-note" }, ` ${node.layer}`) : null,
    ),
    h("td", {}, h("span", { class: `ckw-badge ckw-group-${node.group}` }, node.group)),
    h("td", { class: "ckw-shape" }, shapeText(node.ckptShape)),
    h("td", { class: "ckw-dtype", title: node.dtype }, node.dtype || ""),
    h("td", { class: "ckw-num", "data-testid": "params" }, count(params)),
    h("td", { class: "ckw-num", "data-testid": "bytes" }, bytesText(node.nbytes)),
  );
}
