"""make_plan through restore: what is chosen, and one sentence when nothing is."""

from __future__ import annotations

import pytest

import ckpt_widgets as cw
from ckpt_widgets.engine.plan import another_model_message
from tests import models
from tests.conftest import assert_unchanged


@pytest.mark.parametrize(
    "selection",
    [{"exclude": ["backbone", "head"]}, {"include": "head", "exclude": "head"}],
    ids=["exclude-all", "include-then-exclude"],
)
def test_excluding_everything_says_so(net_ckpt, selection):
    prefix, _ = net_ckpt  # the model's own checkpoint: everything matches
    model = models.net(seed=120)
    before = models.values(model)
    with pytest.raises(cw.NothingToRestoreError, match="exclude= removed every variable") as e:
        cw.restore(model, prefix, **selection)
    assert "another model" not in str(e.value)
    assert_unchanged(model.weights, before)


@pytest.mark.parametrize(
    ("option", "message"),
    [({"adapt": "overlapp"}, "adapt='overlapp'"), ({"optimizer": "all"}, "optimizer='all'")],
)
def test_unknown_option_values_are_option_errors(net_ckpt, option, message):
    prefix, _ = net_ckpt
    with pytest.raises(cw.OptionError, match=message):
        cw.restore(models.net(seed=121), prefix, **option)


def test_another_model_message_names_the_file_root_and_advice(conv_ckpt):
    prefix, _ = conv_ckpt
    model = models.net(seed=122)
    m = cw.match(model, prefix)
    text = another_model_message(m, ", so it was not added")
    assert text == (
        f"None of the model's {len(model.weights)} variables is in checkpoint '{prefix}' "
        f"(looked under root {m.root!r}); it looks like a checkpoint of another model, so "
        "it was not added."
    )


def _stack(keras, seed: int, frozen: tuple[int, ...] = (), scaled: bool = False):
    """Three alike Dense layers compiled with Adam (in a ``LossScaleOptimizer`` if
    ``scaled``); ``frozen`` ones not trainable."""
    layers = [keras.layers.Dense(4, name=f"d{i}") for i in range(3)]
    model = keras.Sequential([keras.Input((4,)), *layers])
    models.perturb(model, seed)
    for i in frozen:
        model.get_layer(f"d{i}").trainable = False
    optimizer = keras.optimizers.Adam()
    if scaled:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _slots_by_weight(optimizer) -> dict[tuple[str, str], object]:
    """``{(layer/weight, "m" or "v"): value}`` from the (inner) optimizer's own lists."""
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    found = {}
    for v, m, s in zip(optimizer._trainable_variables, optimizer._momentums, optimizer._velocities):
        weight = v.path.split("/", 1)[1]
        found[weight, "m"], found[weight, "v"] = m.numpy(), s.numpy()
    return found


@pytest.mark.parametrize(
    ("written", "live", "scaled", "optimizer"),
    [
        ((), (0,), False, True),
        ((0,), (), False, True),
        ((), (0,), True, True),
        ((), (0,), True, "restored"),
    ],
    ids=["frozen-now", "frozen-then", "loss-scaled", "loss-scaled-restored"],
)
def test_optimizer_slots_go_to_their_own_weight_when_trainable_sets_differ(
    tf, keras, tmp_path, written, live, scaled, optimizer
):
    """Slot ``_momentums/N`` belongs to ``_trainable_variables/N``; with a layer frozen in
    one model and not the other, N names another weight (of the same shape) in each."""
    import numpy as np

    from tests.conftest import assert_same

    saved = _stack(keras, 130, frozen=written, scaled=scaled)
    x = np.random.default_rng(0).standard_normal((8, 4)).astype("float32")
    saved.fit(x, x, epochs=2, verbose=0)
    prefix = tf.train.Checkpoint(model=saved).write(str(tmp_path / "ckpt"))
    model = _stack(keras, 131, frozen=live, scaled=scaled)
    model.optimizer.build(model.trainable_variables)
    before = _slots_by_weight(model.optimizer)
    report = cw.restore(model, prefix, optimizer=optimizer)
    stored = _slots_by_weight(saved.optimizer)
    for where, value in _slots_by_weight(model.optimizer).items():
        assert_same(value, stored[where] if where in stored else before[where])
    slots = [label.split(" ", 1)[1] for label in report.restored["label"] if " of " in label]
    assert "momentum of d1/kernel" in slots  # each slot is named by its own weight
    assert ("momentum of d0/kernel" in slots) == (not written and not live)
