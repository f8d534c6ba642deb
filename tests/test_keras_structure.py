"""Keras 3 weight files pair by structure: the dataset path Keras's own walk gives each
variable. Expected paths come from h5py on files Keras wrote, found by the stored values."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import ckpt_widgets as cw
from ckpt_widgets.engine.keras_structure import saved_paths
from tests import models
from tests.conftest import assert_same, assert_unchanged


def block_class(keras):
    class Block(keras.layers.Layer):
        """A custom block whose sublayers carry the same names in every instance."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.query = keras.layers.Dense(3, name="query")
            self.value = keras.layers.Dense(3, name="value")

        def build(self, shape):
            self.query.build(shape)
            self.value.build(shape)

        def call(self, x):
            return self.query(x) + self.value(x)

    return Block


def blocks(keras, seed=0):
    """Functional: two custom blocks, each holding ``self.query`` and ``self.value``."""
    block = block_class(keras)
    inputs = keras.Input((3,))
    outputs = block(name="blk_1")(block(name="blk_0")(inputs))
    return built(keras.Model(inputs, outputs), seed)


def subclassed(keras, seed=0):
    class Coder(keras.Model):
        def __init__(self):
            super().__init__()
            self.encoder = keras.layers.Dense(4, name="dense")
            self.norm = keras.layers.LayerNormalization(name="dense")
            self.decoder = keras.layers.Dense(2, name="dense")

        def call(self, x):
            return self.decoder(self.norm(self.encoder(x)))

    return built(Coder(), seed, call=True)


def containers(keras, seed=0):
    """Layers held in a plain list and in a dict, as Keras (not TensorFlow) tracks them."""

    class Containers(keras.Model):
        def __init__(self):
            super().__init__()
            self.stack = [keras.layers.Dense(3), keras.layers.Dense(3)]
            self.heads = {"a": keras.layers.Dense(2), "b": keras.layers.Dense(5)}

        def call(self, x):
            for layer in self.stack:
                x = layer(x)
            return self.heads["a"](x), self.heads["b"](x)

    return built(Containers(), seed, call=True)


def shared(keras, seed=0):
    """One Dense used twice in a graph, and held by two attributes of a subclassed model."""
    dense = keras.layers.Dense(3, name="shared")
    a, b = keras.Input((3,)), keras.Input((3,))
    graph = keras.Model([a, b], keras.layers.Add()([dense(a), dense(b)]))

    class Twice(keras.Model):
        def __init__(self):
            super().__init__()
            self.graph = graph
            self.first = dense
            self.second = dense
            self.top = keras.layers.Dense(2)

        def call(self, x):
            return self.top(self.graph([self.first(x), self.second(x)]))

    return built(Twice(), seed, call=True)


def nested_sequential(keras, seed=0):
    inner = keras.Sequential([keras.layers.Dense(4), keras.layers.Dense(3)])
    model = keras.Sequential([keras.Input((3,)), inner, keras.layers.Dense(2)])
    return built(model, seed)


def built(model, seed, call=False):
    if call:
        return models.built(model, 3, seed)
    models.perturb(model, seed)
    return model


BUILDERS = {
    "blocks": blocks,
    "subclassed": subclassed,
    "containers": containers,
    "shared": shared,
    "nested_sequential": nested_sequential,
}


def stored_places(path) -> dict[bytes, str]:
    """Every dataset of an h5 file, keyed by its value (values are distinct by seed)."""
    found: dict[bytes, str] = {}
    with h5py.File(path, "r") as f:

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                value = obj[()]
                found[_fingerprint(value)] = name

        f.visititems(visit)
    return found


def _fingerprint(value) -> bytes:
    value = np.asarray(value)
    return str((value.shape, value.dtype.name)).encode() + value.tobytes()


def expected_paths(model, path) -> dict[int, str]:
    """Where Keras wrote each variable of ``model``, found in the file by its value."""
    stored = stored_places(path)
    return {id(v): stored[_fingerprint(v.numpy())] for v in model.weights}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_walk_gives_the_paths_keras_writes(keras, tmp_path, name):
    model = BUILDERS[name](keras, seed=1)
    path = tmp_path / "m.weights.h5"
    model.save_weights(str(path))
    saved = saved_paths(model)
    assert {id(v): saved.variables[id(v)] for v in model.weights} == expected_paths(model, path)
    assert set(saved.variables.values()) == set(stored_places(path).values())
    assert saved.computed == {}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_same_session_rebuild_takes_each_tensor_from_its_own_place(keras, tmp_path, name):
    """Generated and repeated layer names must not pair a variable with another's tensor."""
    writer = BUILDERS[name](keras, seed=2)
    path = tmp_path / "w.weights.h5"
    writer.save_weights(str(path))
    expected = expected_paths(writer, path)
    model = BUILDERS[name](keras, seed=3)
    m = cw.match(model, str(path))
    rows = m.table.iloc[: len(m.variables)]
    assert list(rows["status"]) == ["match"] * len(m.variables)
    assert set(rows["paired_by"]) == {"path"}
    by_id = {id(v): w for v, w in zip(model.weights, writer.weights)}
    assert list(rows["ckpt_path"]) == [expected[id(by_id[id(v)])] for v in m.variables]
    cw.restore(model, str(path))
    for v, w in zip(model.weights, writer.weights):
        assert_same(v.numpy(), w.numpy())


def wrapper(keras, backbone, seed=0):
    class Wrapper(keras.Model):
        def __init__(self):
            super().__init__()
            self.backbone = backbone
            self.head = keras.layers.Dense(2, name="query")

        def call(self, x):
            return self.head(self.backbone(x))

    return built(Wrapper(), seed, call=True)


def test_file_of_a_nested_model_is_placed_on_it(keras, tmp_path):
    writer = blocks(keras, seed=4)
    path = tmp_path / "backbone.weights.h5"
    writer.save_weights(str(path))
    model = wrapper(keras, blocks(keras, seed=5), seed=6)
    head = [v.numpy() for v in model.head.weights]
    m = cw.match(model, str(path))
    assert (m.root, m.model_root) == ("", "backbone")
    assert m.counts()["match"] == len(writer.weights)
    cw.restore(model, m)
    for v, w in zip(model.backbone.weights, writer.weights):
        assert_same(v.numpy(), w.numpy())
    assert_unchanged(model.head.weights, head)


def test_model_that_was_a_nested_model_of_the_writer(keras, tmp_path):
    writer = wrapper(keras, blocks(keras, seed=7), seed=8)
    path = tmp_path / "wrapper.weights.h5"
    writer.save_weights(str(path))
    for root in (None, "backbone"):
        model = blocks(keras, seed=9)
        m = cw.match(model, str(path), root=root)
        assert (m.root, m.model_root) == ("backbone", "")
        cw.restore(model, m)
        for v, w in zip(model.weights, writer.backbone.weights):
            assert_same(v.numpy(), w.numpy())
    with pytest.raises(cw.SelectionError, match=r"root=.backbon. is no group.*.backbone."):
        cw.match(blocks(keras), str(path), root="backbon")


def test_a_file_fitting_two_places_alike_is_refused(keras, tmp_path):
    """A file holding two nets of one architecture (a GAN's ``generator`` and
    ``discriminator``) into one net, or one net's file into a model holding two: never a
    guess by name length or order; ``root=`` or the submodule itself says which."""
    from tests.test_placement import pair_of_nets

    pair = pair_of_nets(keras, seed=21)
    path = tmp_path / "pair.weights.h5"
    pair.save_weights(str(path))
    model = models.net(seed=23)
    before = models.values(model)
    said = r"equally well .*pass root='layers/net' or root='layers/net_1'"
    with pytest.raises(cw.SelectionError, match=said):
        cw.restore(model, str(path))
    assert_unchanged(model.weights, before)
    cw.restore(model, str(path), root="layers/net_1")
    for v, w in zip(model.weights, pair.right.weights):
        assert_same(v.numpy(), w.numpy())
    single = tmp_path / "net.weights.h5"
    model.save_weights(str(single))
    other = pair_of_nets(keras, seed=24)
    before = models.values(other)
    said = r"onto the model's 'left' and .* onto the model's 'right'"
    with pytest.raises(cw.SelectionError, match=said):
        cw.restore(other, str(single))
    assert_unchanged(other.weights, before)
    cw.restore(other.left, str(single))
    for v, w in zip(other.left.weights, model.weights):
        assert_same(v.numpy(), w.numpy())


def test_layer_storing_a_computed_value_is_left_unpaired(keras, tmp_path):
    """With LoRA on, Keras stores the merged kernel, which is no variable: never guess."""
    dense = keras.layers.Dense(3, name="lora")
    dense.build((None, 4))
    dense.enable_lora(2)
    inputs = keras.Input((4,))
    model = built(keras.Model(inputs, dense(inputs)), seed=10)
    path = tmp_path / "lora.weights.h5"
    model.save_weights(str(path))
    before = [v.numpy() for v in model.weights]
    models.perturb(model, seed=11)
    m = cw.match(model, str(path))
    status = dict(zip(m.table["name"], m.table["status"]))
    reason = dict(zip(m.table["name"], m.table["reason"]))
    assert status["lora/bias"] == "match"
    assert status["lora/kernel"] == "missing" and "load_weights" in reason["lora/kernel"]
    with h5py.File(path, "r") as f:
        assert sorted(f["layers/dense/vars"]) == ["0", "1"]
    assert m.table.loc[m.table["ckpt_path"] == "layers/dense/vars/0", "status"].tolist() == [
        "unused"
    ]
    kept = [v.numpy() for v in model.weights]
    report = cw.restore(model, m)
    assert list(report.restored["name"]) == ["lora/bias"]
    assert_same(model.get_layer("lora").bias.numpy(), before[1])
    assert_unchanged([v for v in model.weights if v.path != "lora/bias"], kept[:1] + kept[2:])


def test_no_stored_tensor_feeds_two_variables(keras, tmp_path):
    """A legacy .h5 pairs by layer name; two ``query`` layers must not share one tensor."""
    writer = blocks(keras, seed=12)
    path = tmp_path / "legacy.h5"
    writer.save(str(path))
    model = blocks(keras, seed=13)
    m = cw.match(model, str(path))
    rows = m.table.iloc[: len(m.variables)]
    assert set(rows["paired_by"]) == {"ambiguous"}
    assert rows["key"].isna().all()
    assert (
        "'_operations/1/query/_kernel' and '_operations/2/query/_kernel'" in rows["reason"].iloc[0]
    )
    before = [v.numpy() for v in model.weights]
    with pytest.raises(cw.AlignmentError, match=r"both .* and .*; pair them with rename="):
        cw.restore(model, str(path))
    assert_unchanged(model.weights, before)


def test_alignment_tells_stored_layers_apart_by_their_group(keras, tmp_path):
    """``align=True`` names a stored layer by its group, not by its repeated name."""
    writer = blocks(keras, seed=14)
    path = tmp_path / "blocks.weights.h5"
    writer.save_weights(str(path))
    expected = expected_paths(writer, path)
    model = keras.Sequential([keras.Input((3,))] + [keras.layers.Dense(3) for _ in range(4)])
    m = cw.match(model, str(path), align=True)
    rows = m.table.iloc[: len(m.variables)]
    assert set(rows["paired_by"]) == {"align"}
    assert list(rows["ckpt_path"]) == [expected[id(w)] for w in writer.weights]
    cw.restore(model, m)
    for v, w in zip(model.weights, writer.weights):
        assert_same(v.numpy(), w.numpy())
