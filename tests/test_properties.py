"""Property: random nested models and random selections restore exactly what was chosen."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ckpt_widgets as cw
from tests import models
from tests.conftest import assert_same
from tests.exact import (
    FORMATS,
    assert_exact,
    assert_report_lists,
    assert_undone,
    object_at,
    pairs,
    weights_under,
    write_all,
)

specs = st.recursive(
    st.integers(1, 4),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.dictionaries(st.sampled_from(["enc", "dec", "mid", "aux"]), inner, min_size=1),
    ),
    max_leaves=6,
)


def build(spec, keras):
    """int: Dense(units); list: Sequential; dict: a layer holding its parts as attributes."""

    class Chain(keras.layers.Layer):
        def __init__(self, parts):
            super().__init__()
            self.order = sorted(parts)
            for name in self.order:
                setattr(self, name, parts[name])

        def call(self, x):
            for name in self.order:
                x = getattr(self, name)(x)
            return x

    def make(node):
        if isinstance(node, int):
            return keras.layers.Dense(node)
        if isinstance(node, list):
            return keras.Sequential([make(n) for n in node])
        return Chain({k: make(v) for k, v in node.items()})

    model = keras.Sequential([keras.Input((3,)), make(spec)])
    model(np.zeros((1, 3), "float32"))
    return model


counter = itertools.count()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    spec=specs,
    placement=st.sampled_from(["", "model", "net/inner"]),
    data=st.data(),
)
def test_random_models_and_selections(tf, keras, tmp_path, spec, placement, data):
    saved = build(spec, keras)
    models.perturb(saved, seed=1)
    if placement:
        node = saved
        for edge in reversed(placement.split("/")):
            node = tf.train.Checkpoint(**{edge: node})
        ckpt = node
    else:
        ckpt = tf.train.Checkpoint(saved)
    prefix = ckpt.write(str(tmp_path / f"ckpt{next(counter)}"))

    model = build(spec, keras)
    models.perturb(model, seed=2)
    before = models.values(model)
    layers = [layer for layer in model._flatten_layers(include_self=False) if layer.weights]
    chosen = data.draw(st.lists(st.sampled_from(layers), min_size=1, max_size=4, unique=True))
    report = cw.restore(model, prefix, include=chosen)

    wanted = {id(v) for layer in chosen for v in layer.weights}
    assert len(report.restored) == len(wanted)
    for v, s, old in zip(model.weights, saved.weights, before):
        assert_same(v.numpy(), s.numpy() if id(v) in wanted else old)
    report.undo()
    for v, old in zip(model.weights, before):
        assert_same(v.numpy(), old)


# Repeated layer names: every restored variable gets the tensor stored at its own place -----


def _block_class(keras):
    class Block(keras.layers.Layer):
        """Two Dense sublayers named ``query`` and ``value``, as in every keras_hub block."""

        def __init__(self, units: int, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.query = keras.layers.Dense(units, name="query")
            self.value = keras.layers.Dense(units, name="value")

        def call(self, x):
            return self.value(self.query(x))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    class Pair(keras.layers.Layer):
        """Two ``Block``s both named ``block``, and an unnamed Dense."""

        def __init__(self, units: int, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.first = Block(units, name="block")
            self.second = Block(units, name="block")
            self.mix = keras.layers.Dense(units)

        def call(self, x):
            return self.mix(self.second(self.first(x)))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return Block, Pair


def _functional_blocks(keras):
    block, pair = _block_class(keras)
    inputs = keras.Input((4,))
    x = block(4, name="blk_0")(inputs)
    x = block(4, name="blk_1")(x)
    x = pair(4, name="pair")(x)
    return keras.Model(inputs, keras.layers.Dense(2)(x))


def _nested_sequentials(keras):
    dense = keras.layers.Dense
    return keras.Sequential(
        [
            keras.Input((4,)),
            keras.Sequential([dense(4, name="d"), dense(4, name="e")], name="s0"),
            keras.Sequential(
                [dense(4, name="d"), keras.Sequential([dense(4, name="d")], name="inner")],
                name="s1",
            ),
            dense(3),
        ]
    )


def _subclassed(keras):
    block, pair = _block_class(keras)

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.enc = block(4, name="block")
            self.dec = block(4, name="block")
            self.mid = pair(4, name="block")
            self.head = keras.Sequential([keras.layers.Dense(4, name="query")], name="block")

        def call(self, x):
            return self.head(self.mid(self.dec(self.enc(x))))

    model = Net()
    model(np.zeros((1, 4), "float32"))
    return model


ARCHITECTURES = {
    "functional_blocks": _functional_blocks,
    "nested_sequentials": _nested_sequentials,
    "subclassed": _subclassed,
}


@pytest.fixture(scope="module")
def repeated_names(keras, tmp_path_factory):
    """Per architecture: the writer, its files in every format, a new model of the same
    architecture, its values before any restore, and the selections to draw from
    (submodule paths and the Keras names that are unique in the model)."""
    pool = Pool()
    for seed, (name, build_model) in enumerate(ARCHITECTURES.items()):
        writer = build_model(keras)
        models.perturb(writer, seed=10 + seed)
        files = write_all(writer, tmp_path_factory.mktemp(name))
        model = build_model(keras)
        models.perturb(model, seed=20 + seed)
        paths = [p for p in cw.match(model, files["checkpoint"]).rollup().index if p]
        pool[name] = (writer, files, model, models.values(model), paths + _unique_names(model))
    return pool


class Pool(dict):
    """Architectures by name; a short repr keeps Hypothesis's reports readable."""

    def __repr__(self) -> str:
        return f"Pool({sorted(self)})"


def _unique_names(model) -> list[str]:
    """Keras names of the layers with weights whose name no other layer has."""
    layers = [la for la in model._flatten_layers(include_self=False) if la.weights]
    counts = Counter(la.name for la in layers)
    return [la.name for la in layers if counts[la.name] == 1]


def _wanted(model, selection: list[str]) -> set[int]:
    """ids of the variables ``selection`` names, found with Keras and TensorFlow alone."""
    by_name = {la.name: la for la in model._flatten_layers(include_self=False)}
    wanted: set[int] = set()
    for entry in selection:
        node = by_name[entry] if entry in by_name else object_at(model, entry)
        wanted |= {id(v) for v in weights_under(node)}
    return wanted


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(arch=st.sampled_from(sorted(ARCHITECTURES)), fmt=st.sampled_from(FORMATS), data=st.data())
def test_repeated_names_restore_each_variable_from_its_own_place(repeated_names, arch, fmt, data):
    """Random selections of models whose layers repeat names (``query`` in every block,
    two ``block``s side by side), from every file format: each selected variable gets the
    writer's value at its own place, nothing else changes, and the widget's ticks restore
    the same set as the API."""
    writer, files, model, base, choices = repeated_names[arch]
    for v, value in zip(model.weights, base):
        v.assign(value)
    selection = data.draw(st.lists(st.sampled_from(choices), min_size=1, max_size=3, unique=True))
    wanted = _wanted(model, selection)
    expected = {
        k: value for k, value in pairs(model.weights, writer.weights).items() if k in wanted
    }

    report = cw.restore(model, files[fmt], include=selection)
    assert_exact(model, expected, base)
    assert_report_lists(model, report, expected)
    assert_undone(model, report, base)

    widget = cw.CheckpointWidget(model, files[fmt])
    widget.selected = selection
    ticked = widget.restore()
    assert_exact(model, expected, base)
    assert_report_lists(model, ticked, expected)
    assert sorted(ticked.restored["model_path"]) == sorted(report.restored["model_path"])
    assert_undone(model, ticked, base)
    widget.close()
