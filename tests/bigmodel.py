"""A model with many variables, built fast (no symbolic calls): for scale tests."""

from __future__ import annotations


def big_model(blocks: int = 10, layers_per_block: int = 50, weights_per_layer: int = 20):
    """``blocks`` attributes ``block<i>`` of ``layers_per_block`` layers of small weights.

    10 000 variables by default, every one reachable by TensorFlow's object graph; a
    block holds 1 000 of them.
    """
    import keras

    class Weights(keras.layers.Layer):
        def __init__(self, name: str):
            super().__init__(name=name)
            for i in range(weights_per_layer):
                setattr(self, f"w{i}", self.add_weight(shape=(2,), name=f"w{i}"))
            self.built = True

    class Block(keras.layers.Layer):
        def __init__(self, index: int):
            super().__init__(name=f"block{index}")
            for i in range(layers_per_block):
                setattr(self, f"layer{i}", Weights(f"b{index}_l{i}"))
            self.built = True

    class Big(keras.Model):
        def __init__(self):
            super().__init__(name="big")
            for b in range(blocks):
                setattr(self, f"block{b}", Block(b))
            self.built = True

        def call(self, x):
            return x

    return Big()
