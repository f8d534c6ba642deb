"""Write Keras 2 checkpoints with tf_keras, as a user on TensorFlow <= 2.15 would have.

Run as ``python -m tests.keras2_writer <directory>`` (its own process: Keras 2 and Keras 3
then never share a session). For each model in ``keras2_models.BUILDERS`` it trains
briefly and writes, into ``<directory>/<name>/``:

- ``ckpt``: ``tf.train.Checkpoint(model=m).write(...)``
- ``weights``: ``m.save_weights(...)`` in TensorFlow format (with the optimizer's state)
- ``weights.h5``: ``m.save_weights("….h5")``, Keras 2's legacy h5 (Functional/Sequential)
- ``model.h5``: ``m.save("….h5")``, a whole legacy model file (Functional/Sequential)
- ``predictions.npy``: the model's predictions on ``inputs_for(name)``
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def main(directory: str) -> None:
    import numpy as np
    import tensorflow as tf
    import tf_keras as k

    from tests.keras2_models import BUILDERS, inputs_for

    for name, build in BUILDERS.items():
        tf.random.set_seed(7)
        model = build(k)
        x = inputs_for(name)
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, np.ones((len(x), 3), "float32"), epochs=2, verbose=0)
        out = os.path.join(directory, name)
        os.makedirs(out, exist_ok=True)
        tf.train.Checkpoint(model=model).write(os.path.join(out, "ckpt"))
        model.save_weights(os.path.join(out, "weights"))
        if name != "subclassed":
            model.save_weights(os.path.join(out, "weights.h5"))
            model.save(os.path.join(out, "model.h5"))
        np.save(os.path.join(out, "predictions.npy"), model.predict(x, verbose=0))


if __name__ == "__main__":
    main(sys.argv[1])
