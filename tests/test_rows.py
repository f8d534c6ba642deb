"""The widget's tree rows (ckpt_widgets/widget/rows.py): what people read in each row.
Expected names come from Keras (attribute names the test model sets, ``layer.name``)."""

from __future__ import annotations

import numpy as np
import pytest

import ckpt_widgets as cw
from ckpt_widgets.widget.rows import checkpoint_tree, model_tree, model_tree_columns
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


def _reference_tree(m) -> dict[str, list]:
    """The model tree the plain way (a dict per row, a DataFrame, its columns as lists):
    what ``model_tree_columns`` must give without the per-row dicts."""
    import pandas as pd

    from ckpt_widgets.engine.matching import SEVERITY
    from ckpt_widgets.engine.names import model_labels, module_label, readable_module_names
    from ckpt_widgets.widget.rows import COLUMNS, _is_layer, _module_row, _parents_first

    def layer_above(path: str) -> str:
        folder = path.rpartition("/")[0]
        while folder and (
            folder.endswith("_functional") or not _is_layer(m.graph.object_at(folder))
        ):
            folder = folder.rpartition("/")[0]
        return folder

    cols, readable = m.columns, model_labels(m)
    modules: dict[str, dict] = {}
    variables = []
    for i in range(len(m.variables)):
        path, name = cols["model_path"][i], cols["name"][i]
        shape, status, size = cols["model_shape"][i], cols["status"][i], int(cols["nbytes"][i])
        params = int(np.prod(shape)) if isinstance(shape, tuple) else 0
        parent = layer_above(path) if path else ""
        ckpt_shape = cols["ckpt_shape"][i]
        variables.append({
            "id": path or name, "parent": parent, "kind": "variable",
            "label": name.rsplit("/", 1)[-1], "keras_name": name, "name": readable[i],
            "title": path or f"{name} (untracked)", "status": status,
            "model_shape": list(shape) if isinstance(shape, tuple) else None,
            "ckpt_shape": list(ckpt_shape) if isinstance(ckpt_shape, tuple) else None,
            "dtype": cols["model_dtype"][i], "nbytes": size, "params": params,
            "layer": cols["layer"][i], "group": "model",
        })  # fmt: skip
        node = parent
        while node:
            if node not in modules:
                keras_name = getattr(m.graph.object_at(node), "name", "")
                label = module_label(m.graph, node)
                modules[node] = _module_row(
                    node, layer_above(node), label, keras_name, keras_name, "model"
                )
            module = modules[node]
            module["nbytes"] += size
            module["params"] += params
            if SEVERITY[status] > SEVERITY[module["status"]]:
                module["status"] = status
            node = module["parent"]
    for module, name in zip(modules.values(), readable_module_names(m.graph, list(modules))):
        module["name"] = name
    frame = pd.DataFrame(_parents_first(list(modules.values()) + variables), columns=COLUMNS)
    return {name: frame[name].tolist() for name in frame.columns}


def _nested_sequential():
    keras = models._keras()
    inner = keras.Sequential([keras.layers.Dense(3), keras.layers.Dense(2)], name="inner")
    return keras.Sequential([keras.Input((4,)), inner, keras.layers.Dense(5)], name="outer")


@pytest.mark.parametrize("which", ["mobilenet_v2", "nested_sequential", "subclassed"])
def test_the_tree_built_column_by_column_equals_the_tree_built_row_by_row(
    which, tf, net_ckpt, tmp_path
):
    keras = models._keras()
    if which == "subclassed":  # a wider head than stored: shape mismatches in the rows
        prefix, model = net_ckpt[0], models.net(head_units=5, seed=3)
    else:
        if which == "mobilenet_v2":
            model = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3))
        else:
            model = _nested_sequential()
        prefix = tf.train.Checkpoint(model=model).write(str(tmp_path / "ckpt"))
        model = keras.models.clone_model(model)  # a fresh live model: another object
    m = cw.match(model, prefix)
    tree = model_tree_columns(m)
    assert tree == _reference_tree(m)
    assert tree["kind"].count("variable") == len(m.variables)
    if which == "subclassed":
        assert "shape_mismatch" in tree["status"]
