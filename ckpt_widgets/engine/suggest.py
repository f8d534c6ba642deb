"""Propose pairs where paths no longer line up: align both sides' variables like a diff.

A layer inserted into a Sequential shifts every later ``_operations/N``; a renamed
attribute changes a path. The variables left unpaired on both sides, each in its natural
order, are aligned by shape and variable name (``kernel``, ``bias``, …) with
:class:`difflib.SequenceMatcher`; equal runs become proposed pairs.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any

from .matching import Match, match

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ["model_path", "ckpt_path", "shape", "name"]


def suggest_rename(model: Any, src_or_match: Any) -> pd.DataFrame:
    """Proposed pairs for variables that paths leave unpaired.

    Returns a DataFrame (``model_path, ckpt_path, shape, name``) that ``rename=`` accepts
    as it is: ``cw.restore(model, src, rename=cw.suggest_rename(model, src))``.
    """
    import pandas as pd

    m = src_or_match if isinstance(src_or_match, Match) else match(model, src_or_match)
    cols = m.columns
    n = len(m.variables)
    matched_nodes = {cols["key"][i] for i in range(n) if cols["status"][i] == "match"}
    model_rows = sorted(
        (i for i in range(n) if cols["status"][i] != "match" and cols["model_path"][i]),
        key=lambda i: _natural(cols["model_path"][i]),
    )
    stored = m.source.variables
    ckpt_rows = sorted(
        (
            j
            for j, (key, group) in enumerate(zip(stored["key"], stored["group"]))
            if group == "model" and key not in matched_nodes
        ),
        key=lambda j: _natural(stored["path"].iat[j]),
    )
    model_tokens = [(cols["model_shape"][i], _leaf(cols["model_path"][i])) for i in model_rows]
    ckpt_tokens = [(stored["shape"].iat[j], _leaf(stored["path"].iat[j])) for j in ckpt_rows]
    pairs = []
    matcher = SequenceMatcher(a=model_tokens, b=ckpt_tokens, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            i, j = model_rows[block.a + k], ckpt_rows[block.b + k]
            pairs.append(
                {
                    "model_path": cols["model_path"][i],
                    "ckpt_path": stored["path"].iat[j],
                    "shape": cols["model_shape"][i],
                    "name": _leaf(cols["model_path"][i]),
                }
            )
    return pd.DataFrame(pairs, columns=COLUMNS)


def _leaf(path: str) -> str:
    return path.rsplit("/", 1)[-1].lstrip("_")


def _natural(path: str) -> list[Any]:
    """Sort key where ``_operations/10`` comes after ``_operations/9``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path)]
