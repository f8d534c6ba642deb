"""The engine: walk a model, match it to a checkpoint, plan, restore, verify, undo, compare."""
