"""Layer alignment by order, kind and shape, on plain descriptions (no TensorFlow)."""

from __future__ import annotations

from ckpt_widgets.engine.align import Layer, align_layers, pair_variables, role

DENSE4 = (["kernel", "bias"], [(4, 4), (4,)])
DENSE8 = (["kernel", "bias"], [(4, 8), (8,)])
NORM = (["gamma", "beta", "moving_mean", "moving_variance"], [(8,)] * 4)


def layers(*kinds):
    out, row = [], 0
    for k, (names, shapes) in enumerate(kinds):
        out.append(Layer(f"L{k}", list(names), list(shapes), list(range(row, row + len(names)))))
        row += len(names)
    return out


def test_same_architecture_pairs_in_order():
    a = layers(DENSE4, DENSE4, NORM)
    result = align_layers(a, layers(DENSE4, DENSE4, NORM))
    assert result.pairs == [(0, 0), (1, 1), (2, 2)] and result.ambiguous == []


def test_layer_missing_from_the_model_is_skipped_by_kind():
    result = align_layers(layers(DENSE8, NORM), layers(DENSE4, DENSE8, NORM))
    assert result.pairs == [(0, 1), (1, 2)] and result.ambiguous == []


def test_swapped_layers_of_different_kinds_still_pair():
    result = align_layers(layers(DENSE8, DENSE4), layers(DENSE4, DENSE8))
    assert sorted(result.pairs) == [(0, 1), (1, 0)]


def test_two_candidates_of_one_kind_are_ambiguous():
    result = align_layers(layers(DENSE4, DENSE4, NORM), layers(DENSE4, NORM))
    assert result.pairs == [(2, 1)]
    assert result.ambiguous == [([0, 1], [0])]


def test_one_model_layer_two_stored_candidates_is_ambiguous():
    result = align_layers(layers(DENSE4), layers(DENSE4, DENSE4))
    assert result.pairs == [] and result.ambiguous == [([0], [0, 1])]


def test_variables_pair_by_role_whatever_their_order_or_spelling():
    model = Layer("m", ["dense/bias", "dense/kernel"], [(4,), (4, 4)], [10, 11])
    ckpt = Layer("c", ["x/_kernel", "x/bias:0"], [(4, 4), (4,)], [20, 21])
    assert sorted(pair_variables(model, ckpt)) == [(10, 21), (11, 20)]


def test_kinds_differ_when_shapes_differ():
    model = Layer("m", ["kernel", "bias"], [(4, 4), (4,)], [0, 1])
    ckpt = Layer("c", ["kernel", "bias"], [(4, 8), (8,)], [0, 1])
    assert pair_variables(model, ckpt) is None
    assert align_layers([model], [ckpt]).pairs == []


def test_depthwise_kernel_is_a_kernel():
    assert role("layer_with_weights-0/depthwise_kernel") == "kernel"
    assert role("conv/_kernel") == role("conv/kernel:0") == "kernel"
