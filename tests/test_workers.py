"""MirroredStrategy (two logical CPUs), MultiWorkerMirroredStrategy (two worker processes)
and checkpoints on a non-local file system."""

from __future__ import annotations

import base64
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import ckpt_widgets as cw
from tests import models
from tests.conftest import ROOT, assert_same, assert_unchanged

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


# MultiWorkerMirroredStrategy: two worker processes on 127.0.0.1 (tests/multiworker.py)

NET_KEYS = [
    f"model/{path}/.ATTRIBUTES/VARIABLE_VALUE"
    for path in (
        "backbone/_functional/_operations/1/_kernel",
        "backbone/_functional/_operations/1/bias",
        "backbone/_functional/_operations/2/_kernel",
        "backbone/_functional/_operations/2/bias",
        "head/_kernel",
        "head/bias",
    )
]
"""Checkpoint keys of ``models.net``'s variables, in ``model.weights`` order."""
BACKBONE = 4
"""The first four of them are the backbone's (the workers restore ``include="backbone"``)."""
WORKERS_TIMEOUT = 300
"""Seconds both workers may take together (20 s on an idle 2-core machine, 160 s on a
loaded one): a hang fails the test."""


def free_ports(n: int) -> list[int]:
    """``n`` TCP ports free on 127.0.0.1 now."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_workers(tmp_path, checkpoints: list[str], write: str | None = None) -> list[dict]:
    """Run ``tests/multiworker.py`` as two workers, worker i restoring ``checkpoints[i]``;
    return what each wrote (see its docstring)."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(len(checkpoints))]}
    procs, outs = [], []
    for i, checkpoint in enumerate(checkpoints):
        config = {"cluster": cluster, "task": {"type": "worker", "index": i}}
        env = dict(os.environ, TF_CONFIG=json.dumps(config), CUDA_VISIBLE_DEVICES="")
        outs.append(tmp_path / f"worker{i}.json")
        argv = [sys.executable, "-m", "tests.multiworker", checkpoint, str(outs[-1])]
        procs.append(
            subprocess.Popen(
                argv + ([write] if write else []),
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    deadline = time.monotonic() + WORKERS_TIMEOUT
    logs = []
    try:
        for proc in procs:
            logs.append(proc.communicate(timeout=max(1.0, deadline - time.monotonic()))[0])
    finally:
        for proc in procs:
            proc.kill()
    for proc, log in zip(procs, logs):
        assert proc.returncode == 0, log[-3000:]
    return [json.loads(out.read_text()) for out in outs]


def replicas(entry: dict) -> list[np.ndarray]:
    """The values one worker reported for one variable, one per replica."""
    return [
        np.frombuffer(base64.b64decode(data), entry["dtype"]).reshape(entry["shape"])
        for data in entry["replicas"]
    ]


def assert_every_replica(worker: dict, when: str, expected: list[np.ndarray]) -> None:
    """Each variable holds ``expected[i]`` on every replica of ``worker``, bit for bit."""
    values = list(worker[when].values())
    assert len(values) == len(expected)
    for entry, value in zip(values, expected):
        assert len(entry["replicas"]) >= 1
        for replica in replicas(entry):
            assert_same(replica, value)


def initial(worker: dict) -> list[np.ndarray]:
    """The values of ``worker``'s variables before the restore (first replica)."""
    return [replicas(entry)[0] for entry in worker["before"].values()]


@pytest.fixture(scope="module")
def net_prefix(tf, tmp_path_factory):
    """``models.net(seed=1)`` written with ``Checkpoint(model=...)``."""
    folder = tmp_path_factory.mktemp("mwms-source")
    return tf.train.Checkpoint(model=models.net(seed=1)).write(str(folder / "ckpt"))


def copy_checkpoint(prefix: str, folder) -> str:
    """The checkpoint at ``prefix`` copied into ``folder``; returns the copy's prefix."""
    folder.mkdir(parents=True)
    for path in glob.glob(prefix + ".*"):
        shutil.copy(path, folder)
    return str(folder / os.path.basename(prefix))


@pytest.fixture(scope="module")
def two_workers(net_prefix, tmp_path_factory):
    """Both workers restore the backbone from their own copy of ``net_prefix``, then train
    a step and write a checkpoint as multi-worker training does."""
    tmp = tmp_path_factory.mktemp("mwms")
    copies = [copy_checkpoint(net_prefix, tmp / f"copy{i}") for i in range(2)]
    return run_workers(tmp, copies, write=str(tmp / "trained")), tmp / "trained"


def test_a_single_process_restore_never_calls_the_workers(net_ckpt, monkeypatch):
    transaction = sys.modules[cw.restore.__module__]

    def no_collective(*args):
        raise AssertionError("a collective outside a multi-worker strategy")

    monkeypatch.setattr(transaction, "agree_across_workers", no_collective)
    prefix, saved = net_ckpt
    model = models.net(seed=9)
    report = cw.restore(model, prefix, include="head", undo=False)
    assert_same(model.head.kernel.numpy(), saved.head.kernel.numpy())
    assert report.undone is False


@pytest.mark.slow
def test_multi_worker_restore_sets_every_replica_on_both_workers(tf, net_prefix, two_workers):
    workers, _ = two_workers
    reader = tf.train.load_checkpoint(net_prefix)
    stored = [reader.get_tensor(key) for key in NET_KEYS]
    first = initial(workers[0])
    for worker in workers:
        assert "error" not in worker, worker["error"]
        assert len(worker["restored"]) == BACKBONE
        assert_every_replica(worker, "before", first)  # the same model on both workers
        assert_every_replica(worker, "after", stored[:BACKBONE] + first[BACKBONE:])
    assert [w["worker"] for w in workers] == [0, 1]
    assert not np.array_equal(first[BACKBONE], stored[BACKBONE])  # the head was kept


@pytest.mark.slow
def test_multi_worker_restore_many_sets_every_replica_on_both_workers(tf, net_prefix, two_workers):
    workers, _ = two_workers
    reader = tf.train.load_checkpoint(net_prefix)
    stored = [reader.get_tensor(key) for key in NET_KEYS]
    for worker in workers:
        assert "error" not in worker["many"], worker["many"]["error"]
        assert len(worker["many"]["restored"]) == len(NET_KEYS)
        assert_every_replica(worker, "after_many", stored)


@pytest.fixture(scope="module")
def one_worker_fails(net_prefix, tmp_path_factory):
    """Both workers restore from their own copy of ``net_prefix``; worker 1's shard is cut
    short, so its restore (and its ``restore_many``) fails."""
    tmp = tmp_path_factory.mktemp("mwms-fails")
    copies = [copy_checkpoint(net_prefix, tmp / f"copy{i}") for i in range(2)]
    (data,) = glob.glob(copies[1] + ".data-*")
    with open(data, "r+b") as f:
        f.truncate(os.path.getsize(data) // 2)
    return run_workers(tmp, copies), copies


def assert_worker_1_named_and_rolled_back(error: dict, copy: str) -> None:
    assert error["type"] == "WorkerRestoreError"
    message = error["message"]
    assert message.startswith("The restore failed on worker 1 (task worker:1): '"), message
    assert copy in message and "worker 0" not in message
    assert message.endswith("every worker's variables were put back as they were.")


@pytest.mark.slow
def test_a_failure_on_one_worker_rolls_back_both_and_names_it(one_worker_fails):
    workers, copies = one_worker_fails
    for worker in workers:
        assert_worker_1_named_and_rolled_back(worker["error"], copies[1])
        assert_every_replica(worker, "after", initial(worker))


@pytest.mark.slow
def test_a_failure_on_one_worker_rolls_back_restore_many_on_both(one_worker_fails):
    workers, copies = one_worker_fails
    for worker in workers:  # worker 0's two parts succeeded there: put back too
        assert_worker_1_named_and_rolled_back(worker["many"]["error"], copies[1])
        assert_every_replica(worker, "after_many", initial(worker))


@pytest.mark.slow
def test_checkpoint_written_by_multi_worker_training_restores_in_one_process(tf, two_workers):
    workers, trained = two_workers
    chief = workers[0]["written"]
    assert chief == str(trained / "ckpt")
    assert workers[1]["written"] == str(trained / "worker1" / "ckpt")
    reader = tf.train.load_checkpoint(chief)
    stored = [reader.get_tensor(key) for key in NET_KEYS]
    for worker in workers:  # the chief's file holds what every worker trained
        assert_every_replica(worker, "trained", stored)
    model = models.net(seed=5)
    report = cw.restore(model, chief)
    assert len(report.restored) == len(NET_KEYS)
    assert_unchanged(model.weights, stored)


SHARDED = textwrap.dedent(
    """
    import os, socket
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import numpy as np
    import tensorflow as tf
    import ckpt_widgets as cw
    from tests import models

    def port():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    # An in-process cluster: two workers and two parameter servers on 127.0.0.1 (one
    # client restores for all: no agreement between workers as for MultiWorkerMirrored).
    spec = tf.train.ClusterSpec(
        {{job: [f"127.0.0.1:{{port()}}" for _ in "ab"] for job in ("worker", "ps")}}
    )
    servers = [
        tf.distribute.Server(spec, job_name=job, task_index=i, protocol="grpc")
        for job in ("worker", "ps") for i in range(spec.num_tasks(job))
    ]
    strategy = tf.distribute.experimental.ParameterServerStrategy(
        tf.distribute.cluster_resolver.SimpleClusterResolver(spec, rpc_layer="grpc"),
        variable_partitioner=tf.distribute.experimental.partitioners.MinSizePartitioner(
            min_shard_bytes=40, max_shards=2
        ),
    )
    saved = models.cnn(seed=7)  # no strategy: plain variables
    prefix = tf.train.Checkpoint(model=saved).write({directory!r} + "/ckpt")
    reader = tf.train.load_checkpoint(prefix)
    keys = [
        f"model/_functional/_operations/{{n}}/{{attr}}/.ATTRIBUTES/VARIABLE_VALUE"
        for n in (1, 3) for attr in ("_kernel", "bias")
    ]
    with strategy.scope():
        model = models.cnn(seed=8)
    convs = [model.get_layer(name) for name in ("conv1", "conv2")]
    variables = [v for layer in convs for v in (layer.kernel, layer.bias)]
    shards = [len(getattr(v.value, "variables", [v])) for v in variables]
    assert shards == [2, 1, 2, 1], shards  # kernels in two shards, biases whole
    assert type(variables[0].value).__name__ == "ShardedVariable"

    table = cw.model_variables(model).set_index("name")
    assert [table.loc[v.path, "shape"] for v in variables] == [tuple(v.shape) for v in variables]
    statuses = cw.match(model, prefix).table.set_index("name")["status"]
    assert all(statuses[v.path] == "match" for v in variables)

    def check(expected):
        for v, value in zip(variables, expected):
            parts = getattr(v.value, "variables", [v.value])
            whole = np.concatenate([p.numpy() for p in parts])
            assert whole.tobytes() == value.tobytes(), v.path
            assert v.numpy().tobytes() == value.tobytes(), v.path

    before = [v.numpy().copy() for v in variables]
    stored = [reader.get_tensor(key) for key in keys]
    with strategy.scope():  # the strategy in scope is not one to agree with
        report = cw.restore(model, prefix, include=["conv1", "conv2"])
    check(stored)
    how = dict(zip(report.restored["name"], report.restored["how"]))
    assert [how[v.path] for v in variables] == ["assign", "object"] * 2, how
    report.undo()
    check(before)
    exec(report.code, {{"tf": tf, "model": model}})  # the plain-TensorFlow snippet
    check(stored)
    print("OK", len(report.restored))
    """
)


@pytest.mark.slow
def test_sharded_variables_of_a_parameter_server_strategy_restore_bit_for_bit(tmp_path):
    code = SHARDED.format(directory=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert "OK 4" in out.stdout, out.stderr[-3000:]


def test_checkpoint_in_several_shards_by_size_restores_bit_for_bit(tf, tmp_path):
    saved = models.cnn(seed=11)
    # Shards of at most 500 bytes: fewer than conv2's kernel holds (864 bytes).
    policy = tf.train.experimental.MaxShardSizePolicy(max_shard_size=500)  # bytes
    options = tf.train.CheckpointOptions(experimental_sharding_callback=policy)
    prefix = tf.train.Checkpoint(model=saved).write(str(tmp_path / "ckpt"), options=options)
    shards = glob.glob(prefix + ".data-*")
    assert len(shards) >= 3, shards
    model = models.cnn(seed=12)
    report = cw.restore(model, prefix)
    assert len(report.restored) == len(saved.weights)
    assert_unchanged(model.weights, models.values(saved))
    reader = tf.train.load_checkpoint(prefix)
    by_name = {v.path: v for v in model.weights}
    for name, key in zip(report.restored["name"], report.restored["key"]):
        assert_same(by_name[name].numpy(), reader.get_tensor(key))
