"""Column-oriented tables sent to the front end as binary buffers, not as JSON text.

ipywidgets sends every ``bytes`` / ``memoryview`` found in a trait's JSON form as a
binary frame of the message, so the 10 000 rows of a big model travel as a few buffers
that the browser reads without parsing (``decodeColumns`` in js/src/model/columns.js):
numbers as little-endian typed arrays, text as one UTF-8 blob with the end of each value
(in UTF-16 code units, JavaScript's string index), a text column with few distinct values
as those values and a code per row; anything else (shapes, ``None``) as JSON text.
"""

from __future__ import annotations

import json
import sys
from array import array
from itertools import accumulate
from typing import Any

INT32 = (-(2**31), 2**31 - 1)
EXACT_FLOAT = 2**53
"""The largest integer a float64 (a JavaScript number) holds exactly."""


def encode_columns(columns: dict[str, list[Any]]) -> dict[str, Any]:
    """``{name: values}`` (every column as long) as ``{"n", "columns": [...]}`` whose
    buffers ipywidgets sends as binary frames (``decodeColumns`` reads it back). A column
    equal to an earlier one is sent as a reference to it."""
    n = len(next(iter(columns.values()))) if columns else 0
    out: list[dict[str, Any]] = []
    for name, values in columns.items():
        values = list(values)
        same = next((earlier for earlier in out if columns[earlier["name"]] == values), None)
        if same is not None:
            out.append({"name": name, "type": "same", "as": same["name"]})
        else:
            out.append(_encode(name, values))
    return {"n": n, "columns": out}


def _encode(name: str, values: list[Any]) -> dict[str, Any]:
    types = set(map(type, values))
    if types <= {str}:
        distinct = dict.fromkeys(values)
        if len(distinct) * 2 <= len(values):
            return _categories(name, values, list(distinct))
        return {"name": name, "type": "text", **_text(values)}
    if types == {int} and INT32[0] <= min(values) and max(values) <= INT32[1]:
        return {"name": name, "type": "int32", "data": _buffer("i", values)}
    if types <= {int, float} and (int not in types or max(map(abs, values)) <= EXACT_FLOAT):
        return {"name": name, "type": "float64", "data": _buffer("d", values)}
    text = json.dumps(values, separators=(",", ":"), allow_nan=False, default=_tolist)
    return {"name": name, "type": "json", "data": memoryview(text.encode())}


def _categories(name: str, values: list[str], distinct: list[str]) -> dict[str, Any]:
    """A text column with few distinct values: the values once, and a code per row."""
    code = {value: i for i, value in enumerate(distinct)}
    typecode = "B" if len(distinct) <= 2**8 else "H" if len(distinct) <= 2**16 else "I"
    codes = _buffer(typecode, [code[v] for v in values])
    width = array(typecode).itemsize
    return {"name": name, "type": "categories", "values": distinct, "codes": codes, "width": width}


def _text(values: list[str]) -> dict[str, memoryview]:
    """One UTF-8 blob and the end of each value in it, counted in UTF-16 code units."""
    blob = "".join(values)
    if blob.isascii():
        lengths = map(len, values)
    else:
        lengths = (len(v.encode("utf-16-le")) // 2 for v in values)
    return {"data": memoryview(blob.encode()), "ends": _buffer("I", list(accumulate(lengths)))}


def _buffer(typecode: str, values: list[Any]) -> memoryview:
    """``values`` as a little-endian typed array (``array`` of ``typecode``)."""
    out = array(typecode, values)
    if sys.byteorder == "big":
        out.byteswap()
    return memoryview(out.tobytes())


def _tolist(value: Any) -> Any:
    """A NumPy value in a table, as JSON takes it."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} cannot be sent to the front end")
