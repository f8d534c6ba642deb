"""The Jupyter widget: its Python state and the anywidget class that binds it to js/."""

from .checkpoint_widget import RUNNING, CheckpointWidget

__all__ = ["RUNNING", "CheckpointWidget"]
