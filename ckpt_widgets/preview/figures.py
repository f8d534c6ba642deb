"""Histogram figures: the checkpoint's values against the model's current values, on the
same bins, rendered with matplotlib (Agg, never pyplot) to PNG in a theme's colours.

A side is an array or a :class:`~ckpt_widgets.preview.stats.Streamed` tensor (counted
piece by piece); the counts come from :mod:`ckpt_widgets.preview.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .stats import SIDES, in_parallel, largest_size, measure, prepare

if TYPE_CHECKING:
    from matplotlib.figure import Figure

THEME_KEYS = ("foreground", "background", "checkpoint", "model")
"""A theme names a colour (``#rrggbb``) for each: text and axes, figure, and the two sides."""
LIGHT = {
    "foreground": "#222222",
    "background": "#ffffff",
    "checkpoint": "#1f77b4",
    "model": "#ff7f0e",
}
Panel = tuple[str, Any, Any]


def figure(
    panels: Sequence[Panel],
    bins: int = 50,
    max_panels: int = 6,
    theme: dict[str, str] | None = None,
    log: bool = False,
    labels: Sequence[str] = SIDES,
) -> tuple[Figure, int]:
    """Draw up to ``max_panels`` panels ``(title, stored, current)``, 3 per row.

    Each panel overlays the two histograms on the same bin edges, as the percentage of
    each side's finite values per bin (so a widened layer compares with its checkpoint);
    ``log`` draws that percentage on a log scale. ``theme`` (see :data:`THEME_KEYS`,
    checked by :func:`check_theme`) colours text, background and sides; default
    :data:`LIGHT`. Returns the figure and the number of panels drawn. Uses the Agg
    canvas, never pyplot. ``labels`` name the two sides in the legend (e.g. ``("A", "B")``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shown = list(panels)[: max(0, max_panels)]
    cols = min(3, max(1, len(shown)))
    rows = max(1, math.ceil(len(shown) / cols))
    width, height = 3.2 * cols, 2.4 * rows
    colours = check_theme(theme)
    fig = Figure(figsize=(width, height), dpi=100, facecolor=colours["background"])
    FigureCanvasAgg(fig)
    if not shown:
        fig.text(
            0.5, 0.5, "no values to show", ha="center", va="center", fontsize=9,
            color=colours["foreground"],
        )  # fmt: skip
        return fig, 0
    # Fixed margins in inches (a layout engine costs ~20 ms a panel): each 3.2 x 2.4 in
    # cell holds a 2.65 x 1.85 in axes.
    grid = {
        "left": 0.45 / width,
        "right": 1 - 0.1 / width,
        "wspace": 0.55 / 2.65,
        "bottom": 0.3 / height,
        "top": 1 - 0.25 / height,
        "hspace": 0.55 / 1.85,
    }
    axes = fig.subplots(rows, cols, squeeze=False, gridspec_kw=grid).ravel()
    for ax, (title, stored, current) in zip(axes, shown):
        _draw(ax, str(title), stored, current, bins, colours, log, labels)
    for ax in axes[len(shown) :]:
        ax.set_axis_off()
    return fig, len(shown)


def png(
    panels: Sequence[Panel],
    bins: int = 50,
    max_panels: int = 6,
    theme: dict[str, str] | None = None,
    log: bool = False,
    scale: int = 1,
    labels: Sequence[str] = SIDES,
) -> bytes:
    """The PNG bytes of :func:`figure`, ``scale`` pixels per CSS pixel (2 for HiDPI)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig, _ = figure(panels, bins=bins, max_panels=max_panels, theme=theme, log=log, labels=labels)
    fig.set_dpi(100 * scale)
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return buffer.getvalue()


def check_theme(theme: dict[str, str] | None) -> dict[str, str]:
    """A theme's colours, checked: a mapping of :data:`THEME_KEYS` to ``#rrggbb``."""
    import re

    if theme is None:
        return dict(LIGHT)
    if not isinstance(theme, dict) or set(theme) != set(THEME_KEYS):
        raise ValueError(f"A theme maps exactly {', '.join(THEME_KEYS)} to colours '#rrggbb'.")
    for key, colour in theme.items():
        if not (isinstance(colour, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", colour)):
            raise ValueError(f"Theme colour '{key}' must be '#rrggbb', not {colour!r:.40}.")
    return dict(theme)


# -- drawing ------------------------------------------------------------------------------


def _draw(
    ax: Any,
    title: str,
    stored: Any,
    current: Any,
    bins: int,
    colours: dict[str, str],
    log: bool,
    labels: Sequence[str] = SIDES,
) -> None:
    import numpy as np

    names = dict(zip(SIDES, labels))
    sides = [(s, prepare(v)) for s, v in zip(SIDES, (stored, current)) if v is not None]
    measure([v for _, v in sides])
    lows = [v.lo for _, v in sides if v.finite_count]
    highs = [v.hi for _, v in sides if v.finite_count]
    lo, hi = (min(lows), max(highs)) if lows else (0.0, 1.0)
    if lo == hi:
        pad = max(0.5, abs(lo) * 1e-6)  # lo - 0.5 == lo past 2**53
        lo, hi = lo - pad, hi + pad
    note = "" if lows else "no finite values"
    if not (math.isfinite(hi - lo) and math.isfinite(bins / (hi - lo))):
        lo, hi, note = 0.0, 1.0, f"values span {min(lows):.3g} to {max(highs):.3g}"
    edges = np.linspace(lo, hi, bins + 1)
    shares = [np.zeros(bins) for _ in sides]
    if not note:  # the two sides' counts in two threads when they are large
        values = [v for _, v in sides]
        counts = in_parallel([lambda v=v: v.counts(edges) for v in values], largest_size(values))
        shares = [c * (100 / v.finite_count) for c, v in zip(counts, values)]
    for (side, _), share in zip(sides, shares):
        ax.stairs(share, edges, fill=True, alpha=0.5, color=colours[side], label=names[side])
    fg = colours["foreground"]
    if note:
        ax.set_yticks([])
        ax.text(
            0.5, 0.5, note, ha="center", va="center", fontsize=8, color=fg,
            transform=ax.transAxes,
        )  # fmt: skip
    elif log and sides:
        from matplotlib.ticker import NullFormatter

        ax.set_yscale("log")
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(lo, hi)
    _colour_axes(ax, colours)
    ax.set_title(title, fontsize=9, color=fg)
    if sides:
        ax.legend(fontsize=7, frameon=False, labelcolor=fg)


def _colour_axes(ax: Any, colours: dict[str, str]) -> None:
    """Text, ticks and frame in the theme's foreground on its background."""
    fg = colours["foreground"]
    ax.set_facecolor(colours["background"])
    ax.tick_params(which="both", labelsize=7, colors=fg)
    for spine in ax.spines.values():
        spine.set_color(fg)
    for axis in (ax.xaxis, ax.yaxis):
        axis.get_offset_text().set_fontsize(7)
        axis.get_offset_text().set_color(fg)
