"""cw.compare_run / cw.run_by_module / cw.plot_run over a real CheckpointManager run."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ckpt_widgets as cw
from tests.runs import STEPS, frozen_backbone_run

SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return frozen_backbone_run(tmp_path_factory.mktemp("run"))


def stored_variables(prefix: str) -> dict[str, np.ndarray]:
    """Every variable's path and value as TensorFlow reads them (never through ckpt_widgets)."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(prefix)
    return {
        key[: -len(SUFFIX)]: reader.get_tensor(key)
        for key in reader.get_variable_to_shape_map()
        if key.endswith(SUFFIX) and ".OPTIMIZER_SLOT" not in key
    }


def expected_by_module(prefix_a: str, prefix_b: str) -> dict[str, float]:
    """``sqrt(Σ||b-a||²) / sqrt(Σ||a||²)`` per parent path over floating point tensors."""
    a, b = stored_variables(prefix_a), stored_variables(prefix_b)
    sums: dict[str, list[float]] = {}
    for path in a.keys() & b.keys():
        module = path.rsplit("/", 1)[0] if "/" in path else ""
        entry = sums.setdefault(module, [0.0, 0.0])
        x, y = a[path], b[path]
        if x.shape == y.shape and np.issubdtype(x.dtype, np.floating):
            x64, y64 = x.astype(np.float64), y.astype(np.float64)
            entry[0] += float(np.sum(np.square(y64 - x64)))
            entry[1] += float(np.sum(np.square(x64)))
    return {m: 0.0 if d2 == 0 else math.sqrt(d2 / a2) for m, (d2, a2) in sums.items()}


def test_step_counters_move_no_module_figure(run):
    """``save_counter`` and the optimizer's ``iterations`` are integers: not a change."""
    directory, prefixes, _ = run
    table = cw.compare_run(directory)
    for group in (None, "optimizer"):
        by_module = cw.run_by_module(table, group=group)
        for step in range(2, STEPS + 2):
            rows = by_module[by_module["step"] == step].set_index("module")
            want = expected_by_module(prefixes[0], prefixes[step - 1])
            for module, row in rows.iterrows():
                np.testing.assert_allclose(row["rel_change"], want[module], rtol=1e-12)
    optimizer = cw.run_by_module(table, group="optimizer").set_index("module")
    assert (optimizer.loc["model/optimizer", "rel_change"] == 0.0).all()
    everything = cw.run_by_module(table, group=None).set_index("module")
    assert (everything.loc["", "rel_change"] == 0.0).all()
    assert (everything.loc["", "changed"] == 1).all()


def test_run_by_module_frozen_layers_are_flat_zero_lines(run):
    directory, _, _ = run
    by_module = cw.run_by_module(cw.compare_run(directory))
    lines = by_module.pivot(index="module", columns="step", values="rel_change")
    assert (lines.loc["model/backbone/_functional/_operations/1"] == 0.0).all()
    assert (lines.loc["model/backbone/_functional/_operations/2"] == 0.0).all()
    assert (lines.loc["model/head"] > 0).all()
    figure = cw.plot_run(cw.compare_run(directory))
    assert len(figure.axes[0].lines) == 3
    frozen = next(line for line in figure.axes[0].lines if line.get_label().endswith("/1"))
    assert (np.asarray(frozen.get_ydata()) == 0.0).all()
    heatmap = cw.plot_run(cw.compare_run(directory), kind="heatmap")
    assert heatmap.axes[0].images[0].get_array().shape == (3, STEPS)


def test_run_of_a_list_of_paths_and_bad_input(run, tmp_path):
    _, prefixes, _ = run
    table = cw.compare_run([prefixes[0], prefixes[2]])
    assert set(table["step"]) == {3}
    with pytest.raises(ValueError, match="against='last' is not one of"):
        cw.compare_run(prefixes, against="last")
    with pytest.raises(FileNotFoundError, match="holds 0 checkpoint"):
        cw.compare_run(tmp_path)
