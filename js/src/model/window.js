// Which rows are drawn: at most `limit` at once; a filter narrows the rest.

/** Rows drawn at once. */
export const MAX_ROWS = 1500;

/**
 * The rows to draw and how many are left out.
 * @template T
 * @param {T[]} rows
 * @param {number} [limit]
 * @returns {{ shown: T[], more: number }}
 */
export function rowWindow(rows, limit = MAX_ROWS) {
  return { shown: rows.slice(0, limit), more: Math.max(0, rows.length - limit) };
}
