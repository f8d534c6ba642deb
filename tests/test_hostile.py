"""Hostile files: crafted HDF5 (external storage, virtual datasets, external links, huge
declared shapes), zip bombs, huge declared TF tensors and FIFOs.

Each case is bounded: files that could exhaust memory are opened and restored in a
subprocess whose data segment is limited (a regression fails with MemoryError instead of
taking the machine down), and a FIFO that blocks is released by a watchdog process and
fails the test. Every case must raise :class:`~ckpt_widgets.CheckpointError` and leave
a model given to ``cw.restore`` bit for bit unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import ckpt_widgets as cw
from tests import models
from tests.conftest import ROOT, assert_unchanged

KERNEL = "layers/conv2d/vars/0"  # conv1's kernel in a models.cnn() weights file
TOP = "layers/dense/vars/0"  # the Dense top's kernel, (6, 2)
HUGE = (200_000_000, 2)  # 1.6 GB of float32 declared
MEMORY_LIMIT = 1 << 30  # data segment of the bounded subprocess: far below HUGE's size
TIMEOUT = 30  # seconds a FIFO case may block before it is unblocked and failed


def edit_copy(base: Path, path: Path, edit) -> Path:
    """A copy of the weights file ``base`` at ``path``, changed by ``edit(h5py.File)``."""
    import h5py

    path.write_bytes(base.read_bytes())
    with h5py.File(path, "a") as f:
        edit(f)
    return path


def replace(key: str, **options):
    """An ``edit`` that replaces dataset ``key`` by ``create_dataset(key, **options)``."""

    def edit(f):
        attrs = dict(f[key].parent.attrs)
        del f[key]
        f.create_dataset(key, **options)
        f[key].parent.attrs.update(attrs)

    return edit


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "base.weights.h5"
    models.cnn(seed=7).save_weights(str(path))
    return path


# -- HDF5 that reads outside the file -------------------------------------------------


@pytest.fixture(scope="module")
def outside(base, tmp_path_factory):
    """Crafted weights files whose conv1 kernel would come from another file."""
    import h5py

    directory = tmp_path_factory.mktemp("outside")
    secret = directory / "secret.bin"  # any local file: here 432 bytes of float32 42.0
    secret.write_bytes(np.full((3, 3, 3, 4), 42.0, "float32").tobytes())
    other = directory / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.full((3, 3, 3, 4), 42.0, "float32")
        f["vars/0"] = np.full((3, 3, 3, 4), 42.0, "float32")
        f["vars/1"] = np.full((4,), 42.0, "float32")
    layout = h5py.VirtualLayout(shape=(3, 3, 3, 4), dtype="float32")
    layout[:] = h5py.VirtualSource(str(other), "x", shape=(3, 3, 3, 4))

    def virtual(f):
        del f[KERNEL]
        f.create_virtual_dataset(KERNEL, layout, fillvalue=7.0)

    def external_link(f):
        del f["layers/conv2d/vars"]
        f["layers/conv2d/vars"] = h5py.ExternalLink(str(other), "/vars")

    def soft_link_through_an_external_link(f):
        f["elsewhere"] = h5py.ExternalLink(str(other), "/")
        del f["layers/conv2d/vars"]
        f["layers/conv2d/vars"] = h5py.SoftLink("/elsewhere/vars")

    edits = {
        "external storage": replace(
            KERNEL, shape=(3, 3, 3, 4), dtype="float32", external=[(str(secret), 0, 432)]
        ),
        "virtual dataset": virtual,
        "external link": external_link,
        "soft link through an external link": soft_link_through_an_external_link,
    }
    return {
        name: edit_copy(base, directory / f"{i}.weights.h5", edit)
        for i, (name, edit) in enumerate(edits.items())
    }


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("external storage", "dataset 'layers/conv2d/vars/0' keeps its values in an external"),
        ("virtual dataset", "dataset 'layers/conv2d/vars/0' is a virtual dataset"),
        ("external link", "links 'layers/conv2d/vars' to another file"),
        ("soft link through an external link", "links 'elsewhere' to another file"),
    ],
)
def test_hdf5_reading_outside_the_file_is_refused(outside, case, reason):
    model = models.cnn(seed=8)
    before = models.values(model)
    with pytest.raises(cw.CheckpointError, match=reason):
        cw.open_checkpoint(outside[case])
    with pytest.raises(cw.CheckpointError, match=reason):
        cw.restore(model, str(outside[case]))
    assert_unchanged(model.weights, before)


def test_variable_length_data_is_refused(base, tmp_path):
    import h5py

    path = edit_copy(
        base, tmp_path / "vlen.weights.h5", replace(TOP, data=["a", "b"], dtype=h5py.string_dtype())
    )
    with pytest.raises(cw.CheckpointError, match="variable-length or reference data"):
        cw.open_checkpoint(path)


# -- memory bombs: run bounded in a subprocess ----------------------------------------


def zip_with_member(name: str, raw_deflate: bytes, crc: int, declared: int) -> bytes:
    """A zip archive holding one deflated member, its uncompressed size ``declared``."""
    encoded = name.encode()
    header = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(raw_deflate), declared,
        len(encoded), 0,
    )  # fmt: skip
    local = header + encoded + raw_deflate
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(raw_deflate), declared,
        len(encoded), 0, 0, 0, 0, 0, 0,
    ) + encoded  # fmt: skip
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local), 0)
    return local + central + end


def deflated_zeros(total: int, piece: int = 16 << 20) -> tuple[bytes, int]:
    """A raw deflate stream of ``total`` zero bytes (about total / 1000 bytes) and its CRC."""
    zeros = bytes(piece)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)  # self-contained
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    crc = 0
    for _ in range(total // piece):
        crc = zlib.crc32(zeros, crc)
    return block * (total // piece) + final, crc


def write_direct_zeros(f, key: str, chunk_rows: int) -> None:
    """``key`` as a (HUGE) gzip dataset whose every chunk is a pre-compressed chunk of zeros."""
    attrs = dict(f[key].parent.attrs)
    del f[key]
    dataset = f.create_dataset(
        key, shape=HUGE, dtype="float32", chunks=(chunk_rows, 2), compression="gzip"
    )
    f[key].parent.attrs.update(attrs)
    chunk = zlib.compress(bytes(chunk_rows * 2 * 4), 9)
    for row in range(0, HUGE[0], chunk_rows):
        dataset.id.write_direct_chunk((row, 0), chunk)


@pytest.fixture(scope="module")
def bombs(base, tf, tmp_path_factory) -> dict[str, Path]:
    """Files a few KB or MB in size that declare gigabytes: the Dense top's kernel (6, 2)
    becomes a (200_000_000, 2) dataset, so ``adapt="overlap"`` selects it."""
    directory = tmp_path_factory.mktemp("bombs")
    huge = {"shape": HUGE, "dtype": "float32"}

    def partly_written(f):
        replace(TOP, chunks=(1000, 2), **huge)(f)
        f[TOP][:1000] = 1.0

    files = {
        "unallocated": edit_copy(
            base, directory / "a.weights.h5", replace(TOP, fillvalue=1.5, **huge)
        ),
        "unallocated chunked": edit_copy(
            base,
            directory / "b.weights.h5",
            replace(TOP, chunks=(1 << 20, 2), compression="gzip", **huge),
        ),
        "partly written": edit_copy(base, directory / "c.weights.h5", partly_written),
        "compressed": edit_copy(
            base, directory / "d.weights.h5", lambda f: write_direct_zeros(f, TOP, 1 << 20)
        ),
    }
    stream, crc = deflated_zeros(2 << 30)
    for name, declared in (("zip bomb", 2 << 30), ("zip member lying", 4096)):
        path = directory / f"{name.replace(' ', '_')}.keras"
        path.write_bytes(zip_with_member("model.weights.h5", stream, crc, declared))
        files[name] = path
    prefix = str(directory / "tf_bomb")  # declares (200M, 2), stores a (10, 2) slice
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=["model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"],
        shape_and_slices=[f"{HUGE[0]} {HUGE[1]} 0,10:0,2"],
        tensors=[tf.ones((10, 2))],
    )
    files["tf declared tensor"] = Path(prefix)
    files["character device"] = directory / "zero.weights.h5"
    files["character device"].symlink_to("/dev/zero")  # reading it would never end
    return files


def bounded_worker(cases: list[str]) -> None:
    """Subprocess entry: under :data:`MEMORY_LIMIT`, open each ``name=path`` case and
    restore it into a fresh model with ``adapt="overlap"``; print one JSON line per case."""
    resource.setrlimit(resource.RLIMIT_DATA, (MEMORY_LIMIT, MEMORY_LIMIT))
    for case in cases:
        name, path = case.split("=", 1)
        model = models.cnn(seed=8)
        before = models.values(model)
        outcome = {"case": name}
        for what, call in (
            ("open", lambda p=path: cw.open_checkpoint(p)),
            ("restore", lambda p=path, m=model: cw.restore(m, p, adapt="overlap")),
        ):
            try:
                call()
                outcome[what] = "no error"
            except cw.CheckpointError as exc:
                outcome[what] = f"CheckpointError: {exc}"
            except BaseException as exc:  # MemoryError above all
                outcome[what] = f"{type(exc).__name__}: {exc}"
        outcome["unchanged"] = all(
            v.numpy().tobytes() == old.tobytes() for v, old in zip(model.weights, before)
        )
        print(json.dumps(outcome), flush=True)


@pytest.fixture(scope="module")
def bounded_outcomes(bombs) -> dict[str, dict]:
    """What :func:`bounded_worker` saw for each bomb, run once for all of them."""
    code = "import sys; from tests.test_hostile import bounded_worker; bounded_worker(sys.argv[1:])"
    cases = [f"{name}={path}" for name, path in bombs.items()]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [sys.executable, "-c", code, *cases], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=600, check=False,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    outcomes = {o["case"]: o for o in map(json.loads, lines)}
    outcomes["stderr"] = {"tail": done.stderr[-2000:]}
    return outcomes


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unallocated", "declares 1600000000 bytes but stores none"),
        ("unallocated chunked", "declares 1600000000 bytes but stores none"),
        ("partly written", "has chunks that were never written"),
        ("compressed", "declares 1600000000 bytes but stores only"),
        ("zip bomb", "looks like a zip bomb"),
        ("zip member lying", "Bad CRC-32"),  # inflated only as far as it declares
        ("tf declared tensor", r"declares shape \(200000000, 2\)"),
        ("character device", "is not a regular file"),
    ],
)
def test_memory_bombs_are_refused_within_bounded_memory(bombs, bounded_outcomes, case, reason):
    outcome = bounded_outcomes.get(case)
    assert outcome is not None, bounded_outcomes["stderr"]["tail"]
    for what in ("open", "restore"):
        assert outcome[what].startswith("CheckpointError"), outcome
        assert "MemoryError" not in outcome[what], outcome  # not caught and wrapped either
        assert reason.replace("\\", "") in outcome[what].replace("\\", ""), outcome
    assert outcome["unchanged"], outcome
    if case.startswith("zip"):
        assert bombs[case].stat().st_size < 4 << 20  # 2 MB declaring 2 GiB


# -- FIFOs: bounded by a watchdog process -----------------------------------------------

RELEASE = """
import os, sys, time
after, marker, *fifos = sys.argv[1:]
time.sleep(float(after))
for _ in range(600):  # for a minute, release every reader that opens one of them
    for fifo in fifos:
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            open(marker, "w").close()
        except OSError:  # ENXIO: nobody is reading it
            pass
    time.sleep(0.1)
"""


@contextlib.contextmanager
def fifo_watchdog(fifos: list[Path]):
    """Fail if the block is still blocked on one of ``fifos`` after :data:`TIMEOUT` seconds.

    A reader blocked on a FIFO may hold the GIL, so a thread cannot help: a separate
    process opens the FIFOs for writing once the time is up, which releases the reader.
    """
    marker = fifos[0].with_name(fifos[0].name + ".released")
    helper = subprocess.Popen(
        [sys.executable, "-c", RELEASE, str(TIMEOUT), str(marker), *map(str, fifos)]
    )
    try:
        yield
    finally:
        helper.kill()
        helper.wait()
        if marker.exists():
            pytest.fail(f"blocked for {TIMEOUT} s reading a FIFO, until it was released")


@pytest.fixture(scope="module")
def tf_ckpt(tf, tmp_path_factory):
    """A directory written by a CheckpointManager for models.cnn(seed=9)."""
    directory = tmp_path_factory.mktemp("ckpt_dir")
    tf.train.CheckpointManager(
        tf.train.Checkpoint(model=models.cnn(seed=9)), str(directory), 1
    ).save()
    return directory


def with_fifo(source: Path, target: Path, fifo_name: str) -> Path:
    """Copy the files of directory ``source`` into ``target``, ``fifo_name`` as a FIFO."""
    target.mkdir()
    for name in os.listdir(source):
        if name != fifo_name:
            (target / name).write_bytes((source / name).read_bytes())
    os.mkfifo(target / fifo_name)
    return target / fifo_name


@pytest.mark.parametrize("fifo", ["ckpt-1.index", "ckpt-1.data-00000-of-00001", "checkpoint"])
def test_fifo_in_a_tf_checkpoint_is_refused(tf_ckpt, tmp_path, fifo):
    path = with_fifo(tf_ckpt, tmp_path / "copy", fifo)
    target = str(path.parent) if fifo == "checkpoint" else str(path.parent / "ckpt-1")
    model = models.cnn(seed=10)
    before = models.values(model)
    with fifo_watchdog([path]), pytest.raises(cw.CheckpointError, match="not a regular file"):
        cw.open_checkpoint(target)
    with fifo_watchdog([path]), pytest.raises(cw.CheckpointError, match="not a regular file"):
        cw.restore(model, target)
    assert_unchanged(model.weights, before)


@pytest.mark.parametrize("name", ["x.weights.h5", "x.keras", "x.h5"])
def test_fifo_as_a_keras_file_is_refused(tmp_path, name):
    path = tmp_path / name
    os.mkfifo(path)
    model = models.cnn(seed=10)
    before = models.values(model)
    with fifo_watchdog([path]), pytest.raises(cw.CheckpointError, match="not a regular file"):
        cw.open_checkpoint(path)
    with fifo_watchdog([path]), pytest.raises(cw.CheckpointError, match="not a regular file"):
        cw.restore(model, str(path))
    assert_unchanged(model.weights, before)
