import assert from "node:assert/strict";
import { test } from "node:test";
import { paramsText } from "../src/core/format.js";

test("parameter counts are exact below 10,000, then short", () => {
  assert.equal(paramsText(0), "0");
  assert.equal(paramsText(1424), "1,424");
  assert.equal(paramsText(9999), "9,999");
  assert.equal(paramsText(12345), "12.3K");
  assert.equal(paramsText(25_557_032), "25.6M");
  assert.equal(paramsText(7_000_000_000), "7.0B");
});
