// Words and numbers as the widget shows them. Pure functions: unit tested in js/test/.

/**
 * The words shown for the API's statuses (README's status table lists both).
 * @type {Record<string, string>}
 */
export const STATUS_LABELS = {
  match: "matched",
  shape_mismatch: "shape differs",
  dtype_mismatch: "dtype differs",
  missing: "model only",
  unused: "checkpoint only",
  untracked: "untracked",
  optimizer: "optimizer",
};

/**
 * A status in the widget's words (the status itself when it has none).
 * @param {string} status
 */
export function statusLabel(status) {
  return STATUS_LABELS[status] || status;
}

/**
 * A statistic in at most about 8 characters: 4 significant digits, or 3 in e-notation.
 * @param {unknown} v
 */
export function statText(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v !== "number") return String(v);
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

/**
 * "1 variable", "2 variables".
 * @param {number} n
 * @param {string} word
 */
export function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * A shape as Python prints a tuple: "(3, 4)", "(5,)", "()"; "" when there is none.
 * @param {number[] | null | undefined} shape
 */
export function shapeText(shape) {
  return shape ? `(${shape.join(", ")}${shape.length === 1 ? "," : ""})` : "";
}

/**
 * Bytes in B, KB, MB or GB (powers of 1024, one decimal above bytes).
 * @param {number} n
 */
export function bytesText(n) {
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

/**
 * A computed CSS colour ("rgb(r, g, b)" or "rgba(...)") as "#rrggbb"; null if unreadable.
 * @param {string | null | undefined} css
 */
export function hexColour(css) {
  const parts = /rgba?\(([^)]+)\)/.exec(css || "");
  if (!parts) return null;
  const [r, g, b] = parts[1].split(/[ ,/]+/).map(Number);
  if ([r, g, b].some((c) => !Number.isFinite(c))) return null;
  return `#${[r, g, b].map((c) => Math.round(c).toString(16).padStart(2, "0")).join("")}`;
}
