// Keyboard navigation of the tree (the ARIA treegrid pattern), as a pure function: a key,
// the focused row and the rows shown -> what to do. The view carries it out.

/**
 * A row as the keyboard sees it.
 * @typedef {object} NavRow
 * @property {string} id
 * @property {number} depth      0 at the top
 * @property {boolean} module    has (or may have) children
 * @property {boolean} open      its children are shown (the next rows, one level deeper)
 * @property {boolean} [fixed]   open or shut as it is (a filter shows every match open)
 */

/**
 * What a key asks for.
 * @typedef {{ type: "move", index: number } | { type: "expand" | "collapse" | "tick" | "preview",
 *   id: string }} KeyIntent
 */

/**
 * What `key` asks for on row `index` of `rows`; null when the key does nothing there.
 * Up/Down move, Home/End go to the first/last row, Right opens a shut module or moves to
 * its first child, Left shuts an open module or moves to the parent, Space ticks, Enter
 * shows the preview.
 * @param {string} key         KeyboardEvent.key
 * @param {number} index       the focused row
 * @param {NavRow[]} rows      the rows shown, in order
 * @returns {KeyIntent | null}
 */
export function treeKey(key, index, rows) {
  const row = rows[index];
  if (!row) return null;
  /** @type {(i: number) => KeyIntent | null} */
  const move = (i) => (i >= 0 && i < rows.length && i !== index ? { type: "move", index: i } : null);
  switch (key) {
    case "ArrowDown":
      return move(index + 1);
    case "ArrowUp":
      return move(index - 1);
    case "Home":
      return move(0);
    case "End":
      return move(rows.length - 1);
    case "ArrowRight":
      if (!row.module) return null;
      if (!row.open) return row.fixed ? null : { type: "expand", id: row.id };
      return rows[index + 1] && rows[index + 1].depth > row.depth ? move(index + 1) : null;
    case "ArrowLeft":
      if (row.module && row.open && !row.fixed) return { type: "collapse", id: row.id };
      return move(parentIndex(rows, index));
    case " ":
      return { type: "tick", id: row.id };
    case "Enter":
      return { type: "preview", id: row.id };
    default:
      return null;
  }
}

/**
 * The index of the row's parent: the nearest row above it one level up; -1 at the top.
 * @param {NavRow[]} rows
 * @param {number} index
 */
export function parentIndex(rows, index) {
  const depth = rows[index].depth;
  for (let i = index - 1; i >= 0; i--) if (rows[i].depth < depth) return i;
  return -1;
}
