// The preview panel: the chosen row's histograms (a PNG from the kernel) and statistics.
import { h } from "../core/dom.js";
import { shapeText, statText } from "../core/format.js";

/**
 * @typedef {import("../core/context.js").Context} Context
 * @typedef {import("../core/context.js").Histogram} Histogram
 */

const STAT_COLUMNS = [
  // [key, heading, shown only when some row has a non-zero value]
  ["mean", "mean", false],
  ["std", "std", false],
  ["min", "min", false],
  ["max", "max", false],
  ["zeros_pct", "zeros %", false],
  ["nan", "NaN", true],
  ["inf", "Inf", true],
  ["l2", "L2", false],
];

/**
 * Show the preview of a row: ask the kernel for it and draw "Rendering…" meanwhile.
 * @param {Context} ctx
 * @param {{ id: string }} node
 */
export function choose(ctx, node) {
  ctx.state.chosen = node.id;
  ctx.state.histogram = { path: node.id, loading: true };
  ctx.requestPreview(node.id);
  ctx.draw();
}

/**
 * Take the kernel's "histogram" message (its PNG in `buffers[0]`) as the preview shown.
 * @param {Context} ctx
 * @param {Record<string, any>} message
 * @param {(DataView<ArrayBuffer> | ArrayBuffer)[]} buffers
 */
export function receiveHistogram(ctx, message, buffers) {
  const { state } = ctx;
  if (state.histogram?.url) URL.revokeObjectURL(state.histogram.url);
  const blob = new Blob([buffers[0]], { type: "image/png" });
  state.histogram = {
    path: message.path,
    url: URL.createObjectURL(blob),
    stats: message.stats,
    shown: message.shown,
    count: message.count,
    limit: message.limit,
    scale: message.scale || 1,
  };
  ctx.draw();
}

/** @param {Context} ctx */
export function createPreview(ctx) {
  const { model, state, send } = ctx;

  /** "conv1/kernel" for a variable row of the tree, else the path's last two parts. */
  function shortName(/** @type {string} */ path) {
    const node = state.tree.index.get(path);
    if (node?.parentNode) return `${node.parentNode.label}/${node.label}`;
    return path.split("/").slice(-2).join("/");
  }

  /** Pick the stored variable for a model variable that paths did not pair. */
  function pairEditor(/** @type {import("../model/tree.js").TreeNode} */ node) {
    const cols = ctx.checkpointColumns();
    /** @type {string[]} */
    const same = [];
    /** @type {string[]} */
    const other = [];
    for (let i = 0; i < (cols.id || []).length; i++) {
      if (cols.kind[i] !== "variable" || cols.group[i] !== "model") continue;
      const fits = shapeText(cols.ckpt_shape[i]) === shapeText(node.modelShape);
      (fits ? same : other).push(cols.id[i]);
    }
    const options = [...same, ...other].slice(0, 500);
    return h(
      "label",
      { class: "ckw-pair" },
      "pair with ",
      h(
        "select",
        {
          "data-testid": "pair-select",
          "aria-label": `checkpoint variable for ${node.label}`,
          onchange: (/** @type {any} */ e) =>
            e.target.value && send({ type: "pair", model: node.id, ckpt: e.target.value }),
        },
        h(
          "option",
          { value: "" },
          same.length ? `${same.length} stored variables of this shape…` : "a stored variable…",
        ),
        options.map((id) => h("option", { value: id }, id)),
      ),
    );
  }

  /** The plots at their CSS size (the PNG has `scale` pixels per CSS pixel); a click enlarges. */
  function previewImage(/** @type {Histogram} */ hist) {
    const img = h("img", {
      src: hist.url,
      alt: `histograms of ${hist.path}`,
      "data-testid": "histogram-image",
      title: state.enlarged ? "Click to shrink" : "Click to enlarge",
      onclick: () => {
        state.enlarged = !state.enlarged;
        ctx.draw();
      },
    });
    const fit = () => {
      if (!state.enlarged) img.style.width = `${img.naturalWidth / (hist.scale || 1)}px`;
    };
    if (img.complete && img.naturalWidth) fit();
    else img.addEventListener("load", fit);
    if (!state.enlarged) return h("div", { class: "ckw-plots" }, img);
    return h(
      "div",
      {
        class: "ckw-enlarged",
        "data-testid": "histogram-enlarged",
        onclick: (/** @type {MouseEvent} */ e) => {
          if (e.target === e.currentTarget) {
            state.enlarged = false;
            ctx.draw();
          }
        },
      },
      img,
    );
  }

  /** One row per variable and side, the columns that matter; never wider than the panel. */
  function statsTable(/** @type {Record<string, any>[]} */ stats) {
    const columns = STAT_COLUMNS.filter(([key, , rare]) => !rare || stats.some((row) => row[String(key)]));
    const showDiff = stats.some((row) => row.max_abs_diff !== null && row.max_abs_diff !== undefined);
    /** @type {HTMLElement[]} */
    const rows = [];
    stats.forEach((row, k) => {
      const first = k === 0 || stats[k - 1].path !== row.path;
      let rowsOfPath = 1; // its sides (and a difference row, in the Compare view)
      while (first && stats[k + rowsOfPath] && stats[k + rowsOfPath].path === row.path) rowsOfPath += 1;
      const span = rowsOfPath > 1 ? String(rowsOfPath) : null;
      rows.push(
        h(
          "tr",
          { class: first ? "ckw-stats-first" : null },
          first ? h("td", { class: "ckw-stats-name", rowspan: span, title: row.path }, shortName(row.path)) : null,
          h("td", { class: "ckw-stats-side" }, row.side),
          columns.map(([key]) =>
            h("td", { class: "ckw-num", title: String(row[String(key)]) }, statText(row[String(key)])),
          ),
          showDiff && first
            ? h(
                "td",
                { class: "ckw-num", rowspan: span, title: "largest |checkpoint − model| where the shapes overlap" },
                statText(row.max_abs_diff),
              )
            : null,
        ),
      );
    });
    return h(
      "table",
      { class: "ckw-stats", "data-testid": "stats" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { class: "ckw-stats-name" }, "variable"),
          h("th", { class: "ckw-stats-side" }, "side"),
          columns.map(([, heading]) => h("th", {}, heading)),
          showDiff ? h("th", {}, "max |diff|") : null,
        ),
      ),
      h("tbody", {}, rows),
    );
  }

  return function histogramPanel() {
    if (state.view === "pairs") return null;
    const hist = state.histogram;
    const panel = h("div", { class: "ckw-histogram", "data-testid": "histogram" });
    if (!hist) {
      const what = model.get("header").explore
        ? "see its stored values"
        : "compare the checkpoint's values with the model's";
      panel.append(h("p", { class: "ckw-note" }, `Click a name to ${what}.`));
      return panel;
    }
    const chosen = state.tree.index.get(hist.path);
    const log = h("input", {
      type: "checkbox",
      "data-testid": "log-counts",
      onchange: (/** @type {any} */ e) => {
        state.logCounts = e.target.checked;
        state.histogram = { ...hist, loading: true };
        ctx.requestPreview(hist.path, hist.limit);
        ctx.draw();
      },
    });
    log.checked = state.logCounts;
    panel.append(
      h(
        "div",
        { class: "ckw-preview-head" },
        h("span", { class: "ckw-subtitle", title: hist.path }, chosen ? chosen.label : hist.path),
        h("span", { class: "ckw-note" }, "share of each side's values per bin"),
        h("label", { class: "ckw-field", title: "Count axis on a log scale: shows rare values" }, log, " log counts"),
      ),
    );
    const pairing = !model.get("header").explore && state.view !== "compare";
    if (pairing && chosen && chosen.kind === "variable" && chosen.status !== "match") panel.append(pairEditor(chosen));
    if (hist.loading) {
      panel.append(h("p", { class: "ckw-note" }, "Rendering…"));
      return panel;
    }
    panel.append(previewImage(hist));
    if ((hist.count || 0) > (hist.shown || 0)) {
      panel.append(
        h(
          "div",
          { class: "ckw-note" },
          `${hist.shown} of ${hist.count} variables drawn `,
          h(
            "button",
            {
              class: "ckw-button",
              "data-testid": "show-more",
              onclick: () => {
                state.histogram = { ...hist, loading: true };
                ctx.requestPreview(hist.path, Math.min(50, (hist.limit || 0) * 2));
                ctx.draw();
              },
            },
            "Show more",
          ),
        ),
      );
    }
    panel.append(statsTable(hist.stats || []));
    return panel;
  };
}
