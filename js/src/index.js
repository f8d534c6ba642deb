// ckpt-widgets front end: draws the synced state of CheckpointWidget and sends requests.
// No logic about checkpoints lives here: the kernel decides, this module only shows.
// Each part of the widget is a view module in views/ (see js/README.md); this file builds
// the shared context, lays the views out in order and redraws them on the kernel's changes.
import { createContext } from "./core/context.js";
import { h } from "./core/dom.js";
import { focusedRow, refocus } from "./core/focus.js";
import { createScheduler, whenIdle } from "./core/schedule.js";
import { themeColours } from "./core/theme.js";
import { buildTree } from "./model/tree.js";
import { createErrorBanner, createHintBanner, createNoticeBanner } from "./views/banners.js";
import { createCompareBar, receiveChart } from "./views/compare.js";
import { createHeader } from "./views/header.js";
import { createPlan } from "./views/plan.js";
import { createPreview, receiveHistogram } from "./views/preview.js";
import { createResult } from "./views/result.js";
import { createRules } from "./views/rules.js";
import { createSourceBar } from "./views/sources.js";
import { createTable } from "./views/table.js";
import { createToolbar } from "./views/toolbar.js";

/** Synced traits whose change only needs everything drawn again. */
const REDRAWS = [
  "ticks",
  "header",
  "result",
  "error",
  "notice",
  "busy",
  "adapt",
  "ckpt_rows",
  "progress",
  "rules_text",
  "plan",
];

/**
 * anywidget's entry point: draw the widget into `el`; returns the cleanup anywidget calls.
 * @param {{ model: import("./core/context.js").AnyModel, el: HTMLElement }} props
 */
export function render({ model, el }) {
  // User Timing marks (DevTools' Performance panel, performance.getEntriesByName): where
  // the first paint's time goes in the front end; see benchmarks/README.md.
  performance.mark("ckw:render");
  /** @type {import("./core/context.js").ViewState} */
  const state = {
    tree: buildTree({}), // the kernel's rows, once the context has decoded them (below)
    expanded: new Set(),
    cursor: null,
    tickable: new Set(model.get("tickable") || []),
    restored: new Set(model.get("restored") || []),
    filter: "",
    chip: null,
    view: "model",
    chosen: null,
    histogram: null,
    logCounts: false,
    enlarged: false,
  };
  const root = h("div", { class: "ckw", "data-testid": "ckpt-widget" });
  el.append(root);
  const ctx = createContext(model, root, state);
  const rows = ctx.columns("rows");
  performance.mark("ckw:rows-decoded");
  state.tree = buildTree(rows); // the top rows only: the rest after the first paint
  if (state.tree.size <= 200) {
    for (const node of state.tree.nodes) if (node.kind === "module") state.expanded.add(node.id);
  }
  performance.mark("ckw:tree-built");

  const sourceBar = createSourceBar(ctx);
  const header = createHeader(ctx);
  const toolbar = createToolbar(ctx);
  const errorBanner = createErrorBanner(ctx);
  const hintBanner = createHintBanner(ctx);
  const noticeBanner = createNoticeBanner(ctx);
  const rulesPanel = createRules(ctx);
  const { table, drawBody } = createTable(ctx);
  const preview = createPreview(ctx);
  const resultPanel = createResult(ctx);
  const planPanel = createPlan(ctx);
  const compareBar = createCompareBar(ctx);

  function drawAll() {
    const parts = [
      sourceBar(),
      header(),
      toolbar(),
      compareBar(),
      errorBanner(),
      hintBanner(),
      noticeBanner(),
      rulesPanel(),
      h("div", { class: "ckw-main" }, table(), preview()),
      planPanel(),
      resultPanel(),
    ];
    root.replaceChildren(.../** @type {Node[]} */ (parts.filter(Boolean)));
  }

  let alive = true; // until anywidget calls the cleanup
  function drawNow() {
    if (!alive) return;
    const focus = focusedRow(root);
    // A box that lives across redraws (rules, add source) keeps its focus and caret.
    const active = /** @type {HTMLInputElement | null} */ (document.activeElement);
    const typing = active && root.contains(active) && typeof active.selectionStart === "number" ? active : null;
    const [start, end] = typing ? [typing.selectionStart, typing.selectionEnd] : [0, 0];
    drawAll();
    refocus(root, focus, model.get("active"));
    if (typing?.isConnected) {
      typing.focus();
      typing.setSelectionRange(start, end);
    }
  }

  // Every draw goes through the scheduler: one per turn, whatever asked for it.
  Object.assign(ctx, createScheduler({ all: drawNow, body: drawBody }));

  const onRows = () => {
    state.tree = buildTree(ctx.columns("rows"));
    ctx.draw();
    whenIdle(() => state.tree.finish());
  };
  const onTickable = () => {
    state.tickable = new Set(model.get("tickable") || []);
    ctx.draw();
  };
  const onActive = () => {
    if (state.chosen) ctx.requestPreview(state.chosen); // this source's values
    ctx.draw();
  };
  const onPairs = () => {
    if (state.view === "pairs" && !(model.get("pairs") || []).length) state.view = "model";
    ctx.draw();
  };
  const onAdapt = () => {
    if (state.chosen) ctx.requestPreview(state.chosen); // show the adapted tensor
  };
  const onRestored = () => {
    state.restored = new Set(model.get("restored") || []);
    ctx.drawBody();
  };
  const onMessage = (/** @type {any} */ message, /** @type {any[]} */ buffers) => {
    if (message.type === "histogram") receiveHistogram(ctx, message, buffers);
    if (message.type === "compare_chart") receiveChart(ctx, message, buffers);
  };
  // The plots follow the theme: draw them again when JupyterLab switches it.
  const themeWatch = new MutationObserver(() => {
    const hist = state.histogram;
    if (hist && !hist.loading) ctx.requestPreview(hist.path, hist.limit);
    if (state.view === "compare" && model.get("comparison")?.rows)
      ctx.send({ type: "chart", theme: themeColours(root) });
  });
  themeWatch.observe(document.body, {
    attributes: true,
    attributeFilter: ["data-jp-theme-name", "data-jp-theme-light"],
  });
  /** @type {[string, (...args: any[]) => void][]} */
  const listeners = [
    ["msg:custom", onMessage],
    ["change:rows", onRows],
    ["change:tickable", onTickable],
    ["change:sources", ctx.draw],
    ["change:active", onActive],
    ["change:pairs", onPairs],
    ["change:adapt", onAdapt],
    ["change:restored", onRestored],
    ["change:comparison", ctx.draw],
    ...REDRAWS.map((name) => /** @type {[string, () => void]} */ ([`change:${name}`, ctx.draw])),
  ];
  for (const [event, listener] of listeners) model.on(event, listener);
  drawNow();
  performance.mark("ckw:first-draw");
  whenIdle(() => state.tree.finish()); // before the first expand, filter or preview needs it
  return () => {
    alive = false;
    for (const [event, listener] of listeners) model.off(event, listener);
    themeWatch.disconnect();
    if (state.histogram?.url) URL.revokeObjectURL(state.histogram.url);
  };
}

export default { render };
