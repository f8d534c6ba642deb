"""restore: the scenarios people ask for, each checked value by value against the file."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

import ckpt_widgets as cw
from tests import models
from tests.conftest import assert_same, assert_unchanged


def check(model, prefix, restored_paths, before):
    """Restored variables equal the file bit for bit; all others kept their values."""
    src = cw.open_checkpoint(prefix)
    table = cw.match(model, src).table.iloc[: len(model.weights)]
    by_id = {id(v): i for i, v in enumerate(model.weights)}
    for v, old in zip(model.weights, before):
        i = by_id[id(v)]
        path = table["model_path"].iat[i]
        if path in restored_paths:
            assert_same(v.numpy(), src.read(table["key"].iat[i]))
        else:
            assert_same(v.numpy(), old)


def test_backbone_only_into_a_wider_head(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(head_units=7, seed=9)
    before = models.values(model)
    report = cw.restore(model, prefix, include=["backbone"])
    assert set(report.restored["model_path"]) == {
        f"backbone/_functional/_operations/{i}/{v}" for i in (1, 2) for v in ("_kernel", "bias")
    }
    check(model, prefix, set(report.restored["model_path"]), before)
    skipped = report.skipped.set_index("model_path")
    assert skipped.loc["head/_kernel", "status"] == "shape_mismatch"
    assert "tf.train.Checkpoint(model={'backbone': model.backbone})" in report.code


def test_model_and_optimizer_after_fit_leave_the_optimizer_alone(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(seed=10)
    models.fit_briefly(model)
    opt_before = [v.numpy().copy() for v in model.optimizer.variables]
    before = models.values(model)
    report = cw.restore(model, prefix)
    check(model, prefix, set(report.restored["model_path"]), before)
    assert len(report.restored) == len(model.weights)
    for v, old in zip(model.optimizer.variables, opt_before):
        assert_same(v.numpy(), old)


def test_optimizer_state_on_request(net_ckpt):
    prefix, trained = net_ckpt
    model = models.net(seed=11)
    models.fit_briefly(model)
    report = cw.restore(model, prefix, optimizer=True)
    assert report.restored["model_path"].str.startswith("optimizer/").any()
    assert len(model.optimizer.variables) == len(trained.optimizer.variables)
    for ours, stored in zip(model.optimizer.variables, trained.optimizer.variables):
        assert_same(ours.numpy(), stored.numpy())


def test_named_layers_of_a_functional_model(functional_ckpt):
    directory, _ = functional_ckpt
    model = models.functional(seed=12)
    before = models.values(model)
    report = cw.restore(model, directory, include=["embedding_layer", "encoder_layer"])
    assert set(report.restored["layer"]) == {"embedding_layer", "encoder_layer"}
    check(model, directory, set(report.restored["model_path"]), before)
    assert_same(model.get_layer("decoder").kernel.numpy(), before[3])


def test_one_conv_deep_in_a_sequential_by_layer_object(conv_ckpt):
    prefix, _ = conv_ckpt
    model = models.cnn(seed=13)
    before = models.values(model)
    report = cw.restore(model, prefix, include=model.get_layer("conv2"))
    assert set(report.restored["layer"]) == {"conv2"}
    check(model, prefix, set(report.restored["model_path"]), before)


def test_glob_selects_conv_layers(conv_ckpt):
    prefix, _ = conv_ckpt
    model = models.cnn(seed=14)
    before = models.values(model)
    report = cw.restore(model, prefix, include="conv*")
    assert set(report.restored["layer"]) == {"conv1", "conv2"}
    check(model, prefix, set(report.restored["model_path"]), before)


def test_exclude_and_batchnorm_statistics(conv_ckpt):
    prefix, _ = conv_ckpt
    model = models.cnn(seed=15)
    before = models.values(model)
    report = cw.restore(model, prefix, exclude=["top"])
    assert "bn" in set(report.restored["layer"]) and "top" not in set(report.restored["layer"])
    assert len(report.restored) == len(model.weights) - 2  # moving stats included
    check(model, prefix, set(report.restored["model_path"]), before)


def test_two_checkpoints_two_calls(tf, tmp_path):
    a, b = models.cnn(seed=20), models.cnn(seed=21)
    pa = tf.train.Checkpoint(model=a).write(str(tmp_path / "a"))
    pb = tf.train.Checkpoint(model=b).write(str(tmp_path / "b"))
    model = models.cnn(seed=22)
    first = cw.restore(model, pa, include=["conv1", "bn"])
    rest = cw.restore(model, pb, exclude=["conv1", "bn"])
    assert len(first.restored) + len(rest.restored) == len(model.weights)
    for v, va, vb in zip(model.weights, a.weights, b.weights):
        layer = v.path.split("/")[-2]
        assert_same(v.numpy(), (va if layer in ("conv1", "bn") else vb).numpy())


@pytest.mark.parametrize("where", ["root", "net", "model"])
def test_model_at_root_under_net_or_model(tf, tmp_path, where):
    saved = models.net(seed=30)
    ckpt = tf.train.Checkpoint(saved) if where == "root" else tf.train.Checkpoint(**{where: saved})
    prefix = ckpt.write(str(tmp_path / "ckpt"))
    model = models.net(seed=31)
    report = cw.restore(model, prefix, include="head")
    assert_same(model.head.kernel.numpy(), saved.head.kernel.numpy())
    assert not np.array_equal(model.backbone.layers[0].kernel.numpy(), saved.weights[0].numpy())
    expected = "head=model.head" if where == "root" else f"{where}={{'head': model.head}}"
    assert expected in report.code


def test_checkpoint_manager_directory(functional_ckpt):
    directory, saved = functional_ckpt
    model = models.functional(seed=32)
    cw.restore(model, directory)
    for v, s in zip(model.weights, saved.weights):
        assert_same(v.numpy(), s.numpy())


def test_the_pitfall_plain_tf_restores_nothing_we_restore_the_backbone(net_ckpt, tf):
    prefix, saved = net_ckpt
    plain = models.net(seed=40)
    before = models.values(plain)
    tf.train.Checkpoint(backbone=plain.backbone).read(prefix).expect_partial()
    assert all(np.array_equal(v.numpy(), b) for v, b in zip(plain.weights, before))

    report = cw.restore(plain, prefix, include="backbone")
    assert len(report.restored) == 4
    for v, s in zip(plain.backbone.weights, saved.backbone.weights):
        assert_same(v.numpy(), s.numpy())
    assert "tf.train.Checkpoint(model={'backbone': model.backbone})" in report.code


def test_undo_puts_back_the_previous_values(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(head_units=7, seed=41)
    before = models.values(model)
    report = cw.restore(model, prefix, include="backbone")
    report.undo()
    assert_unchanged(model.weights, before)
    assert report.undone
    with pytest.raises(cw.UndoError):
        report.undo()


def test_adapt_overlap_and_zeros(net_ckpt):
    prefix, saved = net_ckpt
    for mode in ("overlap", "zeros"):
        model = models.net(head_units=7, seed=42)
        old = model.head.kernel.numpy().copy()
        report = cw.restore(model, prefix, include="head", adapt=mode)
        kernel = model.head.kernel.numpy()
        assert_same(kernel[:, :3], saved.head.kernel.numpy())
        rest = old[:, 3:] if mode == "overlap" else np.zeros_like(old[:, 3:])
        assert_same(kernel[:, 3:], rest)
        assert set(report.restored["adapted"]) == {mode}
        report.undo()
        assert_same(model.head.kernel.numpy(), old)


def test_shape_mismatch_without_adapt_is_an_error_and_changes_nothing(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(head_units=7, seed=43)
    before = models.values(model)
    with pytest.raises(cw.ShapeMismatchError, match="adapt='overlap'"):
        cw.restore(model, prefix, include=["backbone", "head"])
    assert_unchanged(model.weights, before)


def test_unknown_include_name_suggests_close_names(conv_ckpt):
    prefix, _ = conv_ckpt
    with pytest.raises(cw.SelectionError, match=r"did you mean 'conv\d', 'conv\d'"):
        cw.restore(models.cnn(), prefix, include="conv")


def test_checkpoint_of_another_model_restores_nothing_loudly(conv_ckpt):
    prefix, _ = conv_ckpt
    model = models.net()
    before = models.values(model)
    with pytest.raises(cw.NothingToRestoreError, match="checkpoint of another model"):
        cw.restore(model, prefix)
    assert_unchanged(model.weights, before)


@pytest.mark.parametrize("undo", [True, "disk", False])
@pytest.mark.parametrize(
    ("fault", "expected", "message"),
    [
        (OSError("disk went away"), cw.RestoreError, "put back as it was"),
        (KeyboardInterrupt(), KeyboardInterrupt, None),
    ],
    ids=["exception", "ctrl-c"],
)
def test_failure_mid_restore_rolls_back(net_ckpt, monkeypatch, undo, fault, expected, message):
    prefix, _ = net_ckpt
    model = models.net(seed=44)
    before = models.values(model)
    restore_module = sys.modules["ckpt_widgets.engine.transaction"]

    def broken(*args):
        raise fault

    monkeypatch.setattr(restore_module, "_verify", broken)
    with pytest.raises(expected, match=message):
        cw.restore(model, prefix, undo=undo)
    assert_unchanged(model.weights, before)
    monkeypatch.undo()
    assert len(cw.restore(model, prefix).restored) == 6  # the API keeps working


@pytest.mark.parametrize("fault", [KeyboardInterrupt, OSError])
@pytest.mark.parametrize("k", [1, 4, 6])
def test_a_failing_kth_assign_leaves_every_variable_old(net_ckpt, monkeypatch, fault, k):
    """The k-th variable's assign fails (read in parts, as with a progress bar): the ones
    assigned before it are put back too; the model is all old, never mixed."""
    prefix, _ = net_ckpt
    model = models.net(seed=45)
    before = models.values(model)
    transaction = sys.modules["ckpt_widgets.engine.transaction"]
    real, calls = transaction._assign, []

    def kth_fails(variable, value):
        calls.append(1)
        if len(calls) == k:
            raise fault("device lost")
        real(variable, value)

    monkeypatch.setattr(transaction, "_assign", kth_fails)
    with pytest.raises(KeyboardInterrupt if fault is KeyboardInterrupt else cw.RestoreError):
        cw.restore(model, prefix, progress=lambda done, total: None)
    assert len(calls) == k
    assert_unchanged(model.weights, before)


def test_unbuilt_model(net_ckpt, keras):
    prefix, _ = net_ckpt
    with pytest.raises(cw.UnbuiltModelError, match="build it first"):
        cw.restore(keras.Sequential([keras.layers.Dense(2)]), prefix)


def test_undo_after_training_refuses_unless_forced(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(seed=46)
    before = models.values(model)
    report = cw.restore(model, prefix, include="head", adapt="overlap")
    trained = model.head.bias.numpy() + 1
    model.head.bias.assign(trained)  # what a training step would do
    with pytest.raises(cw.UndoError, match=r"changed since the restore .*'head/bias'"):
        report.undo()
    assert_same(model.head.bias.numpy(), trained)  # refused: nothing changed
    report.undo(force=True)
    assert_unchanged(model.weights, before)


def test_undo_of_an_adapted_restore_checks_the_adapted_values(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(head_units=7, seed=47)
    before = models.values(model)
    cw.restore(model, prefix, include="head", adapt="overlap").undo()  # no false alarm
    assert_unchanged(model.weights, before)


def test_undo_snapshot_on_disk(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(seed=48)
    before = models.values(model)
    kept = set(Path(tempfile.gettempdir()).glob("ckpt-widgets-undo-*"))
    report = cw.restore(model, prefix, undo="disk")
    (folder,) = set(Path(tempfile.gettempdir()).glob("ckpt-widgets-undo-*")) - kept
    assert folder.is_dir() and len(list(folder.glob("*.npy"))) == len(model.weights)
    report.undo()
    assert_unchanged(model.weights, before)
    assert not folder.exists()


def test_undo_off_keeps_no_values(net_ckpt):
    prefix, saved = net_ckpt
    model = models.net(seed=49)
    report = cw.restore(model, prefix, undo=False)
    with pytest.raises(cw.UndoError, match="undo=False"):
        report.undo()
    for v, s in zip(model.weights, saved.weights):
        assert_same(v.numpy(), s.numpy())


def test_float16_checkpoint_needs_cast(tf, keras, tmp_path):
    half = models.net(seed=51)
    stored = tf.train.Checkpoint(
        model=tf.train.Checkpoint(
            head=tf.train.Checkpoint(bias=tf.Variable(half.head.bias.numpy().astype("float16") + 1))
        )
    )
    prefix = stored.write(str(tmp_path / "ckpt"))
    model = models.net(seed=52)
    before = models.values(model)
    with pytest.raises(cw.DtypeMismatchError, match="cast=True"):
        cw.restore(model, prefix, include="head", rename={"model/head/bias": "head/bias"})
    assert_unchanged(model.weights, before)
    report = cw.restore(
        model, prefix, include="head/bias", rename={"model/head/bias": "head/bias"}, cast=True
    )
    expected = cw.open_checkpoint(prefix).read("model/head/bias").astype("float32")
    assert_same(model.head.bias.numpy(), expected)
    assert report.restored["adapted"].tolist() == ["cast to float32"]


def test_nan_values_restore_with_a_warning(tf, tmp_path):
    saved = models.net(seed=53)
    saved.head.bias.assign([np.nan, np.inf, 0.0])
    prefix = tf.train.Checkpoint(model=saved).write(str(tmp_path / "ckpt"))
    model = models.net(seed=54)
    with pytest.warns(cw.NonFiniteValuesWarning, match="'head/bias'"):
        report = cw.restore(model, prefix, include="head")
    assert_same(model.head.bias.numpy(), saved.head.bias.numpy())  # NaN bits included
    report.undo()


def test_progress_and_cancel_roll_back(conv_ckpt):
    import threading

    prefix, saved = conv_ckpt
    model = models.cnn(seed=55)
    before = models.values(model)
    cancel = threading.Event()
    seen = []

    def progress(done, total):
        seen.append((done, total))
        if done == 2:
            cancel.set()  # the user presses Cancel after two parts

    with pytest.raises(cw.RestoreCancelled, match="cancelled; every variable was put back"):
        cw.restore(
            model, prefix, include=["conv1", "bn", "conv2"], progress=progress, cancel=cancel
        )
    assert seen[:3] == [(0, seen[0][1]), (1, seen[0][1]), (2, seen[0][1])]
    assert_unchanged(model.weights, before)

    seen.clear()
    report = cw.restore(model, prefix, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1] and len(seen) > 2
    for v, s in zip(model.weights, saved.weights):
        assert_same(v.numpy(), s.numpy())
    report.undo()


def test_optimizer_slots_of_the_restored_variables_only(net_ckpt):
    prefix, trained = net_ckpt
    model = models.net(seed=56)
    models.fit_briefly(model)
    opt, stored_opt = model.optimizer, trained.optimizer
    before = [v.numpy().copy() for v in opt.variables]
    report = cw.restore(model, prefix, include="head", optimizer="restored")
    slots = report.restored[report.restored["model_path"].str.startswith("optimizer/")]
    assert len(slots) == 4  # momentum and velocity of the head's kernel and bias
    head = {id(model.head.kernel): 4, id(model.head.bias): 5}  # their optimizer indices
    assert [id(v) for v in opt._trainable_variables[4:]] == list(head)
    for kind in ("_momentums", "_velocities"):
        ours, theirs = getattr(opt, kind), getattr(stored_opt, kind)
        for i in range(6):
            position = next(k for k, v in enumerate(opt.variables) if v is ours[i])
            expected = theirs[i].numpy() if i >= 4 else before[position]
            assert_same(ours[i].numpy(), expected)
    assert_same(opt.iterations.numpy(), before[0])  # the step count is left alone


def test_a_match_of_another_model_is_refused_and_changes_nothing(cnn_pair):
    (pa, _), _ = cnn_pair
    model_a, model_b = models.cnn(seed=60), models.cnn(seed=61)
    before_a, before_b = models.values(model_a), models.values(model_b)
    with pytest.raises(cw.MatchError, match=r"made for model .*nothing was restored"):
        cw.restore(model_b, cw.match(model_a, pa))
    assert_unchanged(model_a.weights, before_a)
    assert_unchanged(model_b.weights, before_b)


def test_a_match_made_before_the_model_changed_is_refused(cnn_pair, keras):
    """A Sequential's last layer popped and replaced after the match: the Match still
    holds the old layer's variables, so restoring through it would change nothing the
    model uses while reporting them restored."""
    (pa, a), (pb, _) = cnn_pair
    model = models.cnn(seed=63)
    made = cw.match(model, pa)
    model.pop()
    model.add(keras.layers.Dense(2, name="top2"))
    model(np.zeros((1, 8, 8, 3), "float32"))
    before = models.values(model)
    with pytest.raises(cw.MatchError, match=r"changed since .*2 added, 2 removed.*nothing"):
        cw.restore(model, made)
    with pytest.raises(cw.MatchError, match=r"changed since"):
        cw.restore_many(model, [(made, {"include": "conv1"}), (pb, {"include": "top2"})])
    assert_unchanged(model.weights, before)
    cw.restore(model, cw.match(model, pa))  # a fresh Match restores the new layer too
    assert_same(model.get_layer("top2").kernel.numpy(), a.get_layer("top").kernel.numpy())


@pytest.mark.parametrize(
    "option",
    [{"root": "model"}, {"rename": {"model/top/bias": "top/bias"}}, {"align": True}],
    ids=["root", "rename", "align"],
)
def test_options_a_match_already_fixed_are_refused(cnn_pair, option):
    (pa, _), _ = cnn_pair
    model = models.cnn(seed=62)
    before = models.values(model)
    with pytest.raises(cw.MatchError, match=f"{next(iter(option))}= cannot change a Match"):
        cw.restore(model, cw.match(model, pa), **option)
    assert_unchanged(model.weights, before)


@pytest.fixture(scope="module")
def custom_loop_ckpt(tf, keras, tmp_path_factory):
    """A ``Net`` trained one step by a custom loop (never compiled), saved with its
    optimizer as ``Checkpoint(model=m, optimizer=opt)``."""
    model = models.net(seed=63)
    opt = keras.optimizers.Adam()
    x = np.random.default_rng(0).standard_normal((8, 2)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(x) ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables))
    prefix = tf.train.Checkpoint(model=model, optimizer=opt).write(
        str(tmp_path_factory.mktemp("loop") / "ckpt")
    )
    return prefix, model, opt


@pytest.mark.parametrize("optimizer", [False, True, "restored"])
@pytest.mark.parametrize("built", [False, True], ids=["compiled", "compiled+built"])
def test_into_a_compiled_model_from_a_custom_loop(custom_loop_ckpt, optimizer, built):
    prefix, saved, saved_opt = custom_loop_ckpt
    model = models.net(seed=64)
    model.compile(optimizer="adam", loss="mse")
    if built:
        model.optimizer.build(model.trainable_variables)
    before = models.values(model)
    opt_before = [v.numpy().copy() for v in model.optimizer.variables]
    if optimizer is not False and not built:
        with pytest.raises(cw.SelectionError, match="build it first"):
            cw.restore(model, prefix, optimizer=optimizer)
        assert_unchanged(model.weights, before)
        return
    cw.restore(model, prefix, optimizer=optimizer)
    for ours, theirs in zip(model.weights, saved.weights):
        assert_same(ours.numpy(), theirs.numpy())
    ours, theirs = model.optimizer.variables, saved_opt.variables
    if optimizer is False:
        assert_unchanged(ours, opt_before)
    elif optimizer is True:
        for v, s in zip(ours, theirs):
            assert_same(v.numpy(), s.numpy())
    else:  # the slots only: the step count and learning rate stay
        assert_unchanged(ours[:2], opt_before[:2])
        for v, s in zip(ours[2:], theirs[2:]):
            assert_same(v.numpy(), s.numpy())


def test_nan_values_in_bfloat16_restore_with_a_warning(tf, keras, tmp_path):
    def build(seed):
        model = keras.Sequential(
            [keras.Input((2,)), keras.layers.Dense(3, dtype="bfloat16", name="d")]
        )
        models.perturb(model, seed)
        return model

    saved = build(65)
    saved.get_layer("d").bias.assign(np.array([np.nan, np.inf, 1.0], "float32"))
    prefix = tf.train.Checkpoint(model=saved).write(str(tmp_path / "ckpt"))
    model = build(66)
    assert str(model.get_layer("d").bias.dtype) == "bfloat16"
    layer = model.get_layer("d")  # named by its Keras names, not _functional/_operations/1
    with pytest.warns(cw.NonFiniteValuesWarning, match=f"'{layer.name}/{layer.bias.name}'"):
        cw.restore(model, prefix)
    reader = tf.train.load_checkpoint(prefix)
    key = "model/_functional/_operations/1/bias/.ATTRIBUTES/VARIABLE_VALUE"
    assert_same(model.get_layer("d").bias.numpy(), reader.get_tensor(key))


def test_unknown_undo_place_is_refused(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(seed=67)
    before = models.values(model)
    with pytest.raises(cw.OptionError, match=r"undo='dsik' is not one of .*'memory', 'disk'"):
        cw.restore(model, prefix, undo="dsik")
    assert_unchanged(model.weights, before)


def test_skipped_tells_selected_from_not_selected(tf, tmp_path):
    old = models.net(seed=90)
    holder = tf.train.Checkpoint(backbone=old.backbone)  # no head: the head is model only
    prefix = tf.train.Checkpoint(model=holder).write(str(tmp_path / "ckpt"))
    model = models.net(seed=91)
    report = cw.restore(model, prefix, include=["backbone/_functional/_operations/1", "head"])
    skipped = report.skipped.set_index("model_path")
    assert list(report.skipped.columns[:6]) == [
        "label",
        "model_path",
        "name",
        "layer",
        "status",
        "reason",
    ]
    assert skipped.loc["head/_kernel", "selected"] and skipped.loc["head/bias", "selected"]
    assert skipped.loc["head/_kernel", "status"] == "missing"
    unticked = skipped[~skipped["selected"].astype(bool)]
    assert set(unticked.index) == {
        "backbone/_functional/_operations/2/_kernel",
        "backbone/_functional/_operations/2/bias",
    }
    assert set(unticked["reason"]) == {"not selected"}


def test_each_stored_tensor_is_read_once(net_ckpt, monkeypatch):
    """One read per restored tensor, verification included: no object-based read first and
    no second read to verify against."""
    from collections import Counter

    import tensorflow as tf

    from ckpt_widgets.files.tf_reader import TensorFlowSource

    prefix, saved = net_ckpt
    model = models.net(seed=120)
    reads: Counter = Counter()
    read, read_tensors = TensorFlowSource.read, TensorFlowSource.read_tensors

    def counted_read(self, key):
        reads[self.key_of(key)] += 1
        return read(self, key)

    def counted_read_tensors(self, keys):
        reads.update(keys)
        return read_tensors(self, keys)

    def object_read(self, *args, **kwargs):
        raise AssertionError("restore() read the file through tf.train.Checkpoint")

    monkeypatch.setattr(TensorFlowSource, "read", counted_read)
    monkeypatch.setattr(TensorFlowSource, "read_tensors", counted_read_tensors)
    monkeypatch.setattr(tf.train.Checkpoint, "read", object_read)
    report = cw.restore(model, prefix)
    assert sorted(reads.values()) == [1] * len(model.weights)
    assert set(reads) == set(report.restored["key"])
    for ours, theirs in zip(model.weights, saved.weights):
        assert_same(ours.numpy(), theirs.numpy())


def test_report_names_its_checkpoint_path_and_source_is_a_deprecated_alias(net_ckpt):
    prefix, _ = net_ckpt
    report = cw.restore(models.net(seed=121), prefix)
    assert report.path == prefix
    with pytest.warns(DeprecationWarning, match="use RestoreReport.path"):
        assert report.source == prefix
