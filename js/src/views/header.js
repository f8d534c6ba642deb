// The header: checkpoint path, root chooser, status chips, Suggest renames, Refresh.
import { h } from "../core/dom.js";
import { bytesText, paramsText, plural, STATUS_LABELS, setStatusWords } from "../core/format.js";
import { chip } from "./chip.js";
import { createExploreHeader } from "./explore.js";

/** @param {import("../core/context.js").Context} ctx */
export function createHeader(ctx) {
  const { model, state, send } = ctx;

  function statusChip(/** @type {string} */ s, /** @type {number} */ count) {
    const toStored = () => {
      if (state.chip === "optimizer" || state.chip === "unused") state.view = "checkpoint";
    };
    return chip(ctx, "status", s, `${STATUS_LABELS[s]} ${count}`, `status '${s}' in m.table`, toStored);
  }

  const exploreHeader = createExploreHeader(ctx);

  return function header() {
    const info = model.get("header");
    if (info.explore) return exploreHeader();
    setStatusWords(info.status_words);
    const counts = info.counts || {};
    const select = h(
      "select",
      {
        class: "ckw-root",
        "data-testid": "root-select",
        title: "Where the model sits in the checkpoint",
        "aria-label": "checkpoint root",
        onchange: (/** @type {any} */ e) => send({ type: "set_root", root: e.target.value }),
      },
      (info.roots || []).map((/** @type {string} */ r) => {
        const n = info.root_counts?.[r];
        const label = (r || "(root)") + (n === undefined ? "" : ` — ${plural(n, "variable")} matched`);
        return h("option", { value: r, selected: r === info.root }, label);
      }),
    );
    const chips = Object.keys(STATUS_LABELS)
      .filter((s) => counts[s])
      .map((s) => statusChip(s, counts[s]));
    return h(
      "div",
      { class: "ckw-header" },
      h("span", { class: "ckw-path", title: info.checkpoint }, info.checkpoint),
      h("label", { class: "ckw-field" }, "root ", select),
      info.model_root ? h("span", { class: "ckw-note" }, `→ model's ${info.model_root}`) : null,
      info.params !== undefined
        ? h(
            "span",
            { class: "ckw-note", "data-testid": "model-size", title: "the model's parameters and bytes in total" },
            `model: ${paramsText(info.params)} parameters · ${bytesText(info.nbytes)}`,
          )
        : null,
      h("span", { class: "ckw-chips" }, chips),
      h(
        "button",
        {
          class: "ckw-button",
          "data-testid": "align",
          title:
            "Pair the variables that paths leave unpaired by aligning shapes and names " +
            "(like a diff), as rename pairs",
          onclick: () => send({ type: "align" }),
        },
        "Suggest renames",
      ),
      h(
        "button",
        {
          class: "ckw-button",
          "data-testid": "refresh",
          title: "Match again, after the model or the checkpoint changed",
          onclick: () => send({ type: "refresh" }),
        },
        "Refresh",
      ),
    );
  };
}
