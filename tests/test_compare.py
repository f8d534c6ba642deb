"""cw.compare and cw.compare_run on real runs: a frozen backbone stays bit for bit the same."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ckpt_widgets as cw
from ckpt_widgets.engine.compare import measure
from tests import models
from tests.runs import STEPS, frozen_backbone_run, stored

BACKBONE = "model/backbone/"
HEAD = ("model/head/_kernel", "model/head/bias")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return frozen_backbone_run(tmp_path_factory.mktemp("run"))


def expected(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """The measures computed plainly with numpy in float64."""
    a64, b64 = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    norm_a, norm_b = np.linalg.norm(a64), np.linalg.norm(b64)
    return {
        "rel_change": np.linalg.norm(b64 - a64) / norm_a,
        "max_abs_diff": np.max(np.abs(b64 - a64)),
        "cosine": np.clip(a64 @ b64 / (norm_a * norm_b), -1, 1),
    }


MEASURES = ("rel_change", "max_abs_diff", "cosine")


def assert_measures_match_numpy(table, prefix_a, prefix_b):
    """Every row's status and measures, recomputed from the tensors TensorFlow reads."""
    for _, row in table[table["status"].isin(["same", "changed"])].iterrows():
        a, b = stored(prefix_a, row["key_a"]), stored(prefix_b, row["key_b"])
        assert row["status"] == ("same" if a.tobytes() == b.tobytes() else "changed")
        if a.dtype.kind != "f":
            continue
        want = expected(a, b)
        for column in MEASURES:
            np.testing.assert_allclose(row[column], want[column], rtol=1e-12, atol=0)


def test_frozen_backbone_same_trained_head_changed(run):
    _, prefixes, _ = run
    table = cw.compare(prefixes[1], prefixes[-1]).set_index("path")
    backbone = table[table.index.str.startswith(BACKBONE)]
    assert len(backbone) == 4 and set(backbone["status"]) == {"same"}
    assert (backbone["rel_change"] == 0.0).all() and (backbone["max_abs_diff"] == 0.0).all()
    assert set(table.loc[list(HEAD), "status"]) == {"changed"}
    assert (table.loc[list(HEAD), "rel_change"] > 0).all()
    assert table.loc["model/head/_kernel", "group"] == "model"
    assert table.loc["model/head/_kernel", "module"] == "model/head"
    assert set(table.loc[table["group"] == "optimizer", "status"]) <= {"same", "changed"}


def test_measures_equal_numpy_on_the_stored_tensors(run):
    _, prefixes, _ = run
    table = cw.compare(prefixes[1], prefixes[-1])
    assert_measures_match_numpy(table, prefixes[1], prefixes[-1])


def test_optimizer_state_created_by_the_first_step_is_only_in_b(run):
    _, prefixes, _ = run
    table = cw.compare(prefixes[0], prefixes[1])
    slots = table[table["path"].str.startswith("model/optimizer/_variables/")]
    assert len(slots) == 4 and set(slots["status"]) == {"only_b"}
    assert slots["rel_change"].isna().all() and slots["shape_a"].isna().all()


def test_reads_stream_one_pair_at_a_time(run):
    _, prefixes, _ = run
    a, b = cw.open_checkpoint(prefixes[0]), cw.open_checkpoint(prefixes[-1])
    order = []
    for side, src in (("a", a), ("b", b)):
        read = src.read
        src.read = lambda key, side=side, read=read: order.append(side) or read(key)
    table = cw.compare(a, b)
    both = table["status"].isin(["same", "changed"]).sum()
    assert order == ["a", "b"] * both


def test_rollup_change_leaves_integer_counters_out(run):
    import tensorflow as tf

    _, prefixes, _ = run
    a, b = tf.train.load_checkpoint(prefixes[1]), tf.train.load_checkpoint(prefixes[-1])
    dtypes = a.get_variable_to_dtype_map()
    table = cw.compare(prefixes[1], prefixes[-1])
    counters = table[table["path"].isin(["save_counter", "model/optimizer/_iterations"])]
    assert list(counters["status"]) == ["changed", "changed"]  # kept in the table
    floats = [k for k, dtype in dtypes.items() if dtype.is_floating]
    a64 = {k: a.get_tensor(k).astype(np.float64) for k in floats}
    d2 = sum(np.sum((b.get_tensor(k).astype(np.float64) - a64[k]) ** 2) for k in floats)
    a2 = sum(np.sum(a64[k] ** 2) for k in floats)
    rollup = cw.compare_rollup(table)
    np.testing.assert_allclose(rollup.loc["", "rel_change"], math.sqrt(d2 / a2), rtol=1e-12)
    assert rollup.loc["", "variables"] == len(table) == len(dtypes) - 1  # not the graph


def test_rollup_per_subtree(run):
    _, prefixes, _ = run
    rollup = cw.compare_rollup(cw.compare(prefixes[1], prefixes[-1]))
    assert rollup.loc["model/backbone", "same"] == 4
    assert rollup.loc["model/backbone", "rel_change"] == 0.0
    head = [stored(p, k) for p in (prefixes[1], prefixes[-1]) for k in _head_keys(p)]
    a = np.concatenate([h.ravel() for h in head[:2]]).astype(np.float64)
    b = np.concatenate([h.ravel() for h in head[2:]]).astype(np.float64)
    want = np.linalg.norm(b - a) / np.linalg.norm(a)
    np.testing.assert_allclose(rollup.loc["model/head", "rel_change"], want, rtol=1e-12)
    assert rollup.loc["", "variables"] == len(cw.open_checkpoint(prefixes[-1]).variables)


def _head_keys(prefix):
    src = cw.open_checkpoint(prefix)
    return [src.key_of(path) for path in HEAD]


def test_run_against_first_and_previous_equals_numpy(run):
    directory, prefixes, _ = run
    assert cw.run_checkpoints(directory) == prefixes
    for against in ("first", "previous"):
        table = cw.compare_run(directory, against=against)
        assert sorted(set(table["step"])) == list(range(2, STEPS + 2))
        for step in range(2, STEPS + 2):
            rows = table[table["step"] == step]
            reference = prefixes[0] if against == "first" else prefixes[step - 2]
            assert set(rows["reference"]) == {reference}
            assert_measures_match_numpy(rows, reference, prefixes[step - 1])
        frozen = table[table["path"].str.startswith(BACKBONE)]
        assert set(frozen["status"]) == {"same"} and (frozen["rel_change"] == 0.0).all()


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


def test_live_model_against_its_checkpoints(run):
    _, prefixes, model = run
    last = cw.compare(model, prefixes[-1])
    model_rows = last[last["path_a"].notna()]
    assert len(model_rows) == len(model.weights) and set(model_rows["status"]) == {"same"}
    assert set(last.loc[last["path_a"].isna(), "status"]) == {"only_b"}
    first = cw.compare(prefixes[1], model).set_index("path")
    assert first.loc["head/_kernel", "status"] == "changed"
    assert first.loc["backbone/_functional/_operations/1/_kernel", "status"] == "same"
    assert first.loc["head/_kernel", "layer"] == "head"
    a = stored(prefixes[1], "model/head/_kernel/.ATTRIBUTES/VARIABLE_VALUE")
    want = expected(a, model.head.kernel.numpy())
    np.testing.assert_allclose(first.loc["head/_kernel", "rel_change"], want["rel_change"])


def test_roots_found_when_files_name_the_model_differently(tf, tmp_path):
    model = models.net(seed=4)
    a = tf.train.Checkpoint(model=model).write(str(tmp_path / "a"))
    b = tf.train.Checkpoint(net=model).write(str(tmp_path / "b"))
    table = cw.compare(a, b)
    assert set(table["status"]) == {"same"} and len(table) == len(model.weights)
    assert set(table["path_a"].str.split("/").str[0]) == {"model"}
    assert set(table["path_b"].str.split("/").str[0]) == {"net"}


def test_shape_and_dtype_changes(tf, tmp_path):
    small, wide = models.net(head_units=3, seed=1), models.net(head_units=4, seed=1)
    a = tf.train.Checkpoint(model=small).write(str(tmp_path / "small"))
    b = tf.train.Checkpoint(model=wide).write(str(tmp_path / "wide"))
    table = cw.compare(a, b).set_index("path")
    assert table.loc["model/head/_kernel", "status"] == "shape_changed"
    assert table.loc["model/head/_kernel", "shape_b"] == (5, 4)
    assert table.loc["model/backbone/_functional/_operations/1/_kernel", "status"] == "same"
    c = tf.train.Checkpoint(v=tf.Variable(np.ones(3, "float32"))).write(str(tmp_path / "c"))
    d = tf.train.Checkpoint(v=tf.Variable(np.ones(3, "float64"))).write(str(tmp_path / "d"))
    row = cw.compare(c, d).set_index("path").loc["v"]
    assert row["status"] == "dtype_changed" and math.isnan(row["rel_change"])


def test_tf1_saver_checkpoints(tf, tmp_path):
    rng = np.random.default_rng(3)
    values = {"fc1/weights": rng.standard_normal((2, 4)).astype("float32")}
    values["fc2/weights"] = rng.standard_normal((4, 5)).astype("float32")
    moved = dict(values, **{"fc2/weights": values["fc2/weights"] * 1.5})
    a = models.save_tf1(tf, values, tmp_path / "a" / "model")
    b = models.save_tf1(tf, moved, tmp_path / "b" / "model")
    table = cw.compare(a, b).set_index("path")
    assert table.loc["fc1/weights", "status"] == "same"
    assert table.loc["fc2/weights", "status"] == "changed"
    np.testing.assert_allclose(table.loc["fc2/weights", "rel_change"], 0.5, rtol=1e-7)
    assert_measures_match_numpy(table.reset_index(), a, b)


@pytest.mark.parametrize("suffix", [".weights.h5", ".keras"])
def test_keras_files(tmp_path, suffix):
    import h5py

    model = models.cnn(seed=5)
    save = model.save_weights if suffix == ".weights.h5" else model.save
    save(str(tmp_path / f"a{suffix}"))
    model.get_layer("conv2").kernel.assign(model.get_layer("conv2").kernel * 2.0)
    save(str(tmp_path / f"b{suffix}"))
    table = cw.compare(tmp_path / f"a{suffix}", tmp_path / f"b{suffix}")
    changed = table[table["status"] == "changed"]
    assert list(changed["layer"]) == ["conv2"] and len(changed) == 1
    assert set(table["status"]) == {"same", "changed"} and len(table) == len(model.weights)
    if suffix == ".weights.h5":
        with h5py.File(tmp_path / "a.weights.h5") as fa, h5py.File(tmp_path / "b.weights.h5") as fb:
            key = changed["key_a"].iloc[0]
            want = expected(fa[key][()], fb[key][()])
        np.testing.assert_allclose(changed["rel_change"].iloc[0], want["rel_change"], rtol=1e-12)
        np.testing.assert_allclose(changed["rel_change"].iloc[0], 1.0, rtol=1e-7)


def test_files_sharing_nothing_say_so(tf, tmp_path, run):
    _, prefixes, _ = run
    models.cnn(seed=1).save_weights(str(tmp_path / "cnn.weights.h5"))
    with pytest.raises(cw.NothingInCommonError, match="share no variable path") as info:
        cw.compare(prefixes[-1], tmp_path / "cnn.weights.h5")
    assert "compare a live model with each file" in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(FileNotFoundError):
        cw.compare(prefixes[-1], tmp_path / "missing")


def test_measure_edge_cases():
    zeros, ones = np.zeros(3, "float32"), np.ones(3, "float32")
    moved = measure(zeros, ones)
    assert moved["status"] == "changed" and moved["rel_change"] == math.inf
    assert math.isnan(moved["cosine"]) and moved["max_abs_diff"] == 1.0
    rng = np.random.default_rng(0)
    reset = measure(rng.standard_normal(1000).astype("float32"), np.zeros(1000, "float32"))
    assert reset["rel_change"] == 1.0 and math.isnan(reset["cosine"])
    still = measure(zeros, zeros.copy())
    assert still["status"] == "same" and still["rel_change"] == 0.0
    signed = measure(zeros, -zeros)
    assert signed["status"] == "changed" and math.isnan(signed["rel_change"])
    nan = np.array([1.0, np.nan], "float32")
    assert measure(nan, nan.copy())["status"] == "same"
    assert measure(nan, nan.copy())["rel_change"] == 0.0
    steps = measure(np.array(3, "int64"), np.array(5, "int64"))
    assert steps["status"] == "changed" and math.isnan(steps["cosine"])
    assert steps["max_abs_diff"] == 2.0
    assert measure(np.array([b"x"]), np.array([b"y"]))["status"] == "changed"


def test_two_live_models_and_a_model_against_a_weights_file(tmp_path):
    a, b = models.net(seed=1), models.net(seed=1)
    b.head.bias.assign(b.head.bias + 1.0)
    table = cw.compare(a, b).set_index("path")
    assert table.loc["head/bias", "status"] == "changed"
    assert (table.drop(index="head/bias")["status"] == "same").all()
    np.testing.assert_allclose(table.loc["head/bias", "max_abs_diff"], 1.0, rtol=1e-6)
    cnn = models.cnn(seed=6)
    cnn.save_weights(str(tmp_path / "cnn.weights.h5"))
    cnn.get_layer("top").bias.assign(cnn.get_layer("top").bias + 2.0)
    against_file = cw.compare(tmp_path / "cnn.weights.h5", cnn)
    changed = against_file[against_file["status"] == "changed"]
    assert list(changed["layer"]) == ["top"] and list(changed["key_b"]) == [
        cnn.get_layer("top").bias.path
    ]
    assert (against_file["status"].isin(["same", "changed"])).all()
    assert len(against_file) == len(cnn.weights)


def test_weights_file_against_keras_archive_of_the_same_model(tmp_path):
    model = models.cnn(seed=8)
    model.save_weights(str(tmp_path / "cnn.weights.h5"))
    model.save(str(tmp_path / "cnn.keras"))
    table = cw.compare(tmp_path / "cnn.weights.h5", tmp_path / "cnn.keras")
    assert len(table) == len(model.weights) and set(table["status"]) == {"same"}
    assert (table["rel_change"] == 0.0).all()


# -- tensors over slice_bytes: read and measured piece by piece ------------------------------

TINY = 12  # bytes per piece: 3 float32, which divides none of the shapes


def test_sliced_compare_equals_numpy_and_the_whole_compare(run):
    from ckpt_widgets.engine.compare import compare_pairs, pair_variables

    _, prefixes, model = run
    whole = cw.compare(prefixes[1], prefixes[-1])
    sliced = compare_pairs(pair_variables(prefixes[1], prefixes[-1]), slice_bytes=TINY)
    assert sliced["status"].tolist() == whole["status"].tolist()
    assert_measures_match_numpy(sliced, prefixes[1], prefixes[-1])
    live = compare_pairs(pair_variables(prefixes[1], model), slice_bytes=TINY)
    assert live["status"].tolist() == cw.compare(prefixes[1], model)["status"].tolist()


def test_sliced_same_compares_every_byte(tf, tmp_path):
    """Two tensors differing only in their last element, or only in the sign of a zero,
    are "changed" piece by piece; equal bytes (NaN included) are "same"."""
    from ckpt_widgets.engine.compare import compare_pairs, pair_variables

    base = np.arange(1001, dtype="float32")
    base[5] = np.nan
    last = base.copy()
    last[-1] += 1
    signed = base.copy()
    signed[0] = -0.0

    def write(name, values):
        return tf.train.Checkpoint(v=tf.Variable(values)).write(str(tmp_path / name))

    a = write("a", base)
    for name, values, status in [("same", base.copy(), "same"), ("last", last, "changed"),
                                 ("signed", signed, "changed")]:  # fmt: skip
        b = write(name, values)
        row = compare_pairs(pair_variables(a, b), slice_bytes=TINY).set_index("path").loc["v"]
        assert row["status"] == status, name
    row = compare_pairs(pair_variables(a, a), slice_bytes=TINY).set_index("path").loc["v"]
    assert row["rel_change"] == 0.0 and row["max_abs_diff"] == 0.0
    clean_a, clean_b = np.arange(1001, dtype="float32"), np.arange(1001, dtype="float32") * 1.5
    a, b = write("clean_a", clean_a), write("clean_b", clean_b)
    row = compare_pairs(pair_variables(a, b), slice_bytes=TINY).set_index("path").loc["v"]
    want = expected(clean_a, clean_b)
    for column in MEASURES:
        np.testing.assert_allclose(row[column], want[column], rtol=1e-12, atol=0)
