"""stats and read_slices: a stored tensor read in bounded pieces gives exactly the
statistics and histogram counts numpy gives on the whole tensor TensorFlow reads."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ckpt_widgets as cw
from ckpt_widgets.files.slices import read_slices
from ckpt_widgets.preview import stats as st
from ckpt_widgets.preview.preview import preview
from tests import models

SLICE = 100  # bytes: 25 float32 per piece, which divides none of the shapes below


def with_specials(values: np.ndarray) -> np.ndarray:
    flat = values.reshape(-1)
    flat[[3, 50, 51]] = np.nan
    flat[[7, 300]] = np.inf
    flat[11] = -np.inf
    flat[20:40] = 0.0
    return values


def stored_values(tf) -> dict[str, np.ndarray]:
    """Tensors of several dtypes, each larger than :data:`SLICE`, none a multiple of it."""
    import ml_dtypes

    rng = np.random.default_rng(7)
    normal = rng.standard_normal((37, 11))
    return {
        "f32": with_specials(normal.astype("float32") * 3 + 1),
        "f64": with_specials(normal * 1e-3),
        "f16": with_specials(normal.astype("float16")),
        "bf16": with_specials(normal.astype(ml_dtypes.bfloat16)),
        "i32": rng.integers(-5, 6, (13, 7, 3)).astype("int32"),
        "i64": rng.integers(0, 2**40, 101).astype("int64"),
        "flags": rng.random(203) < 0.3,
        "single": np.array([2.5], "float32"),
    }


@pytest.fixture(scope="module")
def written(tf, tmp_path_factory):
    """The tensors as ``tf.Variable``s in a TF2 checkpoint, and TensorFlow's reader of it."""
    values = stored_values(tf)
    root = tf.train.Checkpoint(**{k: tf.Variable(v) for k, v in values.items()})
    prefix = root.write(str(tmp_path_factory.mktemp("stats") / "ckpt"))
    return prefix, tf.train.load_checkpoint(prefix)


def key(name: str) -> str:
    return f"{name}/.ATTRIBUTES/VARIABLE_VALUE"


def numpy_summary(values: np.ndarray) -> dict[str, float]:
    """The statistics computed plainly with numpy on the whole tensor, in float64."""
    f = np.asarray(values).astype(np.float64).ravel()
    finite = f[np.isfinite(f)]
    return {
        "mean": finite.mean(),
        "std": finite.std(),
        "min": finite.min(),
        "max": finite.max(),
        "zeros_pct": 100.0 * np.count_nonzero(finite == 0) / f.size,
        "nan": float(np.isnan(f).sum()),
        "inf": float(np.isinf(f).sum()),
        "l2": math.sqrt(float(np.sum(finite * finite))),
    }


def assert_summary(actual: dict[str, float], expected: dict[str, float]) -> None:
    for name in ("min", "max", "zeros_pct", "nan", "inf"):
        assert actual[name] == expected[name], name
    for name in ("mean", "std", "l2"):
        assert actual[name] == pytest.approx(expected[name], rel=1e-12, abs=1e-300), name


NAMES = ["f32", "f64", "f16", "bf16", "i32", "i64", "flags", "single"]


@pytest.mark.parametrize("name", NAMES)
def test_pieces_put_together_are_the_stored_tensor(written, name):
    prefix, reader = written
    src = cw.open_checkpoint(prefix)
    whole = reader.get_tensor(key(name))
    pieces = list(read_slices(src, key(name), SLICE))
    itemsize = whole.dtype.itemsize
    assert all(v.nbytes <= max(SLICE, itemsize) for _, v in pieces)
    assert [start for start, _ in pieces] == list(range(0, whole.size, SLICE // itemsize))
    joined = np.concatenate([v for _, v in pieces])
    assert joined.dtype == whole.dtype
    assert joined.tobytes() == whole.tobytes()


@pytest.mark.parametrize("name", NAMES)
def test_sliced_statistics_equal_numpy_on_the_whole_tensor(written, name):
    prefix, reader = written
    src = cw.open_checkpoint(prefix)
    whole = reader.get_tensor(key(name))
    assert_summary(st.summary_of_pieces(read_slices(src, key(name), SLICE)), numpy_summary(whole))


@pytest.mark.parametrize("name", ["f32", "f16", "bf16", "i32", "i64"])
def test_sliced_histogram_counts_equal_numpy(written, name):
    prefix, reader = written
    src = cw.open_checkpoint(prefix)
    whole = reader.get_tensor(key(name)).astype(np.float64).ravel()
    finite = whole[np.isfinite(whole)]
    edges = np.linspace(finite.min(), finite.max(), 31)
    streamed = st.Streamed(lambda: read_slices(src, key(name), SLICE), tuple(whole.shape))
    assert (streamed.lo, streamed.hi, streamed.finite_count) == (
        finite.min(),
        finite.max(),
        finite.size,
    )
    np.testing.assert_array_equal(streamed.counts(edges), np.histogram(finite, edges)[0])


def test_variable_stats_in_pieces_equal_numpy(written):
    prefix, reader = written
    table = cw.variable_stats(prefix, slice_bytes=SLICE).set_index("key")
    for name in NAMES:
        row = table.loc[key(name)]
        assert_summary(row.to_dict(), numpy_summary(reader.get_tensor(key(name))))
    assert not table.loc[key("f32"), "finite"] and table.loc[key("i32"), "finite"]


def test_a_tensor_split_over_shards_is_read_whole_and_right(tf, tmp_path):
    """TensorFlow's shard-size policy stores a large tensor as partitions in several data
    files; read_slices then reads it whole (as TensorFlow does), still exactly."""
    values = np.arange(20000, dtype="float32").reshape(200, 100)
    options = tf.train.CheckpointOptions(
        experimental_sharding_callback=tf.train.experimental.MaxShardSizePolicy(
            max_shard_size=20000
        )
    )
    root = tf.train.Checkpoint(big=tf.Variable(values), small=tf.Variable(values[:10]))
    prefix = root.write(str(tmp_path / "ckpt"), options=options)
    assert len(list(tmp_path.glob("ckpt.data-*"))) > 1
    src = cw.open_checkpoint(prefix)
    reader = tf.train.load_checkpoint(prefix)
    for name in ("big", "small"):
        joined = np.concatenate([v for _, v in read_slices(src, key(name), 1000)])
        assert joined.tobytes() == reader.get_tensor(key(name)).tobytes()


def test_keras_weights_file_in_row_pieces(tmp_path):
    import h5py

    model = models.cnn(seed=5)
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    src = cw.open_checkpoint(path)
    with h5py.File(path) as f:
        for k, shape in zip(src.variables["key"], src.variables["shape"]):
            whole = f[k][()]
            pieces = list(read_slices(src, k, 64))
            row = math.prod(shape[1:]) if len(shape) > 1 else 1
            assert all(start % row == 0 for start, _ in pieces)
            joined = np.concatenate([v for _, v in pieces])
            assert joined.tobytes() == whole.tobytes()
            assert_summary(st.summary_of_pieces(iter(pieces)), numpy_summary(whole))


def test_preview_of_a_streamed_tensor_equals_numpy(net_ckpt):
    """The preview reads a tensor over slice_bytes in pieces; its statistics and the
    difference from the live variable are those of the whole tensor."""
    import tensorflow as tf

    prefix, _ = net_ckpt
    model = models.net(head_units=3, seed=11)
    m = cw.match(model, prefix)
    row = m.table[m.table["model_path"] == "backbone/_functional/_operations/1/_kernel"]
    stored = tf.train.load_checkpoint(prefix).get_tensor(row["key"].iat[0])
    current = m.variables[row.index[0]].numpy()
    assert stored.nbytes > 2 * 12 and stored.size % 3
    _, plain = preview(m, "backbone/_functional/_operations/1/_kernel")
    _, sliced = preview(m, "backbone/_functional/_operations/1/_kernel", slice_bytes=12)
    checkpoint = sliced[sliced["side"] == "checkpoint"].iloc[0]
    assert_summary(checkpoint.to_dict(), numpy_summary(stored))
    assert checkpoint["max_abs_diff"] == np.max(np.abs(stored - current))  # in float32
    assert sliced.drop(columns=["mean", "std", "l2"]).equals(
        plain.drop(columns=["mean", "std", "l2"])
    )


def test_a_streamed_tensor_draws_the_same_histogram(net_ckpt):
    from ckpt_widgets.preview import figures

    prefix, _ = net_ckpt
    src = cw.open_checkpoint(prefix)
    k = src.variables["key"][src.variables["size"].idxmax()]
    whole = src.read(k)
    streamed = st.Streamed(lambda: read_slices(src, k, 12), tuple(whole.shape))
    assert whole.nbytes > 12
    assert figures.png([("v", streamed, None)]) == figures.png([("v", whole, None)])


# -- one reused buffer, and exact counts at a few operations per value ----------------------


def test_reused_pieces_are_one_buffer_and_the_stored_tensor(written, tmp_path):
    """read_slices(reuse=True): every piece is a view of one buffer of at most
    PIECE_BYTES or one row (one piece in memory, not two); copied out, they are the tensor."""
    import h5py

    from ckpt_widgets.files.slices import PIECE_BYTES

    prefix, reader = written
    model = models.cnn(seed=5)
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    cases = [(cw.open_checkpoint(prefix), key(n), reader.get_tensor(key(n))) for n in NAMES]
    keras_src = cw.open_checkpoint(path)
    with h5py.File(path) as f:
        cases += [(keras_src, k, f[k][()]) for k in keras_src.variables["key"]]
    for src, k, whole in cases:
        if whole.size * whole.dtype.itemsize <= SLICE:
            continue
        pieces = [(start, v.copy(), v) for start, v in read_slices(src, k, SLICE, reuse=True)]
        bases = {id(v.base) for _, _, v in pieces if v.base is not None}
        most = max(whole[:1].size if whole.ndim > 1 else 1, SLICE // whole.itemsize)
        assert len(bases) <= 1, k
        assert all(v.size <= most for *_, v in pieces) and SLICE < PIECE_BYTES
        joined = np.concatenate([c for _, c, _ in pieces])
        assert joined.dtype == whole.dtype and joined.tobytes() == whole.tobytes(), k


def test_streamed_statistics_hold_one_piece(tf, tmp_path):
    """variable_stats of a tensor read in pieces holds one piece at a time: before, the
    loop still held a piece while the next one was allocated (two pieces at once)."""
    import tracemalloc

    piece = 1 << 20
    values = np.random.default_rng(1).standard_normal(1 << 21).astype("float32")  # 8 MB
    prefix = tf.train.Checkpoint(v=tf.Variable(values)).write(str(tmp_path / "ckpt"))
    src = cw.open_checkpoint(prefix)
    cw.variable_stats(src, [key("v")], slice_bytes=piece)  # warm up: caches, imports
    tracemalloc.start()
    try:
        row = cw.variable_stats(src, [key("v")], slice_bytes=piece).iloc[0]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_summary(row.to_dict(), numpy_summary(values))
    scratch = 9 * st._CHUNK  # a float64 copy and a boolean mask of one block
    assert peak < piece + scratch + piece // 2, peak  # two pieces would be piece more


KEYS = ["mean", "std", "min", "max", "zeros_pct", "nan", "inf", "l2"]


def test_summary_of_plain_values():
    s = st.summary(np.array([[1.0, -1.0], [3.0, 0.0]], "float32"))
    assert list(s) == KEYS
    assert s == pytest.approx(
        {
            "mean": 0.75,
            "std": math.sqrt(2.1875),
            "min": -1.0,
            "max": 3.0,
            "zeros_pct": 25.0,
            "nan": 0,
            "inf": 0,
            "l2": math.sqrt(11.0),
        }
    )


def test_summary_counts_nan_inf_and_uses_finite_values_only():
    values = np.array([np.nan, np.inf, -np.inf, 0.0, 0.0, 2.0, 4.0, np.nan])
    s = st.summary(values)
    assert s["nan"] == 2 and s["inf"] == 2
    assert s["zeros_pct"] == 25.0  # 2 zeros among 8 elements
    assert s["mean"] == 1.5 and s["min"] == 0.0 and s["max"] == 4.0
    assert s["std"] == pytest.approx(math.sqrt(2.75))  # of 0, 0, 2, 4
    assert s["l2"] == pytest.approx(math.sqrt(20.0))


@pytest.mark.parametrize(
    "values",
    [np.zeros((0, 3), "float32"), np.array([np.nan, np.inf]), np.array([], "int64")],
    ids=["empty", "all-non-finite", "empty-int"],
)
def test_summary_without_finite_values(values):
    s = st.summary(values)
    assert all(math.isnan(s[k]) for k in ("mean", "std", "min", "max"))
    assert s["l2"] == 0.0 and s["zeros_pct"] == 0.0
    assert s["nan"] + s["inf"] == values.size


@pytest.mark.parametrize("dtype", ["int32", "float16", "bfloat16"])
def test_summary_of_other_dtypes(dtype):
    if dtype == "bfloat16":  # numpy has no bfloat16; TensorFlow's arrays use ml_dtypes'
        dtype = pytest.importorskip("ml_dtypes").bfloat16
    values = np.array([1, 2, 3, 0], dtype)
    s = st.summary(values)
    assert s["mean"] == 1.5 and s["max"] == 3.0 and s["zeros_pct"] == 25.0
    assert s["l2"] == pytest.approx(math.sqrt(14.0))


def test_summary_of_a_large_array_is_exact():
    values = np.arange(3 * 2**20 + 7, dtype="float32")  # several float64 blocks
    s = st.summary(values)
    n = values.size
    assert s["mean"] == (n - 1) / 2 and s["zeros_pct"] == pytest.approx(100 / n)
    assert s["std"] == pytest.approx(math.sqrt((n * n - 1) / 12), rel=1e-12)


# -- compare ------------------------------------------------------------------------------


def test_compare_on_overlapping_shapes():
    stored = np.arange(6, dtype="float32").reshape(2, 3)
    current = np.zeros((3, 2), "float32")
    current[1, 0] = -10.0
    frame = st.compare(stored, current)
    assert list(frame.index) == ["checkpoint", "model"]
    assert list(frame.columns) == [*KEYS, "max_abs_diff"]
    # overlap is [:2, :2]: |stored| there is 0, 1, 3, 4; at [1, 0]: |3 - -10| = 13
    assert (frame["max_abs_diff"] == 13.0).all()
    assert frame.loc["checkpoint", "mean"] == 2.5


def test_compare_with_a_missing_side_or_other_rank():
    only_model = st.compare(None, np.ones(3))
    assert list(only_model.index) == ["model"] and math.isnan(only_model["max_abs_diff"].iat[0])
    ranks = st.compare(np.ones(3), np.ones((3, 1)))
    assert ranks["max_abs_diff"].isna().all() and len(ranks) == 2


# -- preview ------------------------------------------------------------------------------


# -- two sides in two threads ----------------------------------------------------------------


def test_two_large_sides_measured_in_threads_give_numpys_figures(written, monkeypatch):
    """Sides over _PARALLEL elements are measured in two threads (a streamed stored side
    and a live array at once): statistics, the difference and the drawn counts are
    still numpy's on the whole tensors."""
    import threading

    from ckpt_widgets.preview import figures

    prefix, reader = written
    src = cw.open_checkpoint(prefix)
    stored = reader.get_tensor(key("f32"))
    current = np.random.default_rng(2).standard_normal(stored.shape).astype("float32")
    threads = set()

    def pieces():
        threads.add(threading.get_ident())
        return read_slices(src, key("f32"), SLICE, reuse=True)

    monkeypatch.setattr(st, "_PARALLEL", 2)
    streamed = st.Streamed(pieces, stored.shape, against=current)
    frame = st.compare(streamed, current)
    assert threading.get_ident() not in threads  # the stored side was read in a thread
    assert_summary(frame.loc["checkpoint"].to_dict(), numpy_summary(stored))
    assert_summary(frame.loc["model"].to_dict(), numpy_summary(current))
    np.testing.assert_equal(frame["max_abs_diff"].iat[0], np.max(np.abs(stored - current)))
    fig, _ = figures.figure([("v", streamed, current)], bins=9)
    bars = {p.get_label(): p.get_data() for p in fig.axes[0].patches}
    edges = bars["checkpoint"].edges
    for side, values in (("checkpoint", stored), ("model", current)):
        finite = values[np.isfinite(values)]
        expected = np.histogram(finite, edges)[0] * 100 / finite.size
        np.testing.assert_array_equal(bars[side].values, expected)


def test_a_read_error_in_a_thread_is_raised(monkeypatch):
    """A side measured in a thread that fails raises its error in the caller."""
    from ckpt_widgets.errors import CheckpointError

    def pieces():
        yield 0, np.zeros(4, "float32")
        raise CheckpointError("the data file changed while it was read")

    monkeypatch.setattr(st, "_PARALLEL", 2)
    with pytest.raises(CheckpointError, match="changed while"):
        st.compare(st.Streamed(pieces, (8,)), np.ones(8, "float32"))
