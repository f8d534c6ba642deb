"""TensorFlow checkpoints into Keras 3 models on the JAX and PyTorch backends.

The checkpoints are written here, on the TensorFlow backend; one subprocess per backend
(``KERAS_BACKEND=jax`` or ``torch``, ``tests/backend_checks.py``) restores them and saves
what it saw;
the tests compare that with the writer's values bit for bit. The Keras attribute walk
that names objects on JAX is also compared with TensorFlow's own walk on every model the
suite builds.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from ckpt_widgets.engine.keras_walk import keras_children
from ckpt_widgets.engine.model import _is_optimizer, is_variable
from ckpt_widgets.files.graph import walk
from tests import backend_checks, differential_models, keras2_models, models
from tests.conftest import ROOT, assert_same

# -- the Keras walk agrees with TensorFlow's on the TensorFlow backend -------------------

KERAS2_BUILDERS = [f"keras2_{name}" for name in keras2_models.BUILDERS]


def _any_model(name: str, keras):
    if name.startswith("keras2_"):
        keras.utils.set_random_seed(3)
        return keras2_models.BUILDERS[name.removeprefix("keras2_")](keras)
    return backend_checks.build(name)


def _walk(model, children):
    """Every node's path and every variable's path (by position), walking ``children``."""
    objects = {id(model): model}

    def named(node):
        items = children(objects[node])
        for _, child in items:
            objects.setdefault(id(child), child)
        return [(name, id(child)) for name, child in items]

    result = walk(id(model), named, lambda name, child: _is_optimizer(name, objects[child]))
    optimizer = getattr(model, "optimizer", None)
    variables = list(model.weights) + list(optimizer.variables if optimizer is not None else [])
    return set(result.paths.values()), [result.paths.get(id(v)) for v in variables]


def _tensorflow_children(obj):
    import tensorflow as tf

    if is_variable(obj):
        return []
    try:
        return list(tf.train.TrackableView.children(obj).items())
    except ValueError:  # a container TensorFlow refuses to save
        return []


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", [*backend_checks.WALK_MODELS, *differential_models.BUILDERS, *KERAS2_BUILDERS]
)
def test_keras_walk_names_every_object_as_tensorflow_does(name, keras):
    model = _any_model(name, keras)
    tf_nodes, tf_variables = _walk(model, _tensorflow_children)
    keras_nodes, keras_variables = _walk(model, keras_children)
    assert keras_variables == tf_variables
    assert keras_nodes == tf_nodes


# -- restores on the JAX and PyTorch backends ----------------------------------------


def _features():
    return backend_checks.Checks.features()


@pytest.fixture(scope="session")
def written(tf, keras, keras2_dir, tmp_path_factory):
    """Checkpoints written here, on the TensorFlow backend: ``(directory, writers)``."""
    directory = tmp_path_factory.mktemp("written")
    (directory / "keras2").symlink_to(keras2_dir)
    net = models.net(seed=1)
    models.fit_briefly(net)
    cnn_a, cnn_b = models.cnn(seed=20), models.cnn(seed=21)
    files = {
        "net": tf.train.Checkpoint(model=net).write(str(directory / "net" / "ckpt")),
        "net_h5": str(directory / "net.weights.h5"),
        "cnn_a": tf.train.Checkpoint(model=cnn_a).write(str(directory / "a" / "ckpt")),
        "cnn_b": tf.train.Checkpoint(model=cnn_b).write(str(directory / "b" / "ckpt")),
        "cnn_a_keras": str(directory / "a.keras"),
    }
    net.save_weights(files["net_h5"])
    cnn_a.save(files["cnn_a_keras"])
    files["tf1"], tf1_values = models.write_tf1_saver(tf, directory / "tf1" / "model")
    (directory / "files.json").write_text(json.dumps(files))
    return directory, {"net": net, "cnn_a": cnn_a, "cnn_b": cnn_b, "tf1": tf1_values}


BACKENDS = [
    pytest.param("jax", id="jax"),
    pytest.param("torch", id="torch", marks=pytest.mark.slow),
]
"""Each runs every check in one process of its own; PyTorch's import alone costs seconds."""


@pytest.fixture(scope="session", params=BACKENDS)
def backend_run(request, written):
    """The checks run in a process with ``KERAS_BACKEND`` set: ``(arrays, facts, writers)``."""
    backend = request.param
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (scripts/setup.sh installs it)")
    directory, writers = written
    results = directory / backend
    results.mkdir()
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
    subprocess.run(
        [sys.executable, "-m", "tests.backend_checks", str(directory), str(results)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
    )
    arrays = dict(np.load(results / "results.npz"))
    facts = json.loads((results / "results.json").read_text())
    assert facts["backend"] == backend
    return arrays, facts, writers


def _values(arrays, prefix: str) -> list[np.ndarray]:
    count = sum(1 for key in arrays if key.rpartition("/")[0] == prefix)
    return [arrays[f"{prefix}/{i}"] for i in range(count)]


def _no_error(facts, check: str) -> None:
    assert f"{check}/error" not in facts, facts[f"{check}/error"]


def test_backend_walk_gives_the_tensorflow_backend_paths(backend_run):
    _, facts, _ = backend_run
    _no_error(facts, "walk")
    for name in backend_checks.WALK_MODELS:
        expected = backend_checks.object_paths(backend_checks.build(name))
        assert facts["walk"][name] == expected, name


def test_backend_backbone_into_a_classifier_then_code_and_undo(backend_run):
    arrays, facts, writers = backend_run
    _no_error(facts, "backbone")
    written = [v.numpy() for v in writers["net"].weights]
    assert facts["backbone/statuses"] == ["match"] * 4 + ["shape_mismatch"] * 2
    assert facts["backbone/how"] == ["assign"]
    before, after = _values(arrays, "backbone/before"), _values(arrays, "backbone/after")
    for i in range(4):  # the backbone: the writer's values
        assert_same(after[i], written[i])
    for i in (4, 5):  # the head (other shape): untouched
        assert_same(after[i], before[i])
    assert "tf.train.load_checkpoint" in facts["backbone/code"]
    assert f"Keras on {facts['backend']}: TensorFlow only reads the file" in facts["backbone/code"]
    by_code, fresh = _values(arrays, "backbone/code"), _values(arrays, "backbone/fresh_before")
    for i in range(6):
        assert_same(by_code[i], written[i] if i < 4 else fresh[i])
    for old, undone in zip(before, _values(arrays, "backbone/undone")):
        assert_same(undone, old)


def test_backend_widening_with_overlap_keeps_the_rest(backend_run):
    arrays, facts, writers = backend_run
    _no_error(facts, "widen")
    written = [v.numpy() for v in writers["net"].weights]
    before, after = _values(arrays, "widen/before"), _values(arrays, "widen/after")
    assert "overlap" in facts["widen/adapted"]
    for stored, old, new in zip(written, before, after):
        block = tuple(slice(0, n) for n in stored.shape)
        assert_same(new[block], stored)
        rest = np.ones(new.shape, bool)
        rest[block] = False
        assert_same(new[rest], old[rest])


@pytest.mark.parametrize("fmt", ["net", "net_h5"])
def test_backend_full_restore_equals_the_writer_and_predicts_alike(backend_run, fmt):
    arrays, facts, writers = backend_run
    _no_error(facts, "full")
    net = writers["net"]
    for new, stored in zip(_values(arrays, f"{fmt}/after"), net.weights):
        assert_same(new, stored.numpy())
    expected = np.asarray(net(_features()))
    np.testing.assert_allclose(arrays[f"{fmt}/predictions"], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", backend_checks.KERAS2_MODELS)
def test_backend_keras2_checkpoint_with_align(backend_run, keras2_dir, name):
    arrays, facts, _ = backend_run
    _no_error(facts, "keras2")
    assert facts[f"keras2/{name}/restored"] == facts[f"keras2/{name}/weights"]
    expected = np.load(keras2_dir / name / "predictions.npy")
    np.testing.assert_allclose(arrays[f"keras2/{name}/predictions"], expected, rtol=1e-5, atol=1e-6)


def test_backend_restore_many_takes_each_layer_from_its_source_and_undoes(backend_run):
    arrays, facts, writers = backend_run
    _no_error(facts, "many")
    a = [v.numpy() for v in writers["cnn_a"].weights]
    b = [v.numpy() for v in writers["cnn_b"].weights]
    layers = [v.path.split("/")[-2] for v in writers["cnn_a"].weights]
    before, after = _values(arrays, "many/before"), _values(arrays, "many/after")
    for layer, old, new, from_a, from_b in zip(layers, before, after, a, b):
        expected = {"conv1": from_a, "top": from_b}.get(layer, old)
        assert_same(new, expected)
    for old, undone in zip(before, _values(arrays, "many/undone")):
        assert_same(undone, old)


def test_backend_optimizer_state_is_restored_with_the_step_count_cast(backend_run):
    arrays, facts, writers = backend_run
    _no_error(facts, "optimizer")
    written = writers["net"].optimizer.variables
    assert facts["optimizer/restored"] == len(writers["net"].weights) + len(written)
    for i, stored in enumerate(written):
        new, old = arrays[f"optimizer/after/{i}"], stored.numpy()
        if new.dtype != old.dtype:  # the step count: int64 on TensorFlow, int32 on JAX
            assert new.dtype.kind == old.dtype.kind == "i"
            old = old.astype(new.dtype)
        assert_same(new, old)


def test_backend_tf1_checkpoint_by_rename_rules(backend_run):
    arrays, facts, writers = backend_run
    _no_error(facts, "tf1")
    stored = writers["tf1"]
    before, after = _values(arrays, "tf1/before"), _values(arrays, "tf1/after")
    for i, name in enumerate(["fc1/weights", "fc1/biases", "fc2/weights", "fc2/biases"]):
        assert_same(after[i], stored[name])
    for i in (4, 5):
        assert_same(after[i], before[i])


def test_backend_keras_archive(backend_run):
    arrays, facts, writers = backend_run
    _no_error(facts, "keras_file")
    for new, stored in zip(_values(arrays, "keras_file/after"), writers["cnn_a"].weights):
        assert_same(new, stored.numpy())


def test_backend_widget_restores_what_is_ticked(backend_run):
    arrays, facts, writers = backend_run
    _no_error(facts, "widget")
    written = [v.numpy() for v in writers["net"].weights]
    before, after = _values(arrays, "widget/before"), _values(arrays, "widget/after")
    for i in range(6):
        assert_same(after[i], written[i] if i < 4 else before[i])


# -- the optimizer's step count across backends ------------------------------------------


def test_a_stored_int64_step_count_is_cast_to_an_int32_counter(keras):
    from ckpt_widgets.engine.plan import _counter_cast

    counter = keras.Variable(0, dtype="int32")
    assert _counter_cast("_iterations", "int64", counter) == "int32"
    assert _counter_cast("_iterations", "int32", counter) is None


def test_another_optimizer_dtype_difference_is_refused(keras):
    import ckpt_widgets as cw
    from ckpt_widgets.engine.plan import _counter_cast

    with pytest.raises(cw.DtypeMismatchError, match="'_learning_rate' is float32 here"):
        _counter_cast("_learning_rate", "float16", keras.Variable(0.1, dtype="float32"))


def test_a_step_count_that_does_not_fit_is_never_wrapped_silently():
    from types import SimpleNamespace

    import ckpt_widgets as cw
    from ckpt_widgets.engine.plan import Step
    from ckpt_widgets.engine.transaction import _stored_value

    source = SimpleNamespace(read=lambda key: np.array(2**40, "int64"))
    plan = SimpleNamespace(source=source)
    step = Step(-1, None, "key", None, 0, cast="int32", label="optimizer/_iterations")
    with pytest.raises(cw.RestoreError, match="does not fit in int32"):
        _stored_value(plan, step, np.array(0, "int32"))
