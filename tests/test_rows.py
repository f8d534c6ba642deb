"""The widget's tree rows (ckpt_widgets/widget/rows.py): what people read in each row.
Expected names come from Keras (attribute names the test model sets, ``layer.name``)."""

from __future__ import annotations

import ckpt_widgets as cw
from ckpt_widgets.widget.rows import checkpoint_tree, model_tree
from tests import models


def test_a_subclassed_models_rows_show_the_attribute_names_with_keras_names(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(seed=8)
    tree = model_tree(cw.match(model, prefix)).set_index("id")
    assert tree.loc["backbone", "label"] == "backbone"  # what the code says
    assert tree.loc["backbone", "keras_name"] == model.backbone.name  # e.g. sequential_3
    assert tree.loc["head", "label"] == "head"
    for k, layer in enumerate(model.backbone.layers, start=1):
        row = tree.loc[f"backbone/_functional/_operations/{k}"]  # id: what w.selected holds
        assert row["label"] == layer.name and row["keras_name"] == layer.name
        assert row["title"] == f"backbone/_functional/_operations/{k}"
        assert row["name"] == f"backbone/{layer.name}"
    kernel = tree.loc["backbone/_functional/_operations/1/_kernel"]
    first = model.backbone.layers[0]
    assert kernel["label"] == first.kernel.name
    assert kernel["name"] == f"backbone/{first.name}/{first.kernel.name}"
    assert kernel["keras_name"] == first.kernel.path


def test_a_functional_models_rows_are_its_layer_names(functional_ckpt):
    directory, _ = functional_ckpt
    model = models.functional(seed=9)
    tree = model_tree(cw.match(model, directory))
    modules = tree[tree["kind"] == "module"]
    assert list(modules["label"]) == [layer.name for layer in model.layers if layer.weights]
    assert all(i.startswith("_operations/") for i in modules["id"])


def test_checkpoint_rows_name_model_variables_and_optimizer_slots(net_ckpt):
    prefix, trained = net_ckpt
    model = models.net(seed=10)
    rows = checkpoint_tree(cw.match(model, prefix)).set_index("id")
    first = model.backbone.layers[0]
    layer_row = rows.loc["model/backbone/_functional/_operations/1"]
    assert layer_row["label"] == first.name  # the file stores no layer names: the model's
    kernel = rows.loc["model/backbone/_functional/_operations/1/_kernel"]
    assert kernel["name"] == f"backbone/{first.name}/{first.kernel.name}"
    opt = trained.optimizer
    k = [id(v) for v in opt.variables].index(id(opt._velocities[0]))
    slot = rows.loc[f"model/optimizer/_variables/{k}"]
    want = f"{opt.name} velocity of backbone/{first.name}/{first.kernel.name}"
    assert slot["label"] == slot["name"] == want
    assert slot["title"].startswith(f"model/optimizer/_variables/{k} (")
