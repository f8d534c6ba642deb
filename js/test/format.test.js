import assert from "node:assert/strict";
import { test } from "node:test";
import { bytesText, hexColour, plural, shapeText, statText, statusLabel } from "../src/core/format.js";

test("statText keeps about 8 characters: 4 significant digits or e-notation", () => {
  assert.equal(statText(0), "0");
  assert.equal(statText(0.123456), "0.1235");
  assert.equal(statText(-1.5), "-1.5");
  assert.equal(statText(12345.6), "12350");
  assert.equal(statText(123456), "1.23e+5");
  assert.equal(statText(0.0001234), "1.23e-4");
  assert.equal(statText(null), "–");
  assert.equal(statText(undefined), "–");
  assert.equal(statText("nan"), "nan");
});

test("plural says 1 variable, 2 variables, 0 variables", () => {
  assert.equal(plural(1, "variable"), "1 variable");
  assert.equal(plural(2, "variable"), "2 variables");
  assert.equal(plural(0, "variable"), "0 variables");
});

test("shapeText prints shapes as Python tuples", () => {
  assert.equal(shapeText([3, 4]), "(3, 4)");
  assert.equal(shapeText([5]), "(5,)");
  assert.equal(shapeText([]), "()");
  assert.equal(shapeText(null), "");
});

test("bytesText uses powers of 1024 with one decimal", () => {
  assert.equal(bytesText(0), "0 B");
  assert.equal(bytesText(1023), "1023 B");
  assert.equal(bytesText(1024), "1.0 KB");
  assert.equal(bytesText(1536), "1.5 KB");
  assert.equal(bytesText(5 * 1024 ** 2), "5.0 MB");
  assert.equal(bytesText(3 * 1024 ** 4), "3072.0 GB");
});

test("hexColour reads computed rgb() and rgba() colours", () => {
  assert.equal(hexColour("rgb(25, 118, 210)"), "#1976d2");
  assert.equal(hexColour("rgba(0, 0, 0, 0.5)"), "#000000");
  assert.equal(hexColour("rgb(255 255 255 / 1)"), "#ffffff");
  assert.equal(hexColour("var(--x)"), null);
  assert.equal(hexColour(""), null);
});

test("statusLabel uses the widget's words, else the status", () => {
  assert.equal(statusLabel("missing"), "model only");
  assert.equal(statusLabel("unused"), "checkpoint only");
  assert.equal(statusLabel("new_status"), "new_status");
});
