import assert from "node:assert/strict";
import { test } from "node:test";
import { createScheduler } from "../src/core/schedule.js";

function counting() {
  const drawn = { all: 0, body: 0 };
  const queue = [];
  const scheduler = createScheduler({ all: () => drawn.all++, body: () => drawn.body++ }, (task) => queue.push(task));
  const run = () => {
    for (const task of queue.splice(0)) task();
  };
  return { drawn, scheduler, run, queue };
}

test("several changes in one turn draw once", () => {
  const { drawn, scheduler, run, queue } = counting();
  for (let i = 0; i < 5; i++) scheduler.draw(); // e.g. ticks, selection, selected, owners, header
  assert.equal(queue.length, 1);
  run();
  assert.deepEqual(drawn, { all: 1, body: 0 });
});

test("a whole draw covers a body draw asked for in the same turn, either order", () => {
  const { drawn, scheduler, run } = counting();
  scheduler.drawBody();
  scheduler.draw();
  scheduler.drawBody();
  run();
  assert.deepEqual(drawn, { all: 1, body: 0 });
});

test("body-only changes draw the body once", () => {
  const { drawn, scheduler, run } = counting();
  scheduler.drawBody();
  scheduler.drawBody();
  run();
  assert.deepEqual(drawn, { all: 0, body: 1 });
});

test("each turn draws again", () => {
  const { drawn, scheduler, run } = counting();
  scheduler.draw();
  run();
  scheduler.draw();
  run();
  assert.deepEqual(drawn, { all: 2, body: 0 });
});

test("by default the draw waits for the current task's microtasks", async () => {
  let drawn = 0;
  const scheduler = createScheduler({ all: () => drawn++, body: () => {} });
  scheduler.draw();
  scheduler.draw();
  assert.equal(drawn, 0);
  await Promise.resolve();
  assert.equal(drawn, 1);
});
