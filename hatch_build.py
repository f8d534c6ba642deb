"""Hatch build hook: the wheel ships the front end as one file bundled by esbuild.

The sources are ES modules in ``js/src/``; ``npm run build`` (in ``js/``) bundles them into
``js/dist/widget.js``. Building a wheel runs that build when the bundle is missing or older
than its sources, then puts the bundle and ``js/widget.css`` in ``ckpt_widgets/static/``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

BUNDLE = Path("js") / "dist" / "widget.js"
STATIC = "ckpt_widgets/static"


def _stale(js: Path, bundle: Path) -> bool:
    """Whether the bundle is missing or older than a source, package.json or the lock file."""
    if not bundle.exists():
        return True
    sources = [*js.joinpath("src").rglob("*.js"), js / "package.json", js / "package-lock.json"]
    built = bundle.stat().st_mtime
    return any(p.stat().st_mtime > built for p in sources if p.exists())


def build_front_end(js: Path) -> None:
    """Install the pinned build tools if needed, then bundle: ``npm ci``, ``npm run build``."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            f"The wheel needs the front end bundle {BUNDLE}, which is missing or older than "
            "js/src/, and npm is not on PATH: install Node.js and npm (Debian: apt-get install "
            "nodejs npm), or run `npm ci && npm run build` in js/ where npm is."
        )
    if not (js / "node_modules" / ".bin" / "esbuild").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=js, check=True)
    subprocess.run([npm, "run", "build"], cwd=js, check=True)


class FrontEndBuildHook(BuildHookInterface):
    """Bundle the front end (when stale) and ship it in the wheel's ``static/`` folder."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return  # an editable install serves js/dist/ (scripts/setup.sh builds it)
        root = Path(self.root)
        if _stale(root / "js", root / BUNDLE):
            build_front_end(root / "js")
        build_data["force_include"][str(root / BUNDLE)] = f"{STATIC}/widget.js"
        build_data["force_include"][str(root / "js" / "widget.css")] = f"{STATIC}/widget.css"
