// The Pairs view's rows: checkpoint layer beside model layer, how they were paired, re-pair.
import { h } from "../core/dom.js";
import { matches } from "../model/tree.js";
import { rowWindow } from "../model/window.js";
import { sourceBadge } from "./sources.js";

/**
 * @typedef {import("../core/context.js").Context} Context
 * @typedef {{ layer: string, model_layer: string, ckpt_layer: string | null, kind: string,
 *   paired_by: string, candidates: string[] }} LayerPair
 */

/**
 * How a layer pair was made -> [words, the status colour it is drawn in].
 * @type {Record<string, [string, string]>}
 */
const PAIRED_BY = {
  align: ["align", "match"],
  rename: ["by hand", "unused"],
  ambiguous: ["ambiguous", "missing"],
  unpaired: ["unpaired", "missing"],
};

/**
 * The drawn pair rows that pass the filter.
 * @param {Context} ctx
 */
export function pairRows(ctx) {
  const { state } = ctx;
  /** @type {LayerPair[]} */
  const pairs = ctx.model.get("pairs") || [];
  const shown = pairs.filter(
    (p) =>
      !state.filter ||
      matches(
        { kind: "pair", label: p.layer, title: p.ckpt_layer || "", id: p.model_layer, layer: p.kind },
        state.filter,
        state.chip,
      ),
  );
  return rowWindow(shown).shown.map((pair) => pairRow(ctx, pair));
}

/**
 * One layer pair: checkbox, checkpoint layer beside model layer, kind, how, re-pair.
 * @param {Context} ctx
 * @param {LayerPair} pair
 */
function pairRow(ctx, pair) {
  const { model, state, send } = ctx;
  const ticked = ctx.tickState(pair.model_layer);
  const undecided = pair.paired_by === "ambiguous" || pair.paired_by === "unpaired";
  const canTick = !undecided && state.tickable.has(pair.model_layer) && !model.get("busy");
  const tick = (/** @type {boolean} */ on) => ctx.setTicked([pair.model_layer], on);
  const box = h("input", {
    type: "checkbox",
    "aria-label": `restore ${pair.layer}`,
    disabled: !canTick,
    title: undecided ? "Choose its stored layer first" : null,
    onchange: (/** @type {any} */ e) => tick(e.target.checked),
  });
  box.checked = ticked === "all";
  box.indeterminate = ticked === "some";
  const choices =
    pair.ckpt_layer && !pair.candidates.includes(pair.ckpt_layer)
      ? [pair.ckpt_layer, ...pair.candidates]
      : pair.candidates;
  const select = h(
    "select",
    {
      "data-testid": "pair-select",
      "aria-label": `stored layer for ${pair.layer}`,
      onchange: (/** @type {any} */ e) =>
        e.target.value && send({ type: "pair_layer", model: pair.model_layer, ckpt: e.target.value }),
    },
    undecided
      ? h("option", { value: "" }, `choose (${choices.length} candidate${choices.length === 1 ? "" : "s"})…`)
      : null,
    choices.map((c) => h("option", { value: c, selected: c === pair.ckpt_layer }, c)),
  );
  const others = ctx.rowSources(pair.model_layer).filter((l) => l !== model.get("active"));
  const [how, colour] = PAIRED_BY[pair.paired_by] || [pair.paired_by, "missing"];
  return h(
    "tr",
    {
      class: `ckw-row${undecided ? " ckw-ambiguous" : ""}`,
      "data-testid": "pair-row",
      "data-model-layer": pair.model_layer,
      "data-ckpt-layer": pair.ckpt_layer || "",
      "data-paired-by": pair.paired_by,
      tabindex: "0",
      onkeydown: (/** @type {KeyboardEvent} */ e) => {
        if (e.target !== e.currentTarget || e.key !== " ") return;
        e.preventDefault();
        if (canTick) tick(ticked !== "all");
      },
    },
    h(
      "td",
      {},
      box,
      others.map((label) => sourceBadge(label, `ticked under source ${label}; ticking it here moves it`)),
    ),
    h(
      "td",
      { class: "ckw-shape", title: pair.ckpt_layer || "" },
      pair.ckpt_layer ||
        h(
          "span",
          { class: "ckw-note" },
          `? ${pair.candidates.length} candidate${pair.candidates.length === 1 ? "" : "s"}`,
        ),
    ),
    h(
      "td",
      { title: pair.model_layer },
      h("span", { class: "ckw-layer-name" }, pair.layer),
      " ",
      h("span", { class: "ckw-note ckw-shape" }, pair.model_layer),
    ),
    h("td", { class: "ckw-shape ckw-kind" }, pair.kind),
    h("td", {}, h("span", { class: `ckw-badge ckw-status-${colour}` }, how)),
    h(
      "td",
      {},
      select,
      pair.paired_by === "rename"
        ? h(
            "button",
            {
              class: "ckw-button ckw-unpair",
              "data-testid": "unpair-button",
              title: "Undo this hand pairing: alignment decides again",
              onclick: () => send({ type: "unpair_layer", model: pair.model_layer }),
            },
            "Unpair",
          )
        : null,
    ),
  );
}
