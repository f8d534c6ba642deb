// The one object every view gets: the synced model, the front end's own view state, the
// requests it sends to the kernel and the redraw hooks. The kernel decides what is ticked
// (its `ticks` trait); the front end only draws it and sends intents.
import { decodeColumns } from "../model/columns.js";
import { themeColours } from "./theme.js";

/**
 * @typedef {import("../model/tree.js").ModelTree} ModelTree
 * @typedef {import("../model/tree.js").TreeNode} TreeNode
 *
 * @typedef {object} AnyModel  the part of anywidget's model the views use
 * @property {(name: string) => any} get
 * @property {(name: string, value: any) => void} set
 * @property {() => void} save_changes
 * @property {(message: any, callbacks?: any, buffers?: any[]) => void} send
 * @property {(event: string, listener: (...args: any[]) => void) => void} on
 * @property {(event: string, listener?: (...args: any[]) => void) => void} off
 *
 * @typedef {object} Histogram  the preview shown (or being drawn)
 * @property {string} path
 * @property {boolean} [loading]
 * @property {string} [url]
 * @property {any[]} [stats]
 * @property {number} [shown]
 * @property {number} [count]
 * @property {number} [limit]
 * @property {number} [scale]
 *
 * @typedef {object} ViewState  what only the front end knows
 * @property {ModelTree} tree
 * @property {Set<string>} expanded
 * @property {string | null} cursor   the tree's row that holds its one Tab stop
 * @property {Set<string>} tickable   rows a tick can add to
 * @property {Set<string>} restored   rows the last restore wrote
 * @property {string} filter
 * @property {string | null} chip
 * @property {string} view            "model" | "checkpoint" | "pairs" | "compare"
 * @property {string | null} chosen
 * @property {Histogram | null} histogram
 * @property {boolean} logCounts      histograms with log-scaled counts
 * @property {boolean} enlarged       the preview image shown over the page
 * @property {any} [compare]        the Compare view's tree, sort and chart (views/compare.js)
 *
 * @typedef {object} Context
 * @property {AnyModel} model
 * @property {HTMLElement} root
 * @property {ViewState} state
 * @property {(message: Record<string, any>) => void} send
 * @property {() => Record<string, any>} ticks
 * @property {(name: string) => Record<string, any[]>} columns  a column-oriented table trait, decoded once
 * @property {(id: string) => string} tickState
 * @property {(ids: string[], on: boolean) => void} setTicked
 * @property {(id: string) => string[]} rowSources
 * @property {(path: string, limit?: number) => void} requestPreview
 * @property {() => Record<string, any[]>} checkpointColumns
 * @property {() => void} draw       redraw everything
 * @property {() => void} drawBody   redraw the table's rows only
 */

/**
 * @param {AnyModel} model
 * @param {HTMLElement} root
 * @param {ViewState} state
 * @returns {Context}
 */
export function createContext(model, root, state) {
  const send = (/** @type {Record<string, any>} */ message) => model.send(message);
  const ticks = () => model.get("ticks") || {};
  /** @type {Map<string, [any, Record<string, any[]>]>} the last value of each table, decoded */
  const tables = new Map();
  /** @param {string} name a column-oriented table trait, decoded once per value */
  const columns = (name) => {
    const value = model.get(name);
    const last = tables.get(name);
    if (last && last[0] === value) return last[1];
    const decoded = decodeColumns(value);
    tables.set(name, [value, decoded]);
    return decoded;
  };
  let askedCheckpoint = false;
  return {
    model,
    root,
    state,
    send,
    ticks,
    columns,
    /** "all", "some" or "none": how the kernel says a row of the active source is ticked. */
    tickState: (id) => ticks().rows?.[id] || "none",
    /** Ask the kernel to tick or untick rows; it answers with new `ticks`. */
    setTicked: (ids, on) => {
      if (ids.length) send({ type: "tick", paths: ids, on });
    },
    /** Letters of the sources ticking a variable at or below a row (the active one included). */
    rowSources: (id) => ticks().sources?.[id] || [],
    /** Ask the kernel for histograms of `path`, drawn in the theme's colours. */
    requestPreview: (path, limit) => {
      // In the Compare view a name overlays both sides' histograms.
      const type = state.view === "compare" ? "overlay" : "preview";
      const message = { type, path, theme: themeColours(root), log: state.logCounts };
      send(limit ? { ...message, limit } : message);
    },
    /** The checkpoint's own rows (`ckpt_rows`): the kernel builds them when first asked,
     * not with the widget, so the first ask sends for them; `{}` until they come. */
    checkpointColumns: () => {
      const cols = columns("ckpt_rows");
      if (!cols.id && !askedCheckpoint) {
        askedCheckpoint = true;
        send({ type: "checkpoint_rows" });
      }
      return cols;
    },
    draw: () => {},
    drawBody: () => {},
  };
}
