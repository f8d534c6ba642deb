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
