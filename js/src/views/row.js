// One row of the explore and compare trees: the parts both draw the same way (the test
// marks, the chosen row, a module opened or closed by its twisty or by Enter).
import { h } from "../core/dom.js";

/**
 * @typedef {import("../core/context.js").Context} Context
 * @typedef {{ id: string, kind: string, status?: string }} RowNode
 */

/**
 * What opening or closing module `node` does: flip it in `expanded`, draw the body again.
 * @param {Context} ctx
 * @param {Set<string>} expanded
 * @param {RowNode} node
 */
export function expander(ctx, expanded, node) {
  return () => {
    if (node.kind !== "module") return;
    if (expanded.has(node.id)) expanded.delete(node.id);
    else expanded.add(node.id);
    ctx.drawBody();
  };
}

/**
 * A module's ▸ / ▾ (nothing for a variable); a click calls `toggle`.
 * @param {RowNode} node
 * @param {boolean} open
 * @param {() => void} toggle
 */
export function twisty(node, open, toggle) {
  const sign = node.kind === "module" ? (open ? "▾" : "▸") : "";
  return h("span", { class: "ckw-twisty", onclick: toggle, "aria-hidden": "true" }, sign);
}

/**
 * The `tr` of `node` holding `cells`: marked for tests (`data-testid="ckpt-row"`, its
 * path, status and kind), chosen when its histograms show; Enter on it calls `toggle`.
 * @param {Context} ctx
 * @param {RowNode} node
 * @param {() => void} toggle
 * @param {...any} cells
 */
export function treeRow(ctx, node, toggle, ...cells) {
  return h(
    "tr",
    {
      class: `ckw-row${ctx.state.chosen === node.id ? " ckw-chosen" : ""}`,
      "data-testid": "ckpt-row",
      "data-path": node.id,
      "data-status": node.status,
      "data-kind": node.kind,
      tabindex: "0",
      onkeydown: (/** @type {KeyboardEvent} */ e) => {
        if (e.target === e.currentTarget && e.key === "Enter") toggle();
      },
    },
    ...cells,
  );
}
