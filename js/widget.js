// ckpt-widgets front end: draws the synced state of CheckpointWidget and sends requests.
// No logic about checkpoints lives here: the kernel decides, this module only shows.

// The words shown for the API's statuses (README's status table lists both).
const STATUS_LABELS = {
  match: "matched",
  shape_mismatch: "shape differs",
  dtype_mismatch: "dtype differs",
  missing: "model only",
  unused: "checkpoint only",
  untracked: "untracked",
  optimizer: "optimizer",
};
// Plot colours sent with a preview request: the theme's, read from JupyterLab's variables.
const THEME_VARIABLES = {
  foreground: ["--jp-ui-font-color1", "#222222"],
  background: ["--jp-layout-color1", "#ffffff"],
  checkpoint: ["--jp-brand-color1", "#1976d2"],
  model: ["--jp-warn-color1", "#ef6c00"],
};
const STAT_COLUMNS = [
  // [key, heading, shown only when some row has a non-zero value]
  ["mean", "mean", false],
  ["std", "std", false],
  ["min", "min", false],
  ["max", "max", false],
  ["zeros_pct", "zeros %", false],
  ["nan", "NaN", true],
  ["inf", "Inf", true],
  ["l2", "L2", false],
];
const PAIRED_BY = {
  // how a layer pair was made -> [words, the status colour it is drawn in]
  align: ["align", "match"],
  rename: ["by hand", "unused"],
  ambiguous: ["ambiguous", "missing"],
  unpaired: ["unpaired", "missing"],
};
const MAX_ROWS = 1500; // rows drawn at once; a filter narrows the rest

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) el.append(child);
  }
  return el;
}

/** A statistic in at most about 8 characters: 4 significant digits, or 3 in e-notation. */
function statText(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v !== "number") return String(v);
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

/** "1 variable", "2 variables". */
function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** A computed CSS colour ("rgb(r, g, b)" or "rgba(...)") as "#rrggbb"; null if unreadable. */
function hexColour(css) {
  const parts = /rgba?\(([^)]+)\)/.exec(css || "");
  if (!parts) return null;
  const [r, g, b] = parts[1].split(/[ ,/]+/).map(Number);
  if ([r, g, b].some((c) => !Number.isFinite(c))) return null;
  return "#" + [r, g, b].map((c) => Math.round(c).toString(16).padStart(2, "0")).join("");
}

/** The theme's colours where `el` is drawn, as the kernel's preview() takes them. */
function themeColours(el) {
  const probe = document.createElement("span");
  el.append(probe);
  const theme = {};
  for (const [key, [variable, fallback]] of Object.entries(THEME_VARIABLES)) {
    probe.style.color = `var(${variable}, ${fallback})`;
    theme[key] = hexColour(getComputedStyle(probe).color) || fallback;
  }
  probe.remove();
  return theme;
}

function shapeText(shape) {
  return shape ? `(${shape.join(", ")}${shape.length === 1 ? "," : ""})` : "";
}

function bytesText(n) {
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

function globToRegExp(text) {
  const escaped = text.replace(/[.+^${}()|\\]/g, "\\$&");
  return new RegExp("^" + escaped.replace(/\*/g, ".*").replace(/\?/g, ".") + "$", "i");
}

/** The model tree built once from the column-oriented rows the kernel sends. */
function buildTree(columns) {
  const n = columns.id ? columns.id.length : 0;
  const nodes = [];
  const index = new Map();
  for (let i = 0; i < n; i++) {
    const node = {
      i,
      id: columns.id[i],
      parent: columns.parent[i],
      kind: columns.kind[i],
      label: columns.label[i],
      title: columns.title[i],
      status: columns.status[i],
      modelShape: columns.model_shape[i],
      ckptShape: columns.ckpt_shape[i],
      dtype: columns.dtype[i],
      nbytes: columns.nbytes[i],
      layer: columns.layer[i],
      group: columns.group[i],
      children: [],
      vars: [], // variable descendants (for modules)
    };
    nodes.push(node);
    index.set(node.id, node);
  }
  const roots = [];
  for (const node of nodes) {
    const parent = node.parent ? index.get(node.parent) : null;
    node.parentNode = parent || null;
    (parent ? parent.children : roots).push(node);
  }
  for (const node of nodes) {
    if (node.kind !== "variable") continue;
    for (let p = node.parentNode; p; p = p.parentNode) p.vars.push(node);
  }
  return { nodes, index, roots };
}

function render({ model, el }) {
  const state = {
    tree: buildTree(model.get("rows")),
    expanded: new Set(),
    tickable: new Set(model.get("tickable") || []), // rows a tick can add to
    restored: new Set(model.get("restored") || []), // rows the last restore wrote
    filter: "",
    chip: null,
    view: "model",
    chosen: null,
    histogram: null,
    logCounts: false, // histograms with log-scaled counts
    enlarged: false, // the preview image shown over the page
    rules: {}, // rename rules typed per source letter
  };
  if (state.tree.nodes.length <= 200) {
    for (const node of state.tree.nodes) if (node.kind === "module") state.expanded.add(node.id);
  }

  const root = h("div", { class: "ckw", "data-testid": "ckpt-widget" });
  el.append(root);

  // -- ticks: the kernel decides what is ticked (its `ticks` trait); this only draws it ----
  const ticks = () => model.get("ticks") || {};

  /** "all", "some" or "none": how the kernel says a row of the active source is ticked. */
  function tickState(id) {
    return (ticks().rows || {})[id] || "none";
  }

  /** Ask the kernel to tick or untick rows; it answers with new `ticks`. */
  function setTicked(ids, on) {
    if (ids.length) send({ type: "tick", paths: ids, on });
  }

  /** Letters of the sources ticking a variable at or below a row (the active one included). */
  function rowSources(node) {
    return (ticks().sources || {})[node.id] || [];
  }

  // -- filtering ---------------------------------------------------------------------
  function matches(node) {
    if (state.chip && node.kind === "variable" && node.status !== state.chip) return false;
    if (state.chip && node.kind === "module") return false;
    if (!state.filter) return true;
    const text = state.filter;
    const fields = [node.label, node.title, node.id, node.layer || ""];
    if (/[*?]/.test(text)) {
      const re = globToRegExp(text);
      return fields.some((f) => re.test(f));
    }
    const lower = text.toLowerCase();
    return fields.some((f) => f.toLowerCase().includes(lower));
  }

  function visibleRows() {
    const rows = [];
    const filtering = Boolean(state.filter || state.chip);
    const show = new Set();
    if (filtering) {
      for (const node of state.tree.nodes) {
        if (!matches(node)) continue;
        show.add(node);
        for (const v of node.vars) show.add(v);
        for (let p = node.parentNode; p; p = p.parentNode) show.add(p);
      }
    }
    const walk = (node, depth) => {
      if (filtering && !show.has(node)) return;
      rows.push([node, depth]);
      if (node.kind === "module" && (filtering || state.expanded.has(node.id))) {
        for (const child of node.children) walk(child, depth + 1);
      }
    };
    state.tree.roots.forEach((node) => walk(node, 0));
    return rows;
  }

  /** Tick what the filter shows (everything without a filter), as rows of the tree. */
  function selectMatching() {
    const filtering = Boolean(state.filter || state.chip);
    const chosen = new Set();
    for (const node of state.tree.nodes) {
      if (filtering && !matches(node)) continue;
      if (!state.tickable.has(node.id)) continue;
      let covered = false;
      for (let p = node.parentNode; p && !covered; p = p.parentNode) covered = chosen.has(p.id);
      if (!covered) chosen.add(node.id);
    }
    setTicked([...chosen], true);
  }

  // -- requests to the kernel --------------------------------------------------------
  function send(message) {
    model.send(message);
  }

  /** Ask the kernel for histograms of `path`, drawn in the theme's colours. */
  function requestPreview(path, limit) {
    const message = { type: "preview", path, theme: themeColours(root), log: state.logCounts };
    send(limit ? { ...message, limit } : message);
  }

  function choose(node) {
    state.chosen = node.id;
    state.histogram = { path: node.id, loading: true };
    requestPreview(node.id);
    draw();
  }

  model.on("msg:custom", (message, buffers) => {
    if (message.type !== "histogram") return;
    if (state.histogram && state.histogram.url) URL.revokeObjectURL(state.histogram.url);
    const blob = new Blob([buffers[0]], { type: "image/png" });
    state.histogram = {
      path: message.path,
      url: URL.createObjectURL(blob),
      stats: message.stats,
      shown: message.shown,
      count: message.count,
      limit: message.limit,
      scale: message.scale || 1,
    };
    draw();
  });

  // -- drawing -----------------------------------------------------------------------
  function sourceBadge(label, title) {
    return h("span", { class: "ckw-source", title }, label);
  }

  // The add box lives across redraws, so what is typed survives results arriving.
  const addInput = h("input", {
    class: "ckw-add-source",
    type: "text",
    "data-testid": "add-source-input",
    placeholder: "path of another checkpoint",
    "aria-label": "checkpoint to add",
    onkeydown: (e) => {
      if (e.key === "Enter") addSource();
    },
  });
  const addButton = h(
    "button",
    {
      class: "ckw-button",
      "data-testid": "add-source-button",
      title: "Open another checkpoint and match it against the model",
      onclick: () => addSource(),
    },
    "Add checkpoint",
  );
  function addSource() {
    send({ type: "add_source", path: addInput.value });
  }

  /** The × beside a source tab: drops that checkpoint and its ticks. */
  function removeButton(label) {
    return h(
      "button",
      {
        class: "ckw-source-remove",
        "data-testid": "remove-source",
        "data-source": label,
        "aria-label": `remove checkpoint ${label}`,
        title: `Remove checkpoint ${label} and its ticks`,
        onclick: () => send({ type: "remove_source", label }),
      },
      "×",
    );
  }

  function sourceBar() {
    const active = model.get("active");
    const counts = ticks().counts || {};
    const sources = model.get("sources") || [];
    const tabs = sources.map((source) =>
      h(
        "span",
        { class: "ckw-source-group", role: "presentation" },
        h(
          "button",
          {
            role: "tab",
            class: "ckw-tab ckw-source-tab" + (source.label === active ? " ckw-active" : ""),
            "data-testid": "source-tab",
            "data-source": source.label,
            "aria-selected": source.label === active ? "true" : "false",
            "aria-label": `source ${source.label}`,
            title: `${source.path} (root: ${source.root || "(root)"})`,
            onclick: () => source.label !== active && send({ type: "show_source", label: source.label }),
          },
          sourceBadge(source.label),
          h("span", { class: "ckw-source-path" }, source.path.split("/").slice(-2).join("/")),
          counts[source.label] ? h("span", { class: "ckw-note" }, `${counts[source.label]} ticked`) : null,
        ),
        sources.length > 1 ? removeButton(source.label) : null,
      ),
    );
    return h(
      "div",
      { class: "ckw-sources" },
      h("span", { class: "ckw-source-tabs", role: "tablist", "aria-label": "checkpoints" }, tabs),
      addInput,
      addButton,
    );
  }

  function header() {
    const info = model.get("header");
    const counts = info.counts || {};
    const select = h(
      "select",
      {
        class: "ckw-root",
        title: "Where the model sits in the checkpoint",
        "aria-label": "checkpoint root",
        onchange: (e) => send({ type: "set_root", root: e.target.value }),
      },
      (info.roots || []).map((r) => {
        const n = (info.root_counts || {})[r];
        const label = (r || "(root)") + (n === undefined ? "" : ` — ${plural(n, "variable")} matched`);
        return h("option", { value: r, selected: r === info.root }, label);
      }),
    );
    const chips = Object.keys(STATUS_LABELS)
      .filter((s) => counts[s])
      .map((s) =>
        h(
          "button",
          {
            class: `ckw-chip ckw-status-${s}` + (state.chip === s ? " ckw-active" : ""),
            "data-testid": "status-chip",
            "data-status": s,
            "aria-pressed": state.chip === s ? "true" : "false",
            title: `status '${s}' in m.table`,
            onclick: () => {
              state.chip = state.chip === s ? null : s;
              if (state.chip === "optimizer" || state.chip === "unused") state.view = "checkpoint";
              draw();
            },
          },
          `${STATUS_LABELS[s]} ${counts[s]}`,
        ),
      );
    return h(
      "div",
      { class: "ckw-header" },
      h("span", { class: "ckw-path", title: info.checkpoint }, info.checkpoint),
      h("label", { class: "ckw-field" }, "root ", select),
      info.model_root ? h("span", { class: "ckw-note" }, `→ model's ${info.model_root}`) : null,
      h("span", { class: "ckw-chips" }, chips),
      h(
        "button",
        {
          class: "ckw-button",
          "data-testid": "align",
          title:
            "Pair the variables that paths leave unpaired by aligning shapes and names " +
            "(like a diff), as rename pairs",
          onclick: () => send({ type: "align" }),
        },
        "Suggest renames",
      ),
      h(
        "button",
        {
          class: "ckw-button",
          "data-testid": "refresh",
          title: "Match again, after the model or the checkpoint changed",
          onclick: () => send({ type: "refresh" }),
        },
        "Refresh",
      ),
    );
  }

  function toolbar() {
    const filter = h("input", {
      class: "ckw-filter",
      type: "search",
      placeholder: "filter: text or glob (conv*)",
      "aria-label": "filter",
      value: state.filter,
      oninput: (e) => {
        state.filter = e.target.value;
        drawBody();
      },
    });
    const adapt = h(
      "select",
      {
        class: "ckw-adapt",
        "aria-label": "shape adaptation",
        onchange: (e) => {
          model.set("adapt", e.target.value);
          model.save_changes();
        },
      },
      [
        ["", "shape mismatch: skip"],
        ["overlap", "adapt: copy overlap"],
        ["zeros", "adapt: overlap, zero rest"],
      ].map(([v, t]) => h("option", { value: v, selected: model.get("adapt") === v }, t)),
    );
    const busy = model.get("busy");
    const total = ticks().total || 0;
    const fromSources = Object.values(ticks().counts || {}).filter(Boolean).length;
    return h(
      "div",
      { class: "ckw-toolbar" },
      h("span", { class: "ckw-tabs", role: "tablist" }, views().map(viewTab)),
      alignLayers(),
      filter,
      h("button", { class: "ckw-button", onclick: selectMatching }, "Select matching"),
      h(
        "button",
        { class: "ckw-button", "data-testid": "clear", onclick: () => send({ type: "clear" }) },
        "Clear",
      ),
      adapt,
      h(
        "button",
        {
          class: "ckw-button ckw-primary",
          "data-testid": "restore-button",
          disabled: busy || total === 0,
          onclick: () => send({ type: "restore" }),
        },
        busy
          ? "Restoring…"
          : `Restore ${total} variable${total === 1 ? "" : "s"}` +
              (fromSources > 1 ? ` from ${fromSources} checkpoints` : ""),
      ),
      busy ? progressBar() : null,
      busy
        ? h(
            "button",
            { class: "ckw-button", "data-testid": "cancel-button", onclick: () => send({ type: "cancel" }) },
            "Cancel",
          )
        : null,
    );
  }

  function views() {
    return (model.get("pairs") || []).length ? ["model", "checkpoint", "pairs"] : ["model", "checkpoint"];
  }

  function viewTab(v) {
    const pairs = model.get("pairs") || [];
    const ambiguous = pairs.filter((p) => p.paired_by === "ambiguous").length;
    const label = { model: "Model", checkpoint: "Checkpoint", pairs: `Pairs ${pairs.length}` }[v];
    return h(
      "button",
      {
        role: "tab",
        class: "ckw-tab" + (state.view === v ? " ckw-active" : ""),
        "data-testid": v === "pairs" ? "pairs-tab" : null,
        "aria-selected": state.view === v ? "true" : "false",
        title: v === "pairs" ? "Checkpoint layers beside the model layers they restore into" : null,
        onclick: () => {
          state.view = v;
          draw();
        },
      },
      label,
      v === "pairs" && ambiguous ? h("span", { class: "ckw-status-missing" }, ` · ${ambiguous} ambiguous`) : null,
    );
  }

  function alignLayers() {
    const box = h("input", {
      type: "checkbox",
      "data-testid": "align-layers",
      onchange: (e) => send({ type: "set_align", on: e.target.checked }),
    });
    box.checked = Boolean(model.get("header").align);
    return h(
      "label",
      {
        class: "ckw-field",
        title: "Pair whole layers by order, kind and shape where object paths do not line up " +
          "(a Keras 2 checkpoint into a Keras 3 model); see the Pairs tab",
      },
      box,
      " Align layers",
    );
  }

  function progressBar() {
    const { done = 0, total = 0 } = model.get("progress") || {};
    return h("progress", {
      class: "ckw-progress",
      "data-testid": "restore-progress",
      max: String(total || 1),
      value: String(done),
      "aria-label": "restore progress",
    });
  }

  function modelRow(node, depth) {
    const tick = tickState(node.id);
    const canTick = state.tickable.has(node.id) && !model.get("busy");
    const box = h("input", {
      type: "checkbox",
      "aria-label": `restore ${node.label}`,
      disabled: !canTick,
      onchange: (e) => setTicked([node.id], e.target.checked),
    });
    box.checked = tick === "all";
    box.indeterminate = tick === "some";
    const isModule = node.kind === "module";
    const open = state.expanded.has(node.id) || Boolean(state.filter || state.chip);
    const toggle = () => {
      if (!isModule) return;
      if (state.expanded.has(node.id)) state.expanded.delete(node.id);
      else state.expanded.add(node.id);
      drawBody();
    };
    const status = node.status;
    const restored = restoredRow(node);
    const from = rowSources(node);
    const others = from.filter((label) => label !== model.get("active"));
    return h(
      "tr",
      {
        class: "ckw-row" + (state.chosen === node.id ? " ckw-chosen" : ""),
        "data-testid": "ckpt-row",
        "data-path": node.id,
        "data-status": status,
        "data-kind": node.kind,
        "data-source": from.length ? from.join(" ") : null,
        "data-restored": restored ? "true" : null,
        tabindex: "0",
        onkeydown: (e) => {
          if (e.target !== e.currentTarget) return;
          if (e.key === "Enter") toggle();
          if (e.key === " ") {
            e.preventDefault();
            if (canTick) setTicked([node.id], tick !== "all");
          }
        },
      },
      h(
        "td",
        { class: "ckw-name", style: `padding-left: ${0.4 + depth * 1.1}em` },
        h(
          "span",
          { class: "ckw-twisty", onclick: toggle, "aria-hidden": "true" },
          isModule ? (open ? "▾" : "▸") : "",
        ),
        box,
        h(
          "button",
          {
            class: "ckw-label",
            title: `${node.title} — show histograms`,
            onclick: () => choose(node),
          },
          node.label,
        ),
        others.map((label) => sourceBadge(label, `ticked under source ${label}; ticking it here moves it`)),
      ),
      h("td", { class: "ckw-shape" }, shapeText(node.modelShape)),
      h("td", { class: "ckw-shape" }, shapeText(node.ckptShape)),
      h("td", {}, node.dtype || ""),
      h("td", { class: "ckw-num" }, bytesText(node.nbytes)),
      h(
        "td",
        {},
        h("span", { class: `ckw-badge ckw-status-${status}`, title: `status '${status}'` }, STATUS_LABELS[status] || status),
        restored
          ? h("span", { class: "ckw-badge ckw-restored", "data-testid": "restored-badge", title: "written by the last restore" }, "restored")
          : null,
      ),
    );
  }

  /** Whether the last restore wrote this variable (or, for a layer, all its variables). */
  function restoredRow(node) {
    const restored = state.restored;
    if (!restored.size) return false;
    if (node.kind === "variable") return restored.has(node.id);
    return node.vars.length > 0 && node.vars.every((v) => restored.has(v.id));
  }

  /** One layer pair: checkbox, checkpoint layer beside model layer, kind, how, re-pair. */
  function pairRow(pair) {
    const ticked = tickState(pair.model_layer);
    const undecided = pair.paired_by === "ambiguous" || pair.paired_by === "unpaired";
    const canTick = !undecided && state.tickable.has(pair.model_layer) && !model.get("busy");
    const tick = (on) => setTicked([pair.model_layer], on);
    const box = h("input", {
      type: "checkbox",
      "aria-label": `restore ${pair.layer}`,
      disabled: !canTick,
      title: undecided ? "Choose its stored layer first" : null,
      onchange: (e) => tick(e.target.checked),
    });
    box.checked = ticked === "all";
    box.indeterminate = ticked === "some";
    const choices = pair.ckpt_layer && !pair.candidates.includes(pair.ckpt_layer) ? [pair.ckpt_layer, ...pair.candidates] : pair.candidates;
    const select = h(
      "select",
      {
        "data-testid": "pair-select",
        "aria-label": `stored layer for ${pair.layer}`,
        onchange: (e) => e.target.value && send({ type: "pair_layer", model: pair.model_layer, ckpt: e.target.value }),
      },
      undecided ? h("option", { value: "" }, `choose (${choices.length} candidate${choices.length === 1 ? "" : "s"})…`) : null,
      choices.map((c) => h("option", { value: c, selected: c === pair.ckpt_layer }, c)),
    );
    const others = ((ticks().sources || {})[pair.model_layer] || []).filter((l) => l !== model.get("active"));
    const [how, colour] = PAIRED_BY[pair.paired_by] || [pair.paired_by, "missing"];
    return h(
      "tr",
      {
        class: "ckw-row" + (undecided ? " ckw-ambiguous" : ""),
        "data-testid": "pair-row",
        "data-model-layer": pair.model_layer,
        "data-ckpt-layer": pair.ckpt_layer || "",
        "data-paired-by": pair.paired_by,
        tabindex: "0",
        onkeydown: (e) => {
          if (e.target !== e.currentTarget || e.key !== " ") return;
          e.preventDefault();
          if (canTick) tick(ticked !== "all");
        },
      },
      h("td", {}, box, others.map((label) => sourceBadge(label, `ticked under source ${label}; ticking it here moves it`))),
      h(
        "td",
        { class: "ckw-shape", title: pair.ckpt_layer || "" },
        pair.ckpt_layer || h("span", { class: "ckw-note" }, `? ${pair.candidates.length} candidate${pair.candidates.length === 1 ? "" : "s"}`),
      ),
      h(
        "td",
        { title: pair.model_layer },
        h("span", { class: "ckw-layer-name" }, pair.layer),
        " ",
        h("span", { class: "ckw-note ckw-shape" }, pair.model_layer),
      ),
      h("td", { class: "ckw-shape ckw-kind" }, pair.kind),
      h("td", {}, h("span", { class: `ckw-badge ckw-status-${colour}` }, how)),
      h(
        "td",
        {},
        select,
        pair.paired_by === "rename"
          ? h(
              "button",
              {
                class: "ckw-button ckw-unpair",
                "data-testid": "unpair-button",
                title: "Undo this hand pairing: alignment decides again",
                onclick: () => send({ type: "unpair_layer", model: pair.model_layer }),
              },
              "Unpair",
            )
          : null,
      ),
    );
  }

  function pairRows() {
    const shown = (model.get("pairs") || []).filter(
      (p) => !state.filter || matches({ kind: "pair", label: p.layer, title: p.ckpt_layer || "", id: p.model_layer, layer: p.kind }),
    );
    return shown.slice(0, MAX_ROWS).map(pairRow);
  }

  function checkpointRows() {
    const cols = model.get("ckpt_rows");
    const out = [];
    const n = cols.id ? cols.id.length : 0;
    const filtering = Boolean(state.filter || state.chip);
    for (let i = 0; i < n && out.length < MAX_ROWS; i++) {
      const status = cols.status[i];
      const group = cols.group[i];
      const isObject = cols.kind[i] === "module";
      if (filtering && isObject) continue; // a filtered view lists variables only
      if (state.chip && state.chip !== status && !(state.chip === "optimizer" && group === "optimizer")) continue;
      const node = { id: cols.id[i], label: cols.label[i], title: cols.title[i], layer: "" };
      if (state.filter && !matches(node)) continue;
      const depth = filtering ? 0 : cols.id[i].split("/").length - 1;
      out.push(
        h(
          "tr",
          {
            class: "ckw-row",
            "data-testid": "ckpt-file-row",
            "data-path": node.id,
            "data-status": status,
            "data-kind": cols.kind[i],
          },
          h(
            "td",
            { class: "ckw-name", title: cols.title[i], style: `padding-left: ${0.4 + depth * 1.1}em` },
            filtering ? node.id : node.label,
          ),
          h("td", {}, group),
          h("td", { class: "ckw-shape" }, shapeText(cols.ckpt_shape[i])),
          h("td", {}, cols.dtype[i]),
          h("td", { class: "ckw-num" }, bytesText(cols.nbytes[i])),
          h("td", {}, h("span", { class: `ckw-badge ckw-status-${status}` }, STATUS_LABELS[status] || status)),
        ),
      );
    }
    return out;
  }

  const body = h("tbody");
  function drawBody() {
    const focus = focusedRow();
    fillBody();
    refocus(focus);
  }

  function fillBody() {
    let rows;
    if (state.view === "model") {
      const visible = visibleRows();
      rows = visible.slice(0, MAX_ROWS).map(([node, depth]) => modelRow(node, depth));
      if (visible.length > MAX_ROWS) {
        rows.push(h("tr", {}, h("td", { colspan: "6", class: "ckw-note" }, `${visible.length - MAX_ROWS} more rows: narrow the filter`)));
      }
    } else if (state.view === "pairs") {
      rows = pairRows();
    } else {
      rows = checkpointRows();
    }
    if (!rows.length && (state.filter || state.chip)) rows.push(emptyRow());
    body.replaceChildren(...rows);
  }

  /** What an empty filter result says: nothing matches, and how to see everything again. */
  function emptyRow() {
    const what = [state.filter ? `'${state.filter}'` : null, state.chip ? STATUS_LABELS[state.chip] : null]
      .filter(Boolean)
      .join(" and ");
    return h(
      "tr",
      { "data-testid": "no-rows" },
      h("td", { colspan: "6", class: "ckw-note" }, `No row matches ${what}; clear the filter or the status chip to see every row.`),
    );
  }

  function table() {
    const heads = {
      model: ["name", "model shape", "ckpt shape", "dtype", "size", "status"],
      checkpoint: ["checkpoint path", "group", "shape", "dtype", "size", "status"],
      pairs: ["restore", "checkpoint layer", "model layer", "kind", "paired by", "pair with"],
    }[state.view];
    fillBody();
    return h(
      "div",
      { class: "ckw-scroll" },
      h("table", { class: "ckw-table" }, h("thead", {}, h("tr", {}, heads.map((t) => h("th", {}, t)))), body),
    );
  }

  /** "conv1/kernel" for a variable row of the tree, else the path's last two parts. */
  function shortName(path) {
    const node = state.tree.index.get(path);
    if (node && node.parentNode) return `${node.parentNode.label}/${node.label}`;
    return path.split("/").slice(-2).join("/");
  }

  /** Pick the stored variable for a model variable that paths did not pair. */
  function pairEditor(node) {
    const cols = model.get("ckpt_rows");
    const same = [];
    const other = [];
    for (let i = 0; i < (cols.id || []).length; i++) {
      if (cols.kind[i] !== "variable" || cols.group[i] !== "model") continue;
      const fits = shapeText(cols.ckpt_shape[i]) === shapeText(node.modelShape);
      (fits ? same : other).push(cols.id[i]);
    }
    const options = [...same, ...other].slice(0, 500);
    return h(
      "label",
      { class: "ckw-pair" },
      "pair with ",
      h(
        "select",
        {
          "data-testid": "pair-select",
          "aria-label": `checkpoint variable for ${node.label}`,
          onchange: (e) => e.target.value && send({ type: "pair", model: node.id, ckpt: e.target.value }),
        },
        h("option", { value: "" }, same.length ? `${same.length} stored variables of this shape…` : "a stored variable…"),
        options.map((id) => h("option", { value: id }, id)),
      ),
    );
  }

  function histogramPanel() {
    const hist = state.histogram;
    const panel = h("div", { class: "ckw-histogram", "data-testid": "histogram" });
    if (!hist) {
      panel.append(h("p", { class: "ckw-note" }, "Click a name to compare the checkpoint's values with the model's."));
      return panel;
    }
    const chosen = state.tree.index.get(hist.path);
    const log = h("input", {
      type: "checkbox",
      "data-testid": "log-counts",
      onchange: (e) => {
        state.logCounts = e.target.checked;
        state.histogram = { ...hist, loading: true };
        requestPreview(hist.path, hist.limit);
        draw();
      },
    });
    log.checked = state.logCounts;
    panel.append(
      h(
        "div",
        { class: "ckw-preview-head" },
        h("span", { class: "ckw-subtitle", title: hist.path }, chosen ? chosen.label : hist.path),
        h("span", { class: "ckw-note" }, "share of each side's values per bin"),
        h("label", { class: "ckw-field", title: "Count axis on a log scale: shows rare values" }, log, " log counts"),
      ),
    );
    if (chosen && chosen.kind === "variable" && chosen.status !== "match") panel.append(pairEditor(chosen));
    if (hist.loading) {
      panel.append(h("p", { class: "ckw-note" }, "Rendering…"));
      return panel;
    }
    panel.append(previewImage(hist));
    if (hist.count > hist.shown) {
      panel.append(
        h(
          "div",
          { class: "ckw-note" },
          `${hist.shown} of ${hist.count} variables drawn `,
          h(
            "button",
            {
              class: "ckw-button",
              "data-testid": "show-more",
              onclick: () => {
                state.histogram = { ...hist, loading: true };
                requestPreview(hist.path, Math.min(50, hist.limit * 2));
                draw();
              },
            },
            "Show more",
          ),
        ),
      );
    }
    panel.append(statsTable(hist.stats || []));
    return panel;
  }

  /** The plots at their CSS size (the PNG has `scale` pixels per CSS pixel); a click enlarges. */
  function previewImage(hist) {
    const img = h("img", {
      src: hist.url,
      alt: `histograms of ${hist.path}`,
      "data-testid": "histogram-image",
      title: state.enlarged ? "Click to shrink" : "Click to enlarge",
      onclick: () => {
        state.enlarged = !state.enlarged;
        draw();
      },
    });
    const fit = () => {
      if (!state.enlarged) img.style.width = `${img.naturalWidth / hist.scale}px`;
    };
    if (img.complete && img.naturalWidth) fit();
    else img.addEventListener("load", fit);
    if (!state.enlarged) return h("div", { class: "ckw-plots" }, img);
    return h(
      "div",
      {
        class: "ckw-enlarged",
        "data-testid": "histogram-enlarged",
        onclick: (e) => {
          if (e.target === e.currentTarget) {
            state.enlarged = false;
            draw();
          }
        },
      },
      img,
    );
  }

  /** One row per variable and side, the columns that matter; never wider than the panel. */
  function statsTable(stats) {
    const columns = STAT_COLUMNS.filter(([key, , rare]) => !rare || stats.some((row) => row[key]));
    const showDiff = stats.some((row) => row.max_abs_diff !== null && row.max_abs_diff !== undefined);
    const rows = [];
    stats.forEach((row, k) => {
      const first = k === 0 || stats[k - 1].path !== row.path;
      const span = first && stats[k + 1] && stats[k + 1].path === row.path ? "2" : null;
      rows.push(
        h(
          "tr",
          { class: first ? "ckw-stats-first" : null },
          first ? h("td", { class: "ckw-stats-name", rowspan: span, title: row.path }, shortName(row.path)) : null,
          h("td", { class: "ckw-stats-side" }, row.side),
          columns.map(([key]) => h("td", { class: "ckw-num", title: String(row[key]) }, statText(row[key]))),
          showDiff && first ? h("td", { class: "ckw-num", rowspan: span, title: "largest |checkpoint − model| where the shapes overlap" }, statText(row.max_abs_diff)) : null,
        ),
      );
    });
    return h(
      "table",
      { class: "ckw-stats", "data-testid": "stats" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { class: "ckw-stats-name" }, "variable"),
          h("th", { class: "ckw-stats-side" }, "side"),
          columns.map(([, heading]) => h("th", {}, heading)),
          showDiff ? h("th", {}, "max |diff|") : null,
        ),
      ),
      h("tbody", {}, rows),
    );
  }

  // The rules box lives across redraws, so typing keeps its focus while results arrive.
  const rulesBox = h("textarea", {
    class: "ckw-rules",
    "data-testid": "rules",
    rows: "2",
    placeholder: "rename rules, one per line:  ^model/old_head/ => model/head/",
    "aria-label": "rename rules",
  });
  let rulesTimer = null;
  rulesBox.addEventListener("input", () => {
    state.rules[model.get("active")] = rulesBox.value;
    clearTimeout(rulesTimer);
    rulesTimer = setTimeout(() => send({ type: "rules", text: rulesBox.value }), 400);
  });
  const rulesSummary = h("summary", {});
  const rulesDetails = h("details", { class: "ckw-rules-panel" }, rulesSummary, rulesBox);

  function rulesPanel() {
    const renamed = (model.get("header").counts || {}).renamed || 0;
    rulesSummary.textContent = `Rename rules (regex)${renamed ? `: ${plural(renamed, "variable")} paired` : ""}`;
    return rulesDetails;
  }

  function resultPanel() {
    const result = model.get("result");
    if (!result || !result.summary) return null;
    const code = h("pre", { class: "ckw-code", "data-testid": "restore-code", hidden: true }, result.code);
    const copy = h(
      "button",
      {
        class: "ckw-button",
        "data-testid": "copy-code",
        hidden: true,
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(result.code);
            copy.textContent = "Copied";
          } catch {
            const range = document.createRange();
            range.selectNodeContents(code);
            const selection = window.getSelection();
            selection.removeAllRanges();
            selection.addRange(range);
            copy.textContent = "Selected: press Ctrl+C";
          }
        },
      },
      "Copy",
    );
    return h(
      "div",
      { class: "ckw-result", "data-testid": "restore-result" },
      h("div", {}, result.summary),
      result.skipped_count
        ? h(
            "details",
            { "data-testid": "skipped" },
            h("summary", {}, `${plural(result.skipped_count, "ticked variable")} not restored`),
            h("ul", {}, result.skipped.map((s) => h("li", {}, `${s.model_path || s.name}: ${s.reason}`))),
          )
        : null,
      result.not_selected
        ? h("div", { class: "ckw-note", "data-testid": "not-selected" }, `${plural(result.not_selected, "variable")} not ticked, left as they were.`)
        : null,
      h(
        "div",
        { class: "ckw-actions" },
        h(
          "button",
          {
            class: "ckw-button",
            "data-testid": "undo-button",
            disabled: !result.can_undo || model.get("busy"),
            onclick: () => send({ type: "undo" }),
          },
          "Undo",
        ),
        result.undo_conflict
          ? h(
              "button",
              {
                class: "ckw-button",
                "data-testid": "undo-anyway",
                title: "Restored variables changed since the restore; put the old values back anyway",
                onclick: () => send({ type: "undo", force: true }),
              },
              "Undo anyway",
            )
          : null,
        h(
          "button",
          {
            class: "ckw-button",
            "data-testid": "show-code",
            onclick: (e) => {
              code.hidden = !code.hidden;
              copy.hidden = code.hidden;
              e.target.textContent = code.hidden ? "Show code" : "Hide code";
            },
          },
          "Show code",
        ),
        copy,
      ),
      code,
    );
  }

  function errorBanner() {
    const error = model.get("error");
    if (!error) return null;
    return h("div", { class: "ckw-error", role: "alert", "data-testid": "error" }, error);
  }

  /** When (almost) nothing matches: what was found and what to try, with Align layers at hand. */
  function hintBanner() {
    const info = model.get("header");
    if (!info.hint) return null;
    return h(
      "div",
      { class: "ckw-notice ckw-hint", role: "status", "data-testid": "hint" },
      info.hint,
      " ",
      info.align
        ? null
        : h("button", { class: "ckw-button", "data-testid": "hint-align", onclick: () => send({ type: "set_align", on: true }) }, "Align layers"),
    );
  }

  function noticeBanner() {
    const notice = model.get("notice");
    if (!notice) return null;
    return h("div", { class: "ckw-notice", role: "status", "data-testid": "notice" }, notice);
  }

  // Redrawing replaces the rows: keep keyboard focus on the same row (or its checkbox).
  function focusedRow() {
    const active = document.activeElement;
    if (!active || !root.contains(active)) return null;
    if (active.dataset.testid === "source-tab") return { tab: active.dataset.source };
    if (active.dataset.testid === "remove-source") return { remove: active.dataset.source };
    const pairEl = active.closest("[data-testid=pair-row]");
    if (pairEl) return { pair: pairEl.dataset.modelLayer, part: active.tagName };
    const rowEl = active.closest("[data-testid=ckpt-row]");
    return rowEl ? { path: rowEl.dataset.path, box: active.tagName === "INPUT" } : null;
  }

  function refocus(focus) {
    if (!focus) return;
    if (focus.remove) {
      // Until the kernel removes it, focus stays on the ×; then it goes to the active tab.
      const remove = root.querySelector(`[data-testid=remove-source][data-source="${focus.remove}"]`);
      const tab = root.querySelector(`[data-testid=source-tab][data-source="${model.get("active")}"]`);
      if (remove || tab) (remove || tab).focus();
      return;
    }
    if (focus.tab) {
      const tab = root.querySelector(`[data-testid=source-tab][data-source="${focus.tab}"]`);
      if (tab) tab.focus();
      return;
    }
    if (focus.pair) {
      const pairEl = [...root.querySelectorAll("[data-testid=pair-row]")].find((r) => r.dataset.modelLayer === focus.pair);
      const target = pairEl && (focus.part === "TR" ? pairEl : pairEl.querySelector(focus.part));
      if (target) target.focus();
      return;
    }
    const rowEl = [...root.querySelectorAll("[data-testid=ckpt-row]")].find((r) => r.dataset.path === focus.path);
    if (!rowEl) return;
    const target = focus.box ? rowEl.querySelector("input") : rowEl;
    if (target) target.focus();
  }

  function draw() {
    const focus = focusedRow();
    const typing = [rulesBox, addInput].find((box) => document.activeElement === box);
    const [start, end] = typing ? [typing.selectionStart, typing.selectionEnd] : [0, 0];
    drawAll();
    refocus(focus);
    if (typing) {
      typing.focus();
      typing.setSelectionRange(start, end);
    }
  }

  function drawAll() {
    const parts = [
      sourceBar(),
      header(),
      toolbar(),
      errorBanner(),
      hintBanner(),
      noticeBanner(),
      rulesPanel(),
      h("div", { class: "ckw-main" }, table(), state.view === "pairs" ? null : histogramPanel()),
      resultPanel(),
    ];
    root.replaceChildren(...parts.filter(Boolean));
  }

  const onRows = () => {
    state.tree = buildTree(model.get("rows"));
    draw();
  };
  const onTickable = () => {
    state.tickable = new Set(model.get("tickable") || []);
    draw();
  };
  let sourceCount = (model.get("sources") || []).length;
  const onSources = () => {
    const count = (model.get("sources") || []).length;
    if (count > sourceCount) addInput.value = ""; // the kernel added what was typed
    sourceCount = count;
    draw();
  };
  const onActive = () => {
    rulesBox.value = state.rules[model.get("active")] || "";
    if (state.chosen) requestPreview(state.chosen); // this source's values
    draw();
  };
  const onPairs = () => {
    if (state.view === "pairs" && !(model.get("pairs") || []).length) state.view = "model";
    draw();
  };
  const onAdapt = () => {
    if (state.chosen) requestPreview(state.chosen); // show the adapted tensor
  };
  const onRestored = () => {
    state.restored = new Set(model.get("restored") || []);
    drawBody();
  };
  // The plots follow the theme: draw them again when JupyterLab switches it.
  const themeWatch = new MutationObserver(() => {
    if (state.histogram && !state.histogram.loading) requestPreview(state.histogram.path, state.histogram.limit);
  });
  themeWatch.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-name", "data-jp-theme-light"] });
  const redraws = ["ticks", "header", "result", "error", "notice", "busy", "adapt", "ckpt_rows", "progress"];
  const listeners = [
    ["change:rows", onRows],
    ["change:tickable", onTickable],
    ["change:sources", onSources],
    ["change:active", onActive],
    ["change:pairs", onPairs],
    ["change:adapt", onAdapt],
    ["change:restored", onRestored],
    ...redraws.map((name) => [`change:${name}`, draw]),
  ];
  for (const [event, listener] of listeners) model.on(event, listener);
  draw();
  return () => {
    for (const [event, listener] of listeners) model.off(event, listener);
    themeWatch.disconnect();
    if (state.histogram && state.histogram.url) URL.revokeObjectURL(state.histogram.url);
  };
}

export default { render };
