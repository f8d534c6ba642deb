// The source bar: one tab per checkpoint (with its × and tick count) and the add box.
import { h } from "../core/dom.js";

/**
 * A source's letter in a small badge.
 * @param {string} label
 * @param {string} [title]
 */
export function sourceBadge(label, title) {
  return h("span", { class: "ckw-source", title }, label);
}

/** @param {import("../core/context.js").Context} ctx */
export function createSourceBar(ctx) {
  const { model, send } = ctx;
  // The add box lives across redraws, so what is typed survives results arriving.
  const addInput = h("input", {
    class: "ckw-add-source",
    type: "text",
    "data-testid": "add-source-input",
    placeholder: "path of another checkpoint",
    "aria-label": "checkpoint to add",
    onkeydown: (/** @type {KeyboardEvent} */ e) => {
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
  let sourceCount = (model.get("sources") || []).length;

  /** The × beside a source tab: drops that checkpoint and its ticks. */
  function removeButton(/** @type {string} */ label) {
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

  return function sourceBar() {
    const active = model.get("active");
    const counts = ctx.ticks().counts || {};
    /** @type {{ label: string, path: string, root: string }[]} */
    const sources = model.get("sources") || [];
    if (sources.length > sourceCount) addInput.value = ""; // the kernel added what was typed
    sourceCount = sources.length;
    const tabs = sources.map((source) =>
      h(
        "span",
        { class: "ckw-source-group", role: "presentation" },
        h(
          "button",
          {
            role: "tab",
            class: `ckw-tab ckw-source-tab${source.label === active ? " ckw-active" : ""}`,
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
  };
}
