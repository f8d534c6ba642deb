// One-line banners: the last error, the hint when (almost) nothing matches, a notice.
import { h } from "../core/dom.js";

/** @typedef {import("../core/context.js").Context} Context */

/** @param {Context} ctx */
export function createErrorBanner(ctx) {
  return function errorBanner() {
    const error = ctx.model.get("error");
    if (!error) return null;
    return h("div", { class: "ckw-error", role: "alert", "data-testid": "error" }, error);
  };
}

/**
 * When (almost) nothing matches: what was found and what to try, with Align layers at hand.
 * @param {Context} ctx
 */
export function createHintBanner(ctx) {
  return function hintBanner() {
    const info = ctx.model.get("header");
    if (!info.hint) return null;
    return h(
      "div",
      { class: "ckw-notice ckw-hint", role: "status", "data-testid": "hint" },
      info.hint,
      " ",
      info.align
        ? null
        : h(
            "button",
            {
              class: "ckw-button",
              "data-testid": "hint-align",
              onclick: () => ctx.send({ type: "set_align", on: true }),
            },
            "Align layers",
          ),
    );
  };
}

/** @param {Context} ctx */
export function createNoticeBanner(ctx) {
  return function noticeBanner() {
    const notice = ctx.model.get("notice");
    if (!notice) return null;
    return h("div", { class: "ckw-notice", role: "status", "data-testid": "notice" }, notice);
  };
}
