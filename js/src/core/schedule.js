// One draw per turn: the kernel's changes of several traits (one message) and a view's own
// requests made in the same turn draw once, in a microtask after them.

/**
 * @param {{ all: () => void, body: () => void }} drawers  draw everything / the table's rows
 * @param {(task: () => void) => void} [later]  when to draw (a microtask; tests pass their own)
 * @returns {{ draw: () => void, drawBody: () => void }}
 */
export function createScheduler(drawers, later = queueMicrotask) {
  /** @type {"all" | "body" | null} */
  let pending = null;
  const flush = () => {
    const what = pending;
    pending = null;
    if (what === "all") drawers.all();
    else if (what === "body") drawers.body();
  };
  /** @param {"all" | "body"} what */
  const request = (what) => {
    if (pending === null) later(flush);
    if (pending !== "all") pending = what;
  };
  return { draw: () => request("all"), drawBody: () => request("body") };
}

/**
 * Run `task` when the browser is idle (within `timeout` ms even if it never is): work the
 * first paint does not need, such as the rest of a 10 000-row tree.
 * @param {() => void} task
 * @param {number} [timeout]
 */
export function whenIdle(task, timeout = 1000) {
  if (typeof requestIdleCallback === "function") requestIdleCallback(task, { timeout });
  else setTimeout(task, 0);
}
