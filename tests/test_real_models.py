"""Real architectures: keras_hub BERT and GPT-2 backbones into task models, and
keras.applications backbones into new heads, from ``tf.train.Checkpoint``, ``.weights.h5``
and ``.keras``. Tiny configs, random weights, nothing downloaded. Expected values come from
the writer model (checked against h5py and ``tf.train.load_checkpoint``)."""

from __future__ import annotations

import pytest

import ckpt_widgets as cw
from tests import models
from tests.exact import (
    FORMATS,
    assert_exact,
    assert_report_lists,
    assert_undone,
    pairs,
    path_of,
    same,
    stored_reader,
    write_all,
)

TINY = models.TINY_TRANSFORMER


def _restore_and_check(model, path, include, expected):
    """Restore ``include`` from ``path`` into ``model``: exactly ``expected`` changes, the
    report lists it, and undo puts everything back."""
    before = models.values(model)
    report = cw.restore(model, path, include=include)
    try:
        assert_exact(model, expected, before)
        assert_report_lists(model, report, expected)
    finally:
        assert_undone(model, report, before)


# keras_hub ----------------------------------------------------------------------------


def _keras_hub():
    """keras_hub, or a skip (scripts/setup.sh installs it without its TensorFlow pins)."""
    return pytest.importorskip("keras_hub")


def _written(backbone: type, seed: int, directory) -> tuple[object, dict[str, str]]:
    """A tiny ``backbone`` with its own values, and its files in every format."""
    writer = backbone(**TINY)
    models.perturb(writer, seed=seed)
    return writer, write_all(writer, directory)


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    """A BertBackbone written in every format, and a BertTextClassifier on a new backbone."""
    keras_hub = _keras_hub()
    writer, files = _written(keras_hub.models.BertBackbone, 1, tmp_path_factory.mktemp("bert"))
    backbone = keras_hub.models.BertBackbone(**TINY)
    task = keras_hub.models.BertTextClassifier(backbone=backbone, num_classes=3, preprocessor=None)
    models.perturb(task, seed=2)
    return writer, files, task


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    """A GPT2Backbone written in every format, and a GPT2CausalLM on a new backbone."""
    keras_hub = _keras_hub()
    writer, files = _written(keras_hub.models.GPT2Backbone, 3, tmp_path_factory.mktemp("gpt2"))
    task = keras_hub.models.GPT2CausalLM(
        backbone=keras_hub.models.GPT2Backbone(**TINY), preprocessor=None
    )
    models.perturb(task, seed=4)
    return writer, files, task


def test_files_hold_the_writers_values(bert, tf):
    """The oracle: every stored tensor is one of the writer's values, each of them stored."""
    import h5py

    writer, files, _ = bert
    want = sorted(v.numpy().tobytes() for v in writer.weights)
    reader = tf.train.load_checkpoint(files["checkpoint"])
    keys = [k for k in reader.get_variable_to_shape_map() if k.startswith("model/")]
    assert sorted(reader.get_tensor(k).tobytes() for k in keys) == want
    with h5py.File(files["weights.h5"], "r") as f:
        stored = []
        f.visititems(lambda name, obj: _keep_dataset(stored, obj))
        assert sorted(stored) == want
        kernel = f["layers/transformer_encoder_1/_self_attention_layer/query_dense/vars/0"][()]
    by_path = {v.path: v for v in writer.weights}
    query_1 = by_path["transformer_layer_1/self_attention_layer/query/kernel"]
    assert kernel.tobytes() == query_1.numpy().tobytes()


def _keep_dataset(stored: list[bytes], obj) -> None:
    import h5py

    if isinstance(obj, h5py.Dataset):
        stored.append(obj[()].tobytes())


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("arch", ["bert", "gpt2"])
def test_match_pairs_each_backbone_variable_with_its_own_stored_tensor(request, arch, fmt):
    """What the user sees before restoring: every backbone variable is ``match`` with a key
    whose stored tensor (read with h5py / ``tf.train.load_checkpoint``) is the writer's
    value at the same place, and no key is paired twice."""
    writer, files, task = request.getfixturevalue(arch)
    m = cw.match(task, files[fmt])
    rows = m.table.dropna(subset=["model_path"]).set_index("model_path")
    read = stored_reader(files[fmt])
    expected = pairs(task.backbone.weights, writer.weights)
    wrong = []
    for v, path in zip(task.weights, cw.model_variables(task)["path"]):
        if id(v) in expected:
            row = rows.loc[path]
            if row["status"] != "match" or not same(read(row["key"]), expected[id(v)]):
                wrong.append(f"{v.path} <- {row['key']}")
    assert not wrong, f"{len(wrong)} variables paired with another place: {wrong[:4]}"
    assert m.table.loc[m.table["status"] == "match", "key"].is_unique


@pytest.mark.parametrize("fmt", FORMATS)
def test_bert_backbone_into_text_classifier(bert, fmt):
    writer, files, task = bert
    head = [v.numpy().copy() for v in task.output_dense.weights]
    _restore_and_check(task, files[fmt], ["backbone"], pairs(task.backbone.weights, writer.weights))
    assert all(same(v.numpy(), h) for v, h in zip(task.output_dense.weights, head))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("by", ["name", "layer"])
def test_bert_one_transformer_layer_gets_its_own_tensors(bert, fmt, by):
    """transformer_layer_1 gets transformer_layer_1's tensors, not transformer_layer_0's
    (their sublayers share the names query, key, value, ...); nothing else changes."""
    writer, files, task = bert
    layer = task.backbone.get_layer("transformer_layer_1")
    include = ["transformer_layer_1"] if by == "name" else [layer]
    expected = pairs(layer.weights, writer.get_layer("transformer_layer_1").weights)
    _restore_and_check(task, files[fmt], include, expected)


@pytest.mark.parametrize("fmt", FORMATS)
def test_gpt2_backbone_into_causal_lm(gpt2, fmt):
    writer, files, task = gpt2
    _restore_and_check(task, files[fmt], None, pairs(task.backbone.weights, writer.weights))


@pytest.mark.parametrize("fmt", FORMATS)
def test_gpt2_one_transformer_layer_gets_its_own_tensors(gpt2, fmt):
    writer, files, task = gpt2
    layer = task.backbone.get_layer("transformer_layer_1")
    expected = pairs(layer.weights, writer.get_layer("transformer_layer_1").weights)
    _restore_and_check(task, files[fmt], ["transformer_layer_1"], expected)


# keras.applications ---------------------------------------------------------------------

SHAPE = (32, 32, 3)
# name: (constructor, what wrote the file: the bare backbone or a classifier around it).
# Each builds in seconds and writes megabytes: marked slow.
APPLICATIONS = {
    "EfficientNetB0": ("EfficientNetB0", "classifier"),
    "MobileNetV3Small": ("MobileNetV3Small", "bare"),
    "ConvNeXtTiny": ("ConvNeXtTiny", "classifier"),
}


def _classifier(keras, backbone, units: int, name: str):
    """A Functional classifier: backbone, global pooling, a Dense head called ``name``."""
    inputs = keras.Input(SHAPE)
    x = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    return keras.Model(inputs, keras.layers.Dense(units, name=name)(x))


@pytest.fixture(
    scope="module",
    params=[pytest.param(v, marks=pytest.mark.slow) for v in APPLICATIONS.values()],
    ids=list(APPLICATIONS),
)
def application(request, keras, tmp_path_factory):
    """A backbone written in every format (bare or inside a classifier), and a new model
    around a new backbone of the same architecture with another head."""
    constructor, writer = request.param
    make = getattr(keras.applications, constructor)
    backbone = make(weights=None, include_top=False, input_shape=SHAPE)
    models.perturb(backbone, seed=5)
    written = backbone if writer == "bare" else _classifier(keras, backbone, 3, "head")
    files = write_all(written, tmp_path_factory.mktemp(constructor))
    fresh = make(weights=None, include_top=False, input_shape=SHAPE)
    model = _classifier(keras, fresh, 5, "new_head")
    models.perturb(model, seed=6)
    return backbone, files, fresh, model


@pytest.mark.parametrize("fmt", FORMATS)
def test_application_backbone_into_a_new_head(application, fmt):
    """The backbone, named by its object path, gets the writer's backbone bit for bit; the
    new head keeps its values."""
    backbone, files, fresh, model = application
    head = [v.numpy().copy() for v in model.get_layer("new_head").weights]
    expected = pairs(fresh.weights, backbone.weights)
    _restore_and_check(model, files[fmt], [path_of(model, fresh)], expected)
    assert all(same(v.numpy(), h) for v, h in zip(model.get_layer("new_head").weights, head))


def test_application_backbone_by_its_keras_name(application):
    """``include=`` the nested backbone by its Keras layer name (``"efficientnetb0"``)."""
    backbone, files, fresh, model = application
    expected = pairs(fresh.weights, backbone.weights)
    _restore_and_check(model, files["checkpoint"], [fresh.name], expected)
