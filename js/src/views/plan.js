// The dry run: the Dry run button beside Restore, and the panel showing what Restore would
// do (the kernel's `plan` trait, kept in step with the ticks while shown): per source and
// layer the variables and parameters it would restore, what is ticked but would be skipped
// and why, and the code.
import { h } from "../core/dom.js";
import { bytesText, paramsText, plural } from "../core/format.js";

/**
 * The Dry run button: asks the kernel for the plan of the ticked restore.
 * @param {import("../core/context.js").Context} ctx
 * @param {number} total  variables the Restore button would restore
 */
export function dryRunButton(ctx, total) {
  const shown = Boolean(ctx.model.get("plan")?.summary || ctx.model.get("plan")?.error);
  return h(
    "button",
    {
      class: `ckw-button${shown ? " ckw-active" : ""}`,
      "data-testid": "dry-run-button",
      title: "Show what Restore would restore, skip and run, without changing the model",
      disabled: ctx.model.get("busy") || total === 0,
      onclick: () => ctx.send({ type: "dry_run" }),
    },
    "Dry run",
  );
}

/** @param {import("../core/context.js").Context} ctx */
export function createPlan(ctx) {
  const { model, send } = ctx;

  /**
   * One source's share of the plan, layer by layer.
   * @param {any} source
   * @param {boolean} several  whether the plan restores from several sources
   */
  function sourceBlock(source, several) {
    const head = several ? `${source.label}: ${source.path}` : source.path;
    return h(
      "div",
      { class: "ckw-plan-source", "data-testid": "plan-source", "data-label": source.label },
      h(
        "div",
        { class: "ckw-plan-head" },
        h("span", { class: "ckw-path", title: source.path }, head),
        ` ${plural(source.variables, "variable")} · ${paramsText(source.params)} parameters · ${bytesText(source.nbytes)}`,
      ),
      h(
        "table",
        { class: "ckw-table ckw-plan-layers" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["layer", "variables", "parameters", "size"].map((t) => h("th", {}, t)),
          ),
        ),
        h(
          "tbody",
          {},
          source.layers.map((/** @type {any} */ layer) =>
            h(
              "tr",
              { "data-testid": "plan-layer", "data-layer": layer.layer },
              h("td", {}, layer.layer),
              h("td", { class: "ckw-num" }, String(layer.variables)),
              h("td", { class: "ckw-num", title: layer.params.toLocaleString("en-US") }, paramsText(layer.params)),
              h("td", { class: "ckw-num" }, bytesText(layer.nbytes)),
            ),
          ),
        ),
      ),
      source.layer_count > source.layers.length
        ? h("div", { class: "ckw-note" }, `and ${source.layer_count - source.layers.length} more layers`)
        : null,
    );
  }

  return function planPanel() {
    const plan = model.get("plan");
    if (!plan || !(plan.summary || plan.error)) return null;
    const close = h(
      "button",
      { class: "ckw-button", "data-testid": "close-plan", onclick: () => send({ type: "close_plan" }) },
      "Close",
    );
    if (plan.error) {
      return h(
        "div",
        { class: "ckw-plan", "data-testid": "plan" },
        h("div", { class: "ckw-note", "data-testid": "plan-summary" }, plan.error),
        close,
      );
    }
    const several = plan.sources.length > 1;
    return h(
      "div",
      { class: "ckw-plan", "data-testid": "plan" },
      h("div", { class: "ckw-plan-title" }, "Dry run: nothing has changed yet"),
      h("div", { "data-testid": "plan-summary" }, plan.summary),
      plan.sources.map((/** @type {any} */ s) => sourceBlock(s, several)),
      plan.skipped_count
        ? h(
            "details",
            { "data-testid": "plan-skipped", open: true },
            h("summary", {}, `${plural(plan.skipped_count, "ticked variable")} would be skipped`),
            h(
              "ul",
              {},
              plan.skipped.map((/** @type {any} */ s) => h("li", {}, `${s.model_path || s.name}: ${s.reason}`)),
            ),
          )
        : null,
      h(
        "details",
        { "data-testid": "plan-code-box", open: true },
        h("summary", {}, "The same restore in plain TensorFlow"),
        h("pre", { class: "ckw-code", "data-testid": "plan-code" }, plan.code),
      ),
      h("div", { class: "ckw-actions" }, close),
    );
  };
}
