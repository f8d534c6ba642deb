// A filter chip of the header (a status with a model, a group without one).
import { h } from "../core/dom.js";

/**
 * A chip filtering the tree to rows whose `kind` ("status" or "group") is `value`:
 * pressed while `state.chip` is `value`; a click presses or releases it, then `after()`
 * (if given) and a redraw.
 * @param {import("../core/context.js").Context} ctx
 * @param {string} kind
 * @param {string} value
 * @param {string} text
 * @param {string} title
 * @param {() => void} [after]
 */
export function chip(ctx, kind, value, text, title, after) {
  const { state } = ctx;
  const pressed = state.chip === value;
  return h(
    "button",
    {
      class: `ckw-chip ckw-${kind}-${value}${pressed ? " ckw-active" : ""}`,
      "data-testid": `${kind}-chip`,
      [`data-${kind}`]: value,
      "aria-pressed": pressed ? "true" : "false",
      title,
      onclick: () => {
        state.chip = state.chip === value ? null : value;
        after?.();
        ctx.draw();
      },
    },
    text,
  );
}
