"""Time the Keras 2 -> Keras 3 migration of a ResNet50 against the hand-written loop.

    .venv/bin/python benchmarks/bench_keras2.py [--repeat 5]

tf_keras writes ResNet50's weights (``save_weights``, TensorFlow format) in a process of
its own; Keras 3 then restores them into its own ResNet50. The baseline is the loop users
write today: zip the Keras 3 layers that have weights with ``layer_with_weights-N`` and
``assign`` each tensor from ``tf.train.load_checkpoint`` by attribute name, with no
check of any kind. Also times the alignment itself on synthetic layer lists.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from timing import median_time  # benchmarks/ is on sys.path when a script runs

WRITER = """
import sys, tf_keras
model = tf_keras.applications.ResNet50(weights=None)
model.save_weights(sys.argv[1])
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf

    import ckpt_widgets as cw

    prefix = os.path.join(tempfile.mkdtemp(prefix="ckpt-bench-k2-"), "resnet50")
    subprocess.run([sys.executable, "-c", WRITER, prefix], check=True)
    model = keras.applications.ResNet50(weights=None)
    print(f"Keras 2 ResNet50 weights: {len(model.weights)} variables")

    def hand_loop():
        reader = tf.train.load_checkpoint(prefix)
        layers = [layer for layer in model.layers if layer.weights]
        for n, layer in enumerate(layers):
            for v in layer.weights:
                name = v.path.rsplit("/", 1)[-1]
                v.assign(
                    reader.get_tensor(f"layer_with_weights-{n}/{name}/.ATTRIBUTES/VARIABLE_VALUE")
                )

    hand_loop()
    expected = [v.numpy() for v in model.weights]
    report = cw.restore(keras.applications.ResNet50(weights=None), prefix, align=True)
    assert len(report.restored) == len(model.weights), report.summary()

    base = median_time(hand_loop, args.repeat)
    match = median_time(lambda: cw.match(model, prefix, align=True), args.repeat)
    restore = median_time(lambda: cw.restore(model, prefix, align=True, undo=False), args.repeat)
    assert all(np.array_equal(v.numpy(), e) for v, e in zip(model.weights, expected))
    print(f"hand-written loop (baseline): {1000 * base:7.1f} ms")
    print(f"match(align=True):            {1000 * match:7.1f} ms  {match / base:4.2f}x")
    print(f"restore(align=True):          {1000 * restore:7.1f} ms  {restore / base:4.2f}x")

    from ckpt_widgets.engine.align import Layer, align_layers

    def layers(n: int, skip: int | None = None) -> list[Layer]:
        kinds = [(8 * (1 + i % 7),) for i in range(n) if i != skip]
        return [Layer(str(i), ["kernel", "bias"], [(w, w), (w,)]) for i, (w,) in enumerate(kinds)]

    for n in (200, 1000, 3000):
        a, b = layers(n), layers(n, skip=n // 2)
        start = time.perf_counter()
        align_layers(a, b)
        print(f"align {n} layers against {n - 1}: {1000 * (time.perf_counter() - start):7.1f} ms")


if __name__ == "__main__":
    main()
