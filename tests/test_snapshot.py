"""Old values for rollback and undo: put back whole even past a failure or a Ctrl-C, and
one sentence when the disk fails or the saved values are gone."""

from __future__ import annotations

import errno
import os
import signal
import sys
import tempfile

import numpy as np
import pytest

import ckpt_widgets as cw
from tests import models
from tests.conftest import assert_same, assert_unchanged


def fail_after_restoring(monkeypatch) -> list[bool]:
    """Make the restore fail once every variable holds its stored value (so the rollback
    has everything to put back); returns a flag list set when the rollback starts."""
    restore_module = sys.modules["ckpt_widgets.engine.transaction"]
    started: list[bool] = []

    def verify(*args):
        started.append(True)
        raise OSError("disk went away")

    monkeypatch.setattr(restore_module, "_verify", verify)
    return started


def break_assign(monkeypatch, variable, started, fault, times: int) -> None:
    """``variable.assign`` raises ``fault`` (or runs ``fault()``) ``times`` times once the
    rollback has started; TensorFlow does the real assign otherwise."""
    real = variable.assign
    left = [times]

    def assign(value, *args, **kwargs):
        if started and left[0] > 0:
            left[0] -= 1
            if isinstance(fault, BaseException):
                raise fault
            fault()
        return real(value, *args, **kwargs)

    monkeypatch.setattr(variable, "assign", assign)


def test_ctrl_c_during_the_rollback_still_puts_back_every_variable(net_ckpt, monkeypatch):
    prefix, _ = net_ckpt
    model = models.net(seed=110)
    before = models.values(model)
    started = fail_after_restoring(monkeypatch)
    break_assign(monkeypatch, model.weights[0], started, KeyboardInterrupt(), times=1)
    with pytest.raises(KeyboardInterrupt):
        cw.restore(model, prefix)
    assert_unchanged(model.weights, before)


def test_a_real_sigint_during_the_rollback_waits_for_it_to_finish(net_ckpt, monkeypatch):
    prefix, _ = net_ckpt
    model = models.net(seed=111)
    before = models.values(model)
    started = fail_after_restoring(monkeypatch)

    def second_ctrl_c():
        os.kill(os.getpid(), signal.SIGINT)

    break_assign(monkeypatch, model.weights[0], started, second_ctrl_c, times=1)
    with pytest.raises(KeyboardInterrupt):
        cw.restore(model, prefix)
    assert_unchanged(model.weights, before)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_failing_variable_does_not_stop_the_rollback_and_is_named(net_ckpt, monkeypatch):
    prefix, saved = net_ckpt
    model = models.net(seed=112)
    before = models.values(model)
    broken = model.weights[1]
    started = fail_after_restoring(monkeypatch)
    break_assign(monkeypatch, broken, started, RuntimeError("device lost"), times=2)
    with pytest.raises(cw.RollbackError) as raised:
        cw.restore(model, prefix)
    message = str(raised.value)
    assert f"1 variable could not be put back: '{broken.path}' (device lost)" in message
    assert "disk went away" in message and "\n" not in message
    others = [i for i in range(len(model.weights)) if i != 1]
    assert_unchanged([model.weights[i] for i in others], [before[i] for i in others])
    assert_same(broken.numpy(), saved.weights[1].numpy())  # the one it could not put back


def test_undo_puts_back_all_it_can_then_names_the_rest(net_ckpt, monkeypatch):
    prefix, saved = net_ckpt
    model = models.net(seed=113)
    before = models.values(model)
    report = cw.restore(model, prefix)
    broken = model.weights[0]
    break_assign(monkeypatch, broken, [True], RuntimeError("device lost"), times=2)
    with pytest.raises(cw.UndoError, match=rf"could not be put back: '{broken.path}'"):
        report.undo()
    assert_unchanged(model.weights[1:], before[1:])
    assert_same(broken.numpy(), saved.weights[0].numpy())
    monkeypatch.undo()
    report.undo(force=True)  # tries again
    assert_unchanged(model.weights, before)


def test_undo_in_memory_puts_back_the_old_buffers_themselves(net_ckpt):
    """No copy on the way back: each variable holds again the very buffer it held."""
    prefix, _ = net_ckpt
    model = models.net(seed=117)
    before = models.values(model)
    old = [np.asarray(v.value.value()) for v in model.weights]  # TensorFlow's reads
    report = cw.restore(model, prefix)
    report.undo()
    assert_unchanged(model.weights, before)
    for v, buffer in zip(model.weights, old):
        assert np.shares_memory(np.asarray(v.value.value()), buffer), v.path


def test_undo_on_disk_with_a_full_disk_changes_nothing(net_ckpt, monkeypatch):
    prefix, _ = net_ckpt
    model = models.net(seed=114)
    before = models.values(model)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    with pytest.raises(cw.RestoreError, match="No space left on device") as raised:
        cw.restore(model, prefix, undo="disk")
    message = str(raised.value)
    assert "nothing was changed" in message and "undo=True" in message and "\n" not in message
    assert_unchanged(model.weights, before)


def test_undo_whose_folder_was_removed_says_so_and_changes_nothing(net_ckpt, monkeypatch, tmp_path):
    import shutil

    prefix, saved = net_ckpt
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    model = models.net(seed=115)
    report = cw.restore(model, prefix, undo="disk")
    (folder,) = tmp_path.glob("ckpt-widgets-undo-*")
    shutil.rmtree(folder)
    with pytest.raises(cw.UndoError, match="old values kept on disk for undo are gone"):
        report.undo()
    for ours, theirs in zip(model.weights, saved.weights):
        assert_same(ours.numpy(), theirs.numpy())
    assert not report.undone


def test_ctrl_c_during_undo_finishes_the_undo_first(net_ckpt, monkeypatch):
    prefix, _ = net_ckpt
    model = models.net(seed=116)
    before = models.values(model)
    report = cw.restore(model, prefix)
    break_assign(monkeypatch, model.weights[0], [True], KeyboardInterrupt(), times=1)
    with pytest.raises(KeyboardInterrupt):
        report.undo()
    assert_unchanged(model.weights, before)
    assert report.undone


def test_old_values_survive_every_kind_of_write(keras):
    """The snapshot shares the variables' buffers (no copy); writes after it, in place or
    not, must leave the saved values as they were."""
    from ckpt_widgets.engine.snapshot import Snapshot

    layer = keras.layers.Embedding(10, 3)
    layer.build((None,))
    dense = keras.layers.Dense(4)
    dense.build((None, 3))
    variables = [layer.embeddings, dense.kernel, dense.bias]
    saved = [v.numpy().copy() for v in variables]
    snapshot = Snapshot({id(v): v for v in variables})
    layer(np.array([1, 2]))  # a sparse read (copy-on-read mode for the embedding)
    for v in variables:
        v.assign(np.zeros(v.shape, "float32"))
        v.assign_add(np.ones(v.shape, "float32"))
    layer.embeddings.value.scatter_nd_update([[0]], [[5.0, 5.0, 5.0]])
    for v, old in zip(variables, saved):
        assert_same(snapshot.value(id(v)), old)
    snapshot.put_back()
    for v, old in zip(variables, saved):
        assert_same(v.numpy(), old)
