import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeColumns } from "../src/model/columns.js";

/**
 * `parts` laid one after the other in one buffer, each starting one byte after a multiple
 * of 8 (as slices of a websocket frame may), given back as DataViews on it, as the widget
 * manager puts them into the state.
 */
function frame(...parts) {
  const bytes = parts.map((p) => new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  const starts = [];
  let end = 0;
  for (const b of bytes) {
    const start = Math.ceil(end / 8) * 8 + 1;
    starts.push(start);
    end = start + b.length;
  }
  const all = new Uint8Array(end);
  for (const [i, b] of bytes.entries()) all.set(b, starts[i]);
  return bytes.map((b, i) => new DataView(all.buffer, starts[i], b.length));
}

const utf8 = (text) => new TextEncoder().encode(text);

test("decodeColumns reads each column type, from buffers at any byte offset", () => {
  const names = ["conv1", "é", "😀x", ""]; // ends in UTF-16 code units: 5, 6, 9, 9
  const [text, ends, codes, ints, floats, shapes] = frame(
    utf8(names.join("")),
    new Uint32Array([5, 6, 9, 9]),
    new Uint16Array([1, 0, 1, 1]),
    new Int32Array([0, -1, 2 ** 31 - 1, 7]),
    new Float64Array([3e9, 0.5, Number.NaN, -2]),
    utf8(JSON.stringify([[3, 2], null, [], [1]])),
  );
  const decoded = decodeColumns({
    n: 4,
    columns: [
      { name: "id", type: "text", data: text, ends },
      { name: "title", type: "same", as: "id" },
      { name: "status", type: "categories", values: ["match", "missing"], codes, width: 2 },
      { name: "params", type: "int32", data: ints },
      { name: "nbytes", type: "float64", data: floats },
      { name: "model_shape", type: "json", data: shapes },
    ],
  });
  assert.deepEqual(decoded, {
    id: names,
    title: names,
    status: ["missing", "match", "missing", "missing"],
    params: [0, -1, 2 ** 31 - 1, 7],
    nbytes: [3e9, 0.5, Number.NaN, -2],
    model_shape: [[3, 2], null, [], [1]],
  });
  assert.ok(Array.isArray(decoded.params) && Array.isArray(decoded.nbytes)); // plain arrays
});

test("decodeColumns takes ArrayBuffers and one-byte codes; nothing sent is an empty table", () => {
  const decoded = decodeColumns({
    n: 3,
    columns: [
      {
        name: "kind",
        type: "categories",
        values: ["module", "variable"],
        codes: new Uint8Array([0, 1, 1]).buffer,
        width: 1,
      },
      { name: "id", type: "text", data: utf8("abc").buffer, ends: new Uint32Array([1, 2, 3]).buffer },
    ],
  });
  assert.deepEqual(decoded, { kind: ["module", "variable", "variable"], id: ["a", "b", "c"] });
  assert.deepEqual(decodeColumns({ n: 0, columns: [] }), {});
  assert.deepEqual(decodeColumns(null), {});
  assert.deepEqual(decodeColumns(undefined), {});
});

test("decodeColumns refuses a column type it does not know, loudly", () => {
  assert.throws(() => decodeColumns({ n: 1, columns: [{ name: "x", type: "arrow" }] }), /column 'x'.*'arrow'/);
});
