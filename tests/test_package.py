"""The package itself: a light import, a stable public API."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path


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


def test_the_wheel_ships_the_front_end_bundle(tmp_path):
    """The wheel carries js/src/ bundled into one module, and the CSS, in ckpt_widgets/static/."""
    root = Path(__file__).parent.parent
    build = [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)]
    subprocess.run(build, cwd=root, check=True, capture_output=True)
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        bundle = archive.read("ckpt_widgets/static/widget.js").decode()
        css = archive.read("ckpt_widgets/static/widget.css").decode()
    assert bundle == (root / "js" / "dist" / "widget.js").read_text()
    one_module = re.search(r"\bexport\s*\{", bundle) and not re.search(
        r"(^|;)import\b", bundle, re.M
    )
    assert one_module  # an ES module with no imports left (esbuild bundled them; minified)
    assert css == (root / "js" / "widget.css").read_text()
    assert not [n for n in names if "node_modules" in n or "/src/" in n]
