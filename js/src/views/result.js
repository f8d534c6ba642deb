// The last restore's result: summary, what was not restored, Undo, the code to copy.
import { h } from "../core/dom.js";
import { plural } from "../core/format.js";

/** @param {import("../core/context.js").Context} ctx */
export function createResult(ctx) {
  const { model, send } = ctx;

  return function resultPanel() {
    const result = model.get("result");
    if (!result?.summary) return null;
    const code = h("pre", { class: "ckw-code", "data-testid": "restore-code", hidden: true }, result.code);
    const copy = h(
      "button",
      {
        class: "ckw-button",
        "data-testid": "copy-code",
        hidden: true,
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(result.code);
            copy.textContent = "Copied";
          } catch {
            const range = document.createRange();
            range.selectNodeContents(code);
            const selection = window.getSelection();
            selection?.removeAllRanges();
            selection?.addRange(range);
            copy.textContent = "Selected: press Ctrl+C";
          }
        },
      },
      "Copy",
    );
    return h(
      "div",
      { class: "ckw-result", "data-testid": "restore-result" },
      h("div", {}, result.summary),
      result.skipped_count
        ? h(
            "details",
            { "data-testid": "skipped" },
            h("summary", {}, `${plural(result.skipped_count, "ticked variable")} not restored`),
            h(
              "ul",
              {},
              result.skipped.map((/** @type {any} */ s) => h("li", {}, `${s.model_path || s.name}: ${s.reason}`)),
            ),
          )
        : null,
      result.not_selected
        ? h(
            "div",
            { class: "ckw-note", "data-testid": "not-selected" },
            `${plural(result.not_selected, "variable")} not ticked, left as they were.`,
          )
        : null,
      h(
        "div",
        { class: "ckw-actions" },
        h(
          "button",
          {
            class: "ckw-button",
            "data-testid": "undo-button",
            disabled: !result.can_undo || model.get("busy"),
            onclick: () => send({ type: "undo" }),
          },
          "Undo",
        ),
        result.undo_conflict
          ? h(
              "button",
              {
                class: "ckw-button",
                "data-testid": "undo-anyway",
                title: "Restored variables changed since the restore; put the old values back anyway",
                onclick: () => send({ type: "undo", force: true }),
              },
              "Undo anyway",
            )
          : null,
        h(
          "button",
          {
            class: "ckw-button",
            "data-testid": "show-code",
            onclick: (/** @type {any} */ e) => {
              code.hidden = !code.hidden;
              copy.hidden = code.hidden;
              e.target.textContent = code.hidden ? "Show code" : "Hide code";
            },
          },
          "Show code",
        ),
        copy,
      ),
      code,
    );
  };
}
