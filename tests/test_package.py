"""The package itself: a light import, a stable public API."""

from __future__ import annotations

import subprocess
import sys


def test_import_is_light():
    code = (
        "import sys, ckpt_widgets; "
        "heavy = [m for m in ('tensorflow', 'keras', 'matplotlib', 'pandas', 'anywidget') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_functions_are_not_shadowed_by_their_modules():
    import ckpt_widgets as cw
    import ckpt_widgets.engine.transaction
    import ckpt_widgets.widget  # imports the restore engine too

    assert callable(cw.restore) and cw.restore.__name__ == "restore"
    assert callable(cw.match) and cw.match.__name__ == "match"
    assert cw.CheckpointWidget.__name__ == "CheckpointWidget"
