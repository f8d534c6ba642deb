"""MirroredStrategy (two logical CPUs) and checkpoints on a non-local file system."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np

import ckpt_widgets as cw
from tests import models
from tests.conftest import assert_same

MIRRORED = textwrap.dedent(
    """
    import os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    import ckpt_widgets as cw
    from tests import models

    saved = models.net(seed=1)
    prefix = tf.train.Checkpoint(model=saved).write({directory!r} + "/ckpt")
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = models.net(head_units=7, seed=2)
    head = model.head.kernel.numpy().copy()
    report = cw.restore(model, prefix, include="backbone")
    for v, s in zip(model.backbone.weights, saved.backbone.weights):
        values = [t.numpy() for t in strategy.experimental_local_results(v.value)]
        assert len(values) == 2, values
        for value in values:
            assert value.tobytes() == s.numpy().tobytes(), v.path
    for value in strategy.experimental_local_results(model.head.kernel.value):
        assert value.numpy().tobytes() == head.tobytes()
    report.undo()
    print("OK", len(report.restored))
    """
)


def test_mirrored_strategy_sets_every_replica(tmp_path):
    code = MIRRORED.format(directory=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd="."
    )
    assert "OK 4" in out.stdout, out.stderr[-3000:]


def test_checkpoint_on_tensorflows_ram_file_system(tf):
    saved = models.net(seed=3)
    prefix = tf.train.Checkpoint(model=saved).save("ram://ckpt-widgets-test/net/ckpt")
    src = cw.open_checkpoint("ram://ckpt-widgets-test/net")  # the directory: latest
    assert src.prefix == prefix == "ram://ckpt-widgets-test/net/ckpt-1"
    model = models.net(seed=4)
    report = cw.restore(model, src, include="head")
    assert_same(model.head.kernel.numpy(), saved.head.kernel.numpy())
    assert "ram://ckpt-widgets-test/net/ckpt-1" in report.code
    assert not np.array_equal(model.backbone.weights[0].numpy(), saved.backbone.weights[0].numpy())
