"""preview.bins: histogram counts equal np.histogram's, value for value."""

from __future__ import annotations

import numpy as np
import pytest

from ckpt_widgets.preview.bins import Binning, counts


def on_and_beside_edges(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``values`` with every edge rounded to their dtype, and both neighbours of that."""
    kind = values.dtype.type
    on = edges.astype(values.dtype)
    near = np.concatenate([on, np.nextafter(on, kind(np.inf)), np.nextafter(on, kind(-np.inf))])
    near = near[(near >= edges[0]) & (near <= edges[-1])]
    return np.concatenate([values, near]).astype(values.dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_counts_equal_numpy_on_and_beside_every_edge(dtype):
    """The float64 bin numbers are checked edge by edge: values on an edge, just below and
    just above it fall where np.histogram puts them, for ranges of every kind."""
    rng = np.random.default_rng(3)
    draws = [
        lambda n: rng.uniform(-0.05, 0.05, n),  # symmetric: an edge within 1e-18 of zero
        lambda n: rng.integers(-50, 50, n) / 7,
        lambda n: rng.standard_normal(n) * 1e-30,
        lambda n: rng.standard_normal(n) * 1e30,
        lambda n: np.concatenate([rng.uniform(0, 1, n), [0.0, -0.0, 1.0]]),
        lambda n: rng.choice([0.0, 0.25, 0.5, 1.0, 3.0, 1e-40], n),
    ]
    for draw in draws:
        for bins in (7, 50, 200):
            base = draw(3000).astype(dtype)
            edges = np.linspace(float(base.min()), float(base.max()), bins + 1)
            values = on_and_beside_edges(base, edges)
            np.testing.assert_array_equal(counts(values, edges), np.histogram(values, edges)[0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binning_counts_block_by_block_equal_numpy_on_the_whole(dtype):
    """One Binning reused over blocks adds up to np.histogram of all the values."""
    rng = np.random.default_rng(8)
    values = (rng.standard_normal(200_000) * 3).astype(dtype)
    edges = np.linspace(float(values.min()), float(values.max()), 51)
    binning = Binning(edges, values.dtype)
    total = sum(binning.counts(block) for block in np.array_split(values, 7))
    np.testing.assert_array_equal(total, np.histogram(values, edges)[0])


def test_edges_too_close_for_float64_positions_still_count_like_numpy():
    """A range narrower than float64 can resolve falls back to np.histogram exactly."""
    values = np.full(1000, 1.0, np.float64)
    values[::3] = np.nextafter(1.0, 2.0)
    edges = np.linspace(1.0, float(np.nextafter(1.0, 2.0)), 11)
    np.testing.assert_array_equal(counts(values, edges), np.histogram(values, edges)[0])
