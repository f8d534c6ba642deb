"""Reading checkpoint files (TF2 object-based, TF1 name-based, Keras weights): no model."""
