"""mirror: the nested tf.train.Checkpoint that reaches exactly the selected objects."""

from __future__ import annotations

import ckpt_widgets as cw
from ckpt_widgets.engine.mirror import build_mirror
from ckpt_widgets.engine.plan import make_plan
from tests import models


def _mirror(model, prefix, **kwargs):
    return build_mirror(make_plan(cw.match(model, prefix), **kwargs))


def test_a_whole_submodule_is_attached_under_the_stored_root(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(seed=70)
    mirror = _mirror(model, prefix, include="backbone")
    (edge,) = mirror.root.children
    node = mirror.root.children[edge]
    assert edge == "model" and node.attach is None
    assert list(node.children) == ["backbone"]
    assert node.children["backbone"].attach is model.backbone
    assert node.children["backbone"].live_path == "backbone"
    assert mirror.fallback == []


def test_one_variable_of_a_layer_is_reached_alone(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(seed=71)
    mirror = _mirror(model, prefix, include=model.head.kernel)
    head = mirror.root.children["model"].children["head"]
    assert head.attach is None, "attaching the layer would restore its bias too"
    assert head.children["_kernel"].attach is model.head.kernel
    assert list(head.children) == ["_kernel"]


def test_adapted_variables_are_read_and_assigned_not_mirrored(net_ckpt):
    prefix, _ = net_ckpt
    model = models.net(head_units=7, seed=72)
    mirror = _mirror(model, prefix, include="head", adapt="zeros")
    assert mirror.root.children == {}
    assert [s.variable for s in mirror.fallback] == [model.head.kernel, model.head.bias]
