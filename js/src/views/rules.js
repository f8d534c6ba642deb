// The rename rules box. Its text is the kernel's `rules_text` (the active source's rules),
// so it survives a re-display and follows the active source; typing sets it once it settles.
import { h } from "../core/dom.js";
import { plural } from "../core/format.js";

/** @param {import("../core/context.js").Context} ctx */
export function createRules(ctx) {
  const { model } = ctx;
  // The rules box lives across redraws, so typing keeps its focus while results arrive.
  const rulesBox = h("textarea", {
    class: "ckw-rules",
    "data-testid": "rules",
    rows: "2",
    placeholder: "rename rules, one per line:  ^model/old_head/ => model/head/",
    "aria-label": "rename rules",
  });
  /** The text last sent or received: the box takes the kernel's text only when it changes. */
  let seen = model.get("rules_text") || "";
  rulesBox.value = seen;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let rulesTimer;
  rulesBox.addEventListener("input", () => {
    clearTimeout(rulesTimer);
    rulesTimer = setTimeout(() => {
      seen = rulesBox.value;
      model.set("rules_text", seen);
      model.save_changes();
    }, 400);
  });
  const rulesSummary = h("summary", {});
  const rulesDetails = h("details", { class: "ckw-rules-panel", open: Boolean(seen) }, rulesSummary, rulesBox);

  return function rulesPanel() {
    if (model.get("header").explore) return null; // no model to rename into
    const text = model.get("rules_text") || "";
    if (text !== seen) rulesBox.value = seen = text; // another source's rules, or a script's
    const renamed = model.get("header").counts?.renamed || 0;
    rulesSummary.textContent = `Rename rules (regex)${renamed ? `: ${plural(renamed, "variable")} paired` : ""}`;
    return rulesDetails;
  };
}
