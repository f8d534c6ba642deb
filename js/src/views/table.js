// The main table: the Model, Checkpoint or Pairs view's rows under one head. Its body is
// redrawn alone (`drawBody`) when only the rows change: filter, expand, restored marks.
import { h } from "../core/dom.js";
import { focusedRow, refocus } from "../core/focus.js";
import { STATUS_LABELS } from "../core/format.js";
import { checkpointRows } from "./checkpoint.js";
import { compareHead, compareRows } from "./compare.js";
import { EXPLORE_HEADS, exploreRows, exploring } from "./explore.js";
import { pairRows } from "./pairs.js";
import { modelRows, moveCursor, treeKeydown } from "./tree.js";

/** @type {Record<string, string[]>} */
const HEADS = {
  model: ["name", "model shape", "ckpt shape", "dtype", "params", "size", "status"],
  checkpoint: ["checkpoint path", "group", "shape", "dtype", "params", "size", "status"],
  pairs: ["restore", "checkpoint layer", "model layer", "kind", "paired by", "pair with"],
};

/**
 * The table view: `table` draws it whole, `drawBody` its rows only.
 * @param {import("../core/context.js").Context} ctx
 */
export function createTable(ctx) {
  const { state } = ctx;
  const body = h("tbody", {
    onkeydown: (/** @type {KeyboardEvent} */ e) => {
      if (state.view === "model" && treeKeydown(ctx, e, body)) e.preventDefault();
    },
    onfocusin: (/** @type {FocusEvent} */ e) => {
      // A click on a row's box or name makes that row the tree's Tab stop.
      const target = /** @type {HTMLElement} */ (e.target);
      if (state.view === "model") moveCursor(ctx, target.closest("[data-testid=ckpt-row]"), false);
    },
  });

  function fillBody() {
    let rows;
    if (state.view === "compare") rows = compareRows(ctx);
    else if (state.view === "model" && exploring(ctx)) rows = exploreRows(ctx);
    else if (state.view === "model") rows = modelRows(ctx);
    else if (state.view === "pairs") rows = pairRows(ctx);
    else rows = checkpointRows(ctx);
    if (!rows.length && (state.filter || state.chip)) rows.push(emptyRow());
    body.replaceChildren(...rows);
  }

  /** What an empty filter result says: nothing matches, and how to see everything again. */
  function emptyRow() {
    const what = [state.filter ? `'${state.filter}'` : null, state.chip ? STATUS_LABELS[state.chip] : null]
      .filter(Boolean)
      .join(" and ");
    return h(
      "tr",
      { "data-testid": "no-rows" },
      h(
        "td",
        { colspan: String(HEADS[state.view].length), class: "ckw-note" },
        `No row matches ${what}; clear the filter or the status chip to see every row.`,
      ),
    );
  }

  function drawBody() {
    const focus = focusedRow(ctx.root);
    fillBody();
    refocus(ctx.root, focus, ctx.model.get("active"));
  }

  function head() {
    if (state.view === "compare") return compareHead(ctx);
    const heads = state.view === "model" && exploring(ctx) ? EXPLORE_HEADS : HEADS[state.view];
    return h(
      "tr",
      {},
      heads.map((t) => h("th", {}, t)),
    );
  }

  function table() {
    fillBody();
    const tree = state.view === "model";
    return h(
      "div",
      { class: "ckw-scroll" },
      h(
        "table",
        {
          class: "ckw-table",
          role: tree ? "treegrid" : null,
          "aria-label": tree ? "model variables: arrow keys move and expand, Space ticks, Enter previews" : null,
          "aria-multiselectable": tree ? "true" : null,
        },
        h("thead", {}, head()),
        body,
      ),
    );
  }

  return { table, drawBody };
}
