// The Model view's rows: one per submodule or variable, with its tick box and name button.
// The tree is an ARIA treegrid: one Tab stop (the cursor row), arrow keys move and expand,
// Space ticks, Enter shows the preview (see model/keys.js).
import { h } from "../core/dom.js";
import { bytesText, paramsText, shapeText, statusLabel } from "../core/format.js";
import { treeKey } from "../model/keys.js";
import { restoredRow, visibleRows } from "../model/tree.js";
import { rowWindow } from "../model/window.js";
import { choose } from "./preview.js";
import { expander, twisty } from "./row.js";
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
  if (!shown.some(([node]) => node.id === state.cursor)) state.cursor = shown.length ? shown[0][0].id : null;
  const rows = shown.map(([node, depth]) => modelRow(ctx, node, depth));
  if (more) {
    rows.push(h("tr", {}, h("td", { colspan: "7", class: "ckw-note" }, `${more} more rows: narrow the filter`)));
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
    tabindex: "-1",
    disabled: !canTick,
    onchange: (/** @type {any} */ e) => ctx.setTicked([node.id], e.target.checked),
  });
  box.checked = tick === "all";
  box.indeterminate = tick === "some";
  const isModule = node.kind === "module";
  const open = state.expanded.has(node.id) || Boolean(state.filter || state.chip);
  const toggle = expander(ctx, state.expanded, node);
  const status = node.status;
  const restored = restoredRow(node, state.restored);
  const from = ctx.rowSources(node.id);
  const others = from.filter((label) => label !== model.get("active"));
  return h(
    "tr",
    {
      class: `ckw-row${state.chosen === node.id ? " ckw-chosen" : ""}`,
      "data-testid": "ckpt-row",
      "data-path": node.id,
      "data-status": status,
      "data-kind": node.kind,
      "data-source": from.length ? from.join(" ") : null,
      "data-restored": restored ? "true" : null,
      tabindex: state.cursor === node.id ? "0" : "-1",
      "aria-level": String(depth + 1),
      "aria-expanded": isModule ? String(open) : null,
      "aria-selected": tick === "all" ? "true" : "false",
    },
    h(
      "td",
      { class: "ckw-name", style: `padding-left: ${0.4 + depth * 1.1}em` },
      twisty(node, open, toggle),
      box,
      h(
        "button",
        {
          class: "ckw-label",
          tabindex: "-1",
          title: `${node.title} — show histograms`,
          onclick: () => choose(ctx, node),
        },
        node.label,
      ),
      isModule && node.kerasName && node.kerasName !== node.label
        ? h("span", { class: "ckw-note", "data-testid": "keras-name", title: "Keras name" }, node.kerasName)
        : null,
      others.map((label) => sourceBadge(label, `ticked under source ${label}; ticking it here moves it`)),
    ),
    h("td", { class: "ckw-shape" }, shapeText(node.modelShape)),
    h("td", { class: "ckw-shape" }, shapeText(node.ckptShape)),
    h("td", {}, node.dtype || ""),
    h(
      "td",
      { class: "ckw-num", "data-testid": "params", title: `${node.params.toLocaleString("en-US")} parameters` },
      paramsText(node.params),
    ),
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

/**
 * The tree's keys (on a focused row, not inside its box or button): carries out what
 * `treeKey` asks for. Returns whether the key was used.
 * @param {Context} ctx
 * @param {KeyboardEvent} e
 * @param {HTMLElement} body the tbody holding the rows, in the order they are shown
 */
export function treeKeydown(ctx, e, body) {
  const { state } = ctx;
  const rowEl = /** @type {HTMLElement} */ (e.target);
  if (rowEl.dataset?.testid !== "ckpt-row" || e.altKey || e.ctrlKey || e.metaKey) return false;
  const filtering = Boolean(state.filter || state.chip);
  const { shown } = rowWindow(visibleRows(state.tree, state));
  const rows = shown.map(([node, depth]) => {
    const module = node.kind === "module";
    return { id: node.id, depth, module, open: module && (filtering || state.expanded.has(node.id)), fixed: filtering };
  });
  const intent = treeKey(
    e.key,
    rows.findIndex((r) => r.id === rowEl.dataset.path),
    rows,
  );
  if (!intent) return false;
  if (intent.type === "move") {
    moveCursor(ctx, /** @type {HTMLElement} */ (body.children[intent.index]));
  } else if (intent.type === "expand") {
    state.expanded.add(intent.id);
    ctx.drawBody();
  } else if (intent.type === "collapse") {
    state.expanded.delete(intent.id);
    ctx.drawBody();
  } else if (intent.type === "tick") {
    if (state.tickable.has(intent.id) && !ctx.model.get("busy")) {
      ctx.setTicked([intent.id], ctx.tickState(intent.id) !== "all");
    }
  } else {
    choose(ctx, { id: intent.id });
  }
  return true;
}

/**
 * Make `rowEl` the tree's one Tab stop (the cursor) and focus it.
 * @param {Context} ctx
 * @param {HTMLElement | null} rowEl
 * @param {boolean} [focus]
 */
export function moveCursor(ctx, rowEl, focus = true) {
  if (rowEl?.dataset.testid !== "ckpt-row") return;
  const body = rowEl.parentElement;
  for (const el of body?.querySelectorAll('[data-testid="ckpt-row"][tabindex="0"]') || []) {
    if (el !== rowEl) el.setAttribute("tabindex", "-1");
  }
  rowEl.setAttribute("tabindex", "0");
  ctx.state.cursor = rowEl.dataset.path || null;
  if (focus) rowEl.focus();
}
