// The toolbar: view tabs, Align layers, filter, Select matching, Clear, adapt, Restore.
import { h } from "../core/dom.js";
import { matchingIds } from "../model/tree.js";
import { openCompare } from "./compare.js";
import { exploring } from "./explore.js";
import { dryRunButton } from "./plan.js";

/** @param {import("../core/context.js").Context} ctx */
export function createToolbar(ctx) {
  const { model, state, send } = ctx;

  function views() {
    if (exploring(ctx)) return (model.get("sources") || []).length > 1 ? ["model", "compare"] : ["model"];
    return (model.get("pairs") || []).length
      ? ["model", "checkpoint", "pairs", "compare"]
      : ["model", "checkpoint", "compare"];
  }

  function viewTab(/** @type {string} */ v) {
    /** @type {{ paired_by: string }[]} */
    const pairs = model.get("pairs") || [];
    const ambiguous = pairs.filter((p) => p.paired_by === "ambiguous").length;
    const label = {
      model: exploring(ctx) ? "Variables" : "Model",
      checkpoint: "Checkpoint",
      pairs: `Pairs ${pairs.length}`,
      compare: "Compare",
    }[v];
    return h(
      "button",
      {
        role: "tab",
        class: `ckw-tab${state.view === v ? " ckw-active" : ""}`,
        "data-testid": v === "pairs" || v === "compare" ? `${v}-tab` : null,
        "aria-selected": state.view === v ? "true" : "false",
        title: v === "pairs" ? "Checkpoint layers beside the model layers they restore into" : null,
        onclick: () => {
          if (v === "compare") return openCompare(ctx);
          state.view = v;
          ctx.draw();
        },
      },
      label,
      v === "pairs" && ambiguous ? h("span", { class: "ckw-status-missing" }, ` · ${ambiguous} ambiguous`) : null,
    );
  }

  function alignLayers() {
    const box = h("input", {
      type: "checkbox",
      "data-testid": "align-layers",
      onchange: (/** @type {any} */ e) => send({ type: "set_align", on: e.target.checked }),
    });
    box.checked = Boolean(model.get("header").align);
    return h(
      "label",
      {
        class: "ckw-field",
        title:
          "Pair whole layers by order, kind and shape where object paths do not line up " +
          "(a Keras 2 checkpoint into a Keras 3 model); see the Pairs tab",
      },
      box,
      " Align layers",
    );
  }

  function progressBar() {
    const { done = 0, total = 0 } = model.get("progress") || {};
    return h("progress", {
      class: "ckw-progress",
      "data-testid": "restore-progress",
      max: String(total || 1),
      value: String(done),
      "aria-label": "restore progress",
    });
  }

  /** Tick what the filter shows (everything without a filter), as rows of the tree. */
  function selectMatching() {
    ctx.setTicked(matchingIds(state.tree, state.tickable, state.filter, state.chip), true);
  }

  return function toolbar() {
    const filter = h("input", {
      class: "ckw-filter",
      type: "search",
      placeholder: "filter: text or glob (conv*)",
      "aria-label": "filter",
      value: state.filter,
      oninput: (/** @type {any} */ e) => {
        state.filter = e.target.value;
        ctx.drawBody();
      },
    });
    const adapt = h(
      "select",
      {
        class: "ckw-adapt",
        "aria-label": "shape adaptation",
        onchange: (/** @type {any} */ e) => {
          model.set("adapt", e.target.value);
          model.save_changes();
        },
      },
      [
        ["", "shape mismatch: skip"],
        ["overlap", "adapt: copy overlap"],
        ["zeros", "adapt: overlap, zero rest"],
      ].map(([v, t]) => h("option", { value: v, selected: model.get("adapt") === v }, t)),
    );
    const busy = model.get("busy");
    if (exploring(ctx)) {
      const reason = "No model: this widget explores checkpoints; cw.CheckpointWidget(model, path) restores";
      return h(
        "div",
        { class: "ckw-toolbar" },
        h("span", { class: "ckw-tabs", role: "tablist" }, views().map(viewTab)),
        filter,
        h(
          "button",
          { class: "ckw-button ckw-primary", "data-testid": "restore-button", disabled: true, title: reason },
          "Restore (no model)",
        ),
      );
    }
    const total = ctx.ticks().total || 0;
    const fromSources = Object.values(ctx.ticks().counts || {}).filter(Boolean).length;
    return h(
      "div",
      { class: "ckw-toolbar" },
      h("span", { class: "ckw-tabs", role: "tablist" }, views().map(viewTab)),
      alignLayers(),
      filter,
      h("button", { class: "ckw-button", onclick: selectMatching }, "Select matching"),
      h("button", { class: "ckw-button", "data-testid": "clear", onclick: () => send({ type: "clear" }) }, "Clear"),
      adapt,
      h(
        "button",
        {
          class: "ckw-button ckw-primary",
          "data-testid": "restore-button",
          disabled: busy || total === 0,
          onclick: () => send({ type: "restore" }),
        },
        busy
          ? "Restoring…"
          : `Restore ${total} variable${total === 1 ? "" : "s"}` +
              (fromSources > 1 ? ` from ${fromSources} checkpoints` : ""),
      ),
      dryRunButton(ctx, total),
      busy ? progressBar() : null,
      busy
        ? h(
            "button",
            { class: "ckw-button", "data-testid": "cancel-button", onclick: () => send({ type: "cancel" }) },
            "Cancel",
          )
        : null,
    );
  };
}
