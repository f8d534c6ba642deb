// Redrawing replaces elements: keep keyboard focus on the same row, tab or box.

/**
 * @typedef {{ tab?: string, remove?: string, pair?: string, part?: string, path?: string,
 *   box?: boolean }} Focus
 */

/**
 * Where the focus is inside `root`, said so it can be found again after a redraw.
 * @param {HTMLElement} root
 * @returns {Focus | null}
 */
export function focusedRow(root) {
  const active = /** @type {HTMLElement | null} */ (document.activeElement);
  if (!active || !root.contains(active)) return null;
  if (active.dataset.testid === "source-tab") return { tab: active.dataset.source };
  if (active.dataset.testid === "remove-source") return { remove: active.dataset.source };
  const pairEl = /** @type {HTMLElement | null} */ (active.closest("[data-testid=pair-row]"));
  if (pairEl) return { pair: pairEl.dataset.modelLayer, part: active.tagName };
  const rowEl = /** @type {HTMLElement | null} */ (active.closest("[data-testid=ckpt-row]"));
  return rowEl ? { path: rowEl.dataset.path, box: active.tagName === "INPUT" } : null;
}

/**
 * Focus again what `focusedRow` found, in the redrawn DOM.
 * @param {HTMLElement} root
 * @param {Focus | null} focus
 * @param {string} active the active source's letter
 */
export function refocus(root, focus, active) {
  if (!focus) return;
  /** @type {(selector: string) => HTMLElement | null} */
  const find = (selector) => root.querySelector(selector);
  if (focus.remove) {
    // Until the kernel removes it, focus stays on the ×; then it goes to the active tab.
    const remove = find(`[data-testid=remove-source][data-source="${focus.remove}"]`);
    const tab = find(`[data-testid=source-tab][data-source="${active}"]`);
    if (remove || tab) (remove || tab)?.focus();
    return;
  }
  if (focus.tab) {
    find(`[data-testid=source-tab][data-source="${focus.tab}"]`)?.focus();
    return;
  }
  if (focus.pair) {
    /** @type {HTMLElement[]} */
    const pairs = [...root.querySelectorAll("[data-testid=pair-row]")].map((e) => /** @type {HTMLElement} */ (e));
    const pairEl = pairs.find((r) => r.dataset.modelLayer === focus.pair);
    const target = pairEl && (focus.part === "TR" ? pairEl : pairEl.querySelector(focus.part || "*"));
    if (target) /** @type {HTMLElement} */ (target).focus();
    return;
  }
  /** @type {HTMLElement[]} */
  const rows = [...root.querySelectorAll("[data-testid=ckpt-row]")].map((e) => /** @type {HTMLElement} */ (e));
  const rowEl = rows.find((r) => r.dataset.path === focus.path);
  if (!rowEl) return;
  const target = focus.box ? rowEl.querySelector("input") : rowEl;
  if (target) target.focus();
}
