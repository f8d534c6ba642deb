// The theme's colours, sent with a preview request so the plots match JupyterLab's theme.
import { hexColour } from "./format.js";

const THEME_VARIABLES = {
  foreground: ["--jp-ui-font-color1", "#222222"],
  background: ["--jp-layout-color1", "#ffffff"],
  checkpoint: ["--jp-brand-color1", "#1976d2"],
  model: ["--jp-warn-color1", "#ef6c00"],
};

/**
 * The theme's colours where `el` is drawn, as the kernel's preview() takes them.
 * @param {HTMLElement} el
 */
export function themeColours(el) {
  const probe = document.createElement("span");
  el.append(probe);
  /** @type {Record<string, string>} */
  const theme = {};
  for (const [key, [variable, fallback]] of Object.entries(THEME_VARIABLES)) {
    probe.style.color = `var(${variable}, ${fallback})`;
    theme[key] = hexColour(getComputedStyle(probe).color) || fallback;
  }
  probe.remove();
  return theme;
}
