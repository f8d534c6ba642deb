// The rename rules box: regex rules typed per source, sent to the kernel as they settle.
import { h } from "../core/dom.js";
import { plural } from "../core/format.js";

/** @param {import("../core/context.js").Context} ctx */
export function createRules(ctx) {
  const { model, state, send } = ctx;
  // The rules box lives across redraws, so typing keeps its focus while results arrive.
  const rulesBox = h("textarea", {
    class: "ckw-rules",
    "data-testid": "rules",
    rows: "2",
    placeholder: "rename rules, one per line:  ^model/old_head/ => model/head/",
    "aria-label": "rename rules",
  });
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let rulesTimer;
  rulesBox.addEventListener("input", () => {
    state.rules[model.get("active")] = rulesBox.value;
    clearTimeout(rulesTimer);
    rulesTimer = setTimeout(() => send({ type: "rules", text: rulesBox.value }), 400);
  });
  const rulesSummary = h("summary", {});
  const rulesDetails = h("details", { class: "ckw-rules-panel" }, rulesSummary, rulesBox);
  let shownFor = model.get("active");

  return function rulesPanel() {
    if (model.get("header").explore) return null; // no model to rename into
    const active = model.get("active");
    if (active !== shownFor) rulesBox.value = state.rules[active] || ""; // another source's rules
    shownFor = active;
    const renamed = model.get("header").counts?.renamed || 0;
    rulesSummary.textContent = `Rename rules (regex)${renamed ? `: ${plural(renamed, "variable")} paired` : ""}`;
    return rulesDetails;
  };
}
