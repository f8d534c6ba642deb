// The Model view's rows: one per submodule or variable, with its tick box and name button.
import { h } from "../core/dom.js";
import { bytesText, shapeText, statusLabel } from "../core/format.js";
import { restoredRow, visibleRows } from "../model/tree.js";
import { rowWindow } from "../model/window.js";
import { choose } from "./preview.js";
import { sourceBadge } from "./sources.js";

/**
 * @typedef {import("../core/context.js").Context} Context
 * @typedef {import("../model/tree.js").TreeNode} TreeNode
 */

/**
 * The rows of the model tree that are drawn, and a note for those left out.
 * @param {Context} ctx
 */
export function modelRows(ctx) {
  const { state } = ctx;
  const { shown, more } = rowWindow(visibleRows(state.tree, state));
  const rows = shown.map(([node, depth]) => modelRow(ctx, node, depth));
  if (more) {
    rows.push(h("tr", {}, h("td", { colspan: "6", class: "ckw-note" }, `${more} more rows: narrow the filter`)));
  }
  return rows;
}

/**
 * @param {Context} ctx
 * @param {TreeNode} node
 * @param {number} depth
 */
function modelRow(ctx, node, depth) {
  const { model, state } = ctx;
  const tick = ctx.tickState(node.id);
  const canTick = state.tickable.has(node.id) && !model.get("busy");
  const box = h("input", {
    type: "checkbox",
    "aria-label": `restore ${node.label}`,
    disabled: !canTick,
    onchange: (/** @type {any} */ e) => ctx.setTicked([node.id], e.target.checked),
  });
  box.checked = tick === "all";
  box.indeterminate = tick === "some";
  const isModule = node.kind === "module";
  const open = state.expanded.has(node.id) || Boolean(state.filter || state.chip);
  const toggle = () => {
    if (!isModule) return;
    if (state.expanded.has(node.id)) state.expanded.delete(node.id);
    else state.expanded.add(node.id);
    ctx.drawBody();
  };
  const status = node.status;
  const restored = restoredRow(node, state.restored);
  const from = ctx.rowSources(node.id);
  const others = from.filter((label) => label !== model.get("active"));
  return h(
    "tr",
    {
      class: "ckw-row" + (state.chosen === node.id ? " ckw-chosen" : ""),
      "data-testid": "ckpt-row",
      "data-path": node.id,
      "data-status": status,
      "data-kind": node.kind,
      "data-source": from.length ? from.join(" ") : null,
      "data-restored": restored ? "true" : null,
      tabindex: "0",
      onkeydown: (/** @type {KeyboardEvent} */ e) => {
        if (e.target !== e.currentTarget) return;
        if (e.key === "Enter") toggle();
        if (e.key === " ") {
          e.preventDefault();
          if (canTick) ctx.setTicked([node.id], tick !== "all");
        }
      },
    },
    h(
      "td",
      { class: "ckw-name", style: `padding-left: ${0.4 + depth * 1.1}em` },
      h("span", { class: "ckw-twisty", onclick: toggle, "aria-hidden": "true" }, isModule ? (open ? "▾" : "▸") : ""),
      box,
      h("button", { class: "ckw-label", title: `${node.title} — show histograms`, onclick: () => choose(ctx, node) }, node.label),
      others.map((label) => sourceBadge(label, `ticked under source ${label}; ticking it here moves it`)),
    ),
    h("td", { class: "ckw-shape" }, shapeText(node.modelShape)),
    h("td", { class: "ckw-shape" }, shapeText(node.ckptShape)),
    h("td", {}, node.dtype || ""),
    h("td", { class: "ckw-num" }, bytesText(node.nbytes)),
    h(
      "td",
      {},
      h("span", { class: `ckw-badge ckw-status-${status}`, title: `status '${status}'` }, statusLabel(status)),
      restored
        ? h(
            "span",
            { class: "ckw-badge ckw-restored", "data-testid": "restored-badge", title: "written by the last restore" },
            "restored",
          )
        : null,
    ),
  );
}
