// The one DOM helper every view builds with.

/**
 * An element with attributes, listeners (`onclick`, …) and children.
 * `false`, `null` and `undefined` attributes and children are left out; `true` sets an
 * empty attribute; `class` sets the class name and `dataset` the data attributes.
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...any} children nodes, strings, or (nested) arrays of them
 * @returns {any} the element (typed loosely: views set tag-specific properties on it)
 */
export function h(tag, attrs = {}, ...children) {
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
