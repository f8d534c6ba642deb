"""Everything ``rename=`` means, in one place.

A rename is a dict ``{checkpoint path or key: model variable}`` (what a user, Suggest
renames or a hand pairing writes), a :func:`~ckpt_widgets.suggest_rename` DataFrame (read
as that dict), or a list of ``(regex, replacement)`` rules applied to stored names. This
module normalises those forms, checks and applies rules, parses the widget's Rules box,
and turns a rename into (model row, checkpoint row) pairs for :mod:`.matching`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

from ckpt_widgets.errors import RenameError, did_you_mean

Rename = Mapping[str, Any] | Iterable[tuple[str, str]]
Rule = tuple["re.Pattern[str]", str, Any]
"""A compiled rename rule: pattern, replacement, and the rule as the user wrote it."""
Columns = dict[str, list[Any]]


def is_suggestion(rename: Any) -> bool:
    """Whether ``rename`` is a :func:`~ckpt_widgets.suggest_rename` DataFrame."""
    return hasattr(rename, "columns") and {"ckpt_path", "model_path"} <= set(rename.columns)


def as_pairs(rename: Any) -> dict[str, Any] | None:
    """``rename`` as ``{checkpoint path or key: model variable}``; ``{}`` for None and
    ``None`` for regex rules (they are no pairs)."""
    if rename is None:
        return {}
    if isinstance(rename, Mapping):
        return dict(rename)
    if is_suggestion(rename):
        return dict(zip(rename["ckpt_path"], rename["model_path"]))
    return None


def add_pairs(rename: Any, pairs: Mapping[str, Any]) -> dict[str, Any]:
    """``pairs`` added to a dict ``rename`` (they win), or ``pairs`` alone in place of any
    other ``rename`` (rules, a suggestion frame, None)."""
    return {**rename, **pairs} if isinstance(rename, dict) else dict(pairs)


def hand_pairs(rename: Any, label: str) -> dict[str, Any]:
    """The ``rename`` in force on source ``label`` as pairs a hand pairing can extend.

    Regex rules do not mix with pairs (rules rewrite names before pairs are looked up),
    so a source paired by rules is refused with a sentence saying what to do.
    """
    pairs = as_pairs(rename)
    if pairs is None:
        raise ValueError(
            f"Source {label} is paired by rename rules (the Rules box); a layer cannot also "
            "be paired by hand: clear the rules first (w.set_rules('')), or write this pair "
            "as rules."
        )
    return pairs


def parse_rules(text: str) -> list[tuple[str, str]]:
    """``pattern => replacement`` lines as ``(regex, replacement)`` pairs; bad regex raise."""
    rules = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pattern, arrow, replacement = line.partition("=>")
        if not arrow:
            raise ValueError(f"Rule {number} needs the form 'pattern => replacement'.")
        try:
            re.compile(pattern.strip())
        except re.error as exc:
            raise ValueError(f"Rule {number}: '{pattern.strip()}' is no regex ({exc}).") from None
        rules.append((pattern.strip(), replacement.strip()))
    return rules


def compile_rules(rename: Any) -> list[Rule]:
    """``rename`` as checked, compiled (pattern, replacement) rules; :class:`RenameError`
    names the first rule that is not a pair of strings or does not compile."""
    if isinstance(rename, (str, bytes)) or not isinstance(rename, Iterable):
        raise RenameError(
            f"rename={rename!r} is neither a dict {{checkpoint name: model variable}} nor a "
            "list of (pattern, replacement) rules."
        )
    rules = []
    for rule in rename:
        if not (
            isinstance(rule, (tuple, list))
            and len(rule) == 2
            and all(isinstance(part, str) for part in rule)
        ):
            raise RenameError(
                f"rename rule {rule!r} is not a (pattern, replacement) pair of strings."
            )
        try:
            pattern = re.compile(rule[0])
            _check_replacement(pattern, rule[1])
        except (re.error, IndexError) as exc:
            raise RenameError(f"rename rule {tuple(rule)!r} is invalid: {exc}.") from None
        rules.append((pattern, rule[1], tuple(rule)))
    return rules


def _check_replacement(pattern: re.Pattern[str], replacement: str) -> None:
    """Raise ``re.error`` / ``IndexError`` for a group the replacement names but the
    pattern lacks, before any name is rewritten (an optional copy of the pattern matches
    the empty string with the same groups)."""
    try:
        probe = re.compile(f"(?:{pattern.pattern})?", pattern.flags)
    except re.error:  # e.g. inline flags that must open the pattern: checked when used
        return
    match = probe.match("")
    if match is not None:
        match.expand(replacement)


def apply_rules(rules: list[Rule], name: str) -> str:
    """``name`` rewritten by each rule in turn."""
    for pattern, replacement, rule in rules:
        try:
            name = pattern.sub(replacement, name)
        except (re.error, IndexError) as exc:
            raise RenameError(f"rename rule {rule!r} is invalid: {exc}.") from None
    return name


class Renamer:
    """Resolves a ``rename`` into (model row, checkpoint row) pairs.

    ``live`` and ``ckpt`` are the model's and the checkpoint's variables tables as plain
    lists per column; ``variables`` the live variable of each model row.
    """

    def __init__(self, live: Columns, ckpt: Columns, variables: list[Any], source: Any):
        self.live, self.ckpt, self.variables, self.source = live, ckpt, variables, source

    def pairs(self, rename: Rename) -> tuple[list[tuple[int, int]], bool]:
        """The pairs ``rename`` names, and whether they came from regex rules.

        Raises :class:`RenameError` for a name that is no variable, a Keras name shared by
        several variables, or a model variable given two stored tensors.
        """
        named = as_pairs(rename)
        if named is not None:
            pairs = [(self._live_row(t), self._ckpt_row(c)) for c, t in named.items()]
        else:
            pairs = self._rule_pairs(compile_rules(rename))
        self._refuse_two_tensors_for_one_variable(pairs)
        return pairs, named is None

    def refuse_one_tensor_for_two_variables(
        self, keys: list[str | None], pairs: list[tuple[int, int]]
    ) -> None:
        """Raise when a rule sends a stored tensor that still pairs with another model row
        (``keys``: each model row's stored key after pairing) to a second variable."""
        renamed = {i for i, _ in pairs}
        holders: dict[str, list[int]] = {}
        for k, key in enumerate(keys):
            if key and k not in renamed:
                holders.setdefault(key, []).append(k)
        for i, j in pairs:
            other = next(iter(holders.get(self.ckpt["key"][j], [])), None)
            if other is not None:
                raise RenameError(
                    f"rename rules send stored '{self.ckpt['path'][j]}' to "
                    f"'{self._label(i)}' while it still pairs with "
                    f"'{self._label(other)}': one stored tensor would feed two "
                    f"variables; write a dict rename={{...}} to mean that, or add a rule that "
                    f"gives '{self._label(other)}' another stored tensor."
                )

    def _rule_pairs(self, rules: list[Rule]) -> list[tuple[int, int]]:
        """(model row, checkpoint row) for each stored name the rules turn into a model
        variable's name or path."""
        ckpt = self.ckpt
        pairs: list[tuple[int, int]] = []
        for j in range(len(ckpt["key"])):
            for candidate in dict.fromkeys((ckpt["path"][j], ckpt["key"][j])):
                new = apply_rules(rules, candidate)
                if new == candidate:
                    continue
                hits = self._rows_named(new)
                if hits:
                    pairs.append((self._only(hits, new), j))
                    break
        return pairs

    @cached_property
    def _rows_by(self) -> dict[str, dict[str, list[int]]]:
        """Model rows by object path and by Keras name (names may repeat)."""
        index: dict[str, dict[str, list[int]]] = {"path": {}, "name": {}}
        for column, rows in index.items():
            for i, value in enumerate(self.live[column]):
                if value:
                    rows.setdefault(value, []).append(i)
        return index

    def _rows_named(self, target: str) -> list[int]:
        """Model rows whose object path is ``target``, else whose Keras name is."""
        return self._rows_by["path"].get(target) or self._rows_by["name"].get(target, [])

    def _only(self, hits: list[int], target: str) -> int:
        """The one row in ``hits``; a Keras name shared by several variables is refused."""
        if len(hits) > 1:
            paths = ", ".join(f"'{self._label(i)}'" for i in hits[:3])
            raise RenameError(
                f"rename target '{target}' names {len(hits)} model variables ({paths}); "
                "name the one you mean by its object path."
            )
        return hits[0]

    def _refuse_two_tensors_for_one_variable(self, pairs: list[tuple[int, int]]) -> None:
        first: dict[int, int] = {}
        for i, j in pairs:
            k = first.setdefault(i, j)
            if k != j:
                raise RenameError(
                    f"rename= gives model variable '{self._label(i)}' two stored "
                    f"tensors, '{self.ckpt['path'][k]}' and '{self.ckpt['path'][j]}'; map "
                    "one stored tensor to each variable."
                )

    def _label(self, i: int) -> str:
        return str(self.live["path"][i] or self.live["name"][i])

    def _live_row(self, target: Any) -> int:
        if not isinstance(target, str):
            for i, v in enumerate(self.variables):
                if v is target:
                    return i
            raise RenameError(f"rename target {target!r} is not a variable of the model.")
        hits = self._rows_named(target)
        if hits:
            return self._only(hits, target)
        names = list(self.live["name"]) + [p for p in self.live["path"] if p]
        hint = did_you_mean(target, names)
        raise RenameError(f"rename target '{target}' is no model variable{hint}")

    def _ckpt_row(self, name: str) -> int:
        if not isinstance(name, str):
            raise RenameError(
                f"rename key {name!r} is not a checkpoint path or key: use strings as keys."
            )
        try:
            key = self.source.key_of(name)
        except KeyError as exc:
            raise RenameError(str(exc.args[0])) from None
        hits = self.source.variables.index[self.source.variables["key"] == key]
        return int(hits[0])
