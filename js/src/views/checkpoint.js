// The Checkpoint view's rows: the file's own objects and variables.
import { h } from "../core/dom.js";
import { bytesText, paramsText, shapeText, statusLabel } from "../core/format.js";
import { matches } from "../model/tree.js";
import { MAX_ROWS } from "../model/window.js";

/**
 * The drawn rows of the checkpoint's own table that pass the filter and the chip.
 * @param {import("../core/context.js").Context} ctx
 */
export function checkpointRows(ctx) {
  const { state } = ctx;
  const cols = ctx.checkpointColumns();
  if (!cols.id) return [loadingRow()];
  const out = [];
  const n = cols.id.length;
  const filtering = Boolean(state.filter || state.chip);
  for (let i = 0; i < n && out.length < MAX_ROWS; i++) {
    const status = cols.status[i];
    const group = cols.group[i];
    const isObject = cols.kind[i] === "module";
    if (filtering && isObject) continue; // a filtered view lists variables only
    if (state.chip && state.chip !== status && !(state.chip === "optimizer" && group === "optimizer")) continue;
    const name = cols.name ? cols.name[i] : "";
    const node = { id: cols.id[i], label: cols.label[i], title: cols.title[i], layer: "", name };
    if (state.filter && !matches(node, state.filter, state.chip)) continue;
    const depth = filtering ? 0 : cols.id[i].split("/").length - 1;
    out.push(
      h(
        "tr",
        {
          class: "ckw-row",
          "data-testid": "ckpt-file-row",
          "data-path": node.id,
          "data-status": status,
          "data-kind": cols.kind[i],
        },
        h(
          "td",
          { class: "ckw-name", title: cols.title[i], style: `padding-left: ${0.4 + depth * 1.1}em` },
          filtering ? name || node.id : node.label,
        ),
        h("td", {}, group),
        h("td", { class: "ckw-shape" }, shapeText(cols.ckpt_shape[i])),
        h("td", {}, cols.dtype[i]),
        h("td", { class: "ckw-num" }, cols.params ? paramsText(cols.params[i]) : ""),
        h("td", { class: "ckw-num" }, bytesText(cols.nbytes[i])),
        h("td", {}, h("span", { class: `ckw-badge ckw-status-${status}` }, statusLabel(status))),
      ),
    );
  }
  return out;
}

/** What the view shows while the kernel builds its rows (on the tab's first opening). */
function loadingRow() {
  return h(
    "tr",
    { "data-testid": "ckpt-rows-loading" },
    h("td", { colspan: "7", class: "ckw-note" }, "Reading the checkpoint's variables…"),
  );
}
