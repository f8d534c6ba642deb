"""Drive a real JupyterLab 4 from Playwright: start a server, write, open and run notebooks.

The fixtures in ``conftest.py`` are thin wrappers around this module; the helpers here
take a Playwright ``Page`` (and a :class:`JupyterServer` where a URL is needed) so a
test reads like what a user does::

    def test_something(jupyter_server, page):
        write_notebook(jupyter_server.root_dir, "t.ipynb", ["x = 1", "print(x)"])
        open_notebook(page, jupyter_server, "t.ipynb")
        run_all_cells(page)
        assert cell_output(page, 1) == "1"

Notes on how this works (and why):

* The server is started with its own, empty Jupyter config/data/runtime dirs and its own
  JupyterLab settings/workspaces dirs, so nothing from the user's setup leaks in. The
  lab settings written by :func:`write_lab_settings` turn off news and update checks and
  toast notifications (they cover the bottom right of the page and can swallow clicks),
  and set the notebook ``windowingMode`` to ``"none"``: every cell is then really in
  the DOM, so cell ``index`` in the helpers below is simply the index-th code cell.
* Cell indices in the helpers count **code cells only**, 0-based (markdown cells are
  skipped), which is what you get from :func:`write_notebook`.
* A cell is "done" when its prompt shows a new execution count (``[3]:``), not ``[*]:``
  nor the count it had before, and the kernel is idle. When a cell raises, the helpers
  raise :class:`CellError` with its traceback at once, rather than time out waiting for
  the cells JupyterLab then skips. (Errors are read from the notebook model through
  ``window.jupyterapp``: in the DOM a traceback is indistinguishable from stderr.)
* ``window.jupyterapp`` is exposed (``LabApp.expose_app_in_browser``), so a test that
  needs a JupyterLab command the DOM does not offer can use
  ``page.evaluate("jupyterapp.commands.execute('notebook:restart-kernel')")``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

__all__ = [
    "CellError",
    "JupyterServer",
    "JupyterServerError",
    "cell_output",
    "code_cell",
    "dismiss_dialogs",
    "notebook_panel",
    "open_notebook",
    "run_all_cells",
    "run_cell",
    "running_jupyter_server",
    "screenshot",
    "select_cell",
    "wait_for_kernel_idle",
    "write_lab_settings",
    "write_notebook",
]

#: Kernel metadata written into notebooks; matches the ``python3`` kernelspec of ipykernel,
#: so JupyterLab starts that kernel without asking.
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

#: JupyterLab user settings written for the test server (plugin id -> settings).
LAB_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension:notification": {
        "checkForUpdates": False,
        "fetchNews": "false",
        "doNotDisturbMode": True,
    },
    # All cells rendered, so locators find every cell and inner_text() is reliable.
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    # Follow the browser context's ``color_scheme`` (JupyterLab Light / JupyterLab Dark).
    "@jupyterlab/apputils-extension:themes": {"adaptive-theme": True},
    # The extension manager would query PyPI; nothing here needs it.
    "@jupyterlab/extensionmanager-extension:plugin": {"enabled": False},
}

_COUNT_RE = re.compile(r"\[\d+\]:")  # the prompt of a cell that has run


class CellError(AssertionError):
    """A cell run by a helper raised in the kernel; the message holds its output."""


class JupyterServerError(RuntimeError):
    """``jupyter lab`` exited or did not answer in time; the message holds its log."""


# --------------------------------------------------------------------------- server


@dataclass(frozen=True)
class JupyterServer:
    """A running ``jupyter lab`` started by :func:`running_jupyter_server`.

    Attributes:
        url: base URL without a trailing slash, e.g. ``http://127.0.0.1:40123``.
        token: the server's auth token (added to URLs by :meth:`lab_url`).
        root_dir: the server's root directory; notebooks written here can be opened.
        log_path: file receiving the server's (and kernels') stdout and stderr.
    """

    url: str
    token: str
    root_dir: Path
    log_path: Path

    def lab_url(self, path: str = "", **params: str) -> str:
        """URL of ``/lab/tree/<path>`` (or ``/lab`` when ``path`` is empty), with the token."""
        query = "&".join(f"{k}={quote(v)}" for k, v in {**params, "token": self.token}.items())
        tree = f"/tree/{quote(path)}" if path else ""
        return f"{self.url}/lab{tree}?{query}"

    def api(self, method: str, endpoint: str, timeout: float = 10) -> Any:
        """Call the server's REST API (e.g. ``("GET", "/api/sessions")``); return parsed JSON."""
        request = urllib.request.Request(
            f"{self.url}{endpoint}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut down every session and kernel, so the next notebook opened gets a fresh one."""
        for session in self.api("GET", "/api/sessions"):
            with contextlib.suppress(urllib.error.HTTPError):
                self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            with contextlib.suppress(urllib.error.HTTPError):
                self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def log(self) -> str:
        """The server log so far (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_lab_settings(settings_dir: Path, settings: dict[str, dict[str, Any]]) -> None:
    """Write JupyterLab user settings (``{"@scope/pkg:plugin": {...}}``) into ``settings_dir``."""
    for plugin_id, values in settings.items():
        package, plugin = plugin_id.split(":")
        path = settings_dir / package / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2))


def _isolated_env(home: Path) -> dict[str, str]:
    """Environment for the server and its kernels, with every Jupyter user dir under ``home``."""
    env = dict(os.environ)
    for name in ("JUPYTER_TOKEN", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTERLAB_DIR"):
        env.pop(name, None)
    dirs = {
        "JUPYTER_CONFIG_DIR": home / "config",
        "JUPYTER_DATA_DIR": home / "data",
        "JUPYTER_RUNTIME_DIR": home / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": home / "lab" / "user-settings",
        "JUPYTERLAB_WORKSPACES_DIR": home / "lab" / "workspaces",
        "IPYTHONDIR": home / "ipython",
        "MPLCONFIGDIR": home / "matplotlib",
    }
    for name, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    env.update(
        JUPYTER_PLATFORM_DIRS="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",  # silences a debugpy warning in kernel logs
        PYTHONUNBUFFERED="1",
        TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
        CUDA_VISIBLE_DEVICES=os.environ.get("CUDA_VISIBLE_DEVICES", ""),
    )
    return env


def _wait_until_up(server: JupyterServer, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error: object = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise JupyterServerError(
                f"jupyter lab exited with code {process.returncode} before answering:\n"
                f"{server.log()}"
            )
        try:
            with urllib.request.urlopen(
                f"{server.url}/api/status?token={server.token}", timeout=2
            ) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError) as error:
            last_error = error
        time.sleep(0.2)
    raise JupyterServerError(
        f"jupyter lab did not answer /api/status within {timeout:g} s "
        f"(last error: {last_error!r}); log:\n{server.log()}"
    )


def _stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM lets the server shut its kernels down; kill what is left after ``timeout``."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextlib.contextmanager
def running_jupyter_server(
    root_dir: Path, home: Path, *, startup_timeout: float = 60
) -> Iterator[JupyterServer]:
    """Run ``jupyter lab`` on a free port of 127.0.0.1 serving ``root_dir``; stop it on exit.

    ``home`` (an empty temporary directory) receives the Jupyter config, data, runtime,
    settings and workspaces dirs, IPython's dir and the server log (``home/jupyter.log``).
    Raises :class:`JupyterServerError` (with the server log) if the server exits or does
    not answer ``/api/status`` within ``startup_timeout`` seconds. On exit the server gets
    SIGTERM, which makes it shut its kernels down; it is killed if still there after 20 s.
    """
    root_dir.mkdir(parents=True, exist_ok=True)
    env = _isolated_env(home)
    write_lab_settings(Path(env["JUPYTERLAB_SETTINGS_DIR"]), LAB_SETTINGS)
    # No "build check" on each page load (seconds of server CPU, and a possible
    # "Build Recommended" dialog): the tests use the prebuilt JupyterLab as installed.
    labconfig = Path(env["JUPYTER_CONFIG_DIR"]) / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(
        json.dumps({"buildCheck": False, "buildAvailable": False})
    )
    port, token = free_port(), secrets.token_hex(24)
    server = JupyterServer(
        url=f"http://127.0.0.1:{port}",
        token=token,
        root_dir=root_dir,
        log_path=home / "jupyter.log",
    )
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.open_browser=False",
        "--ServerApp.allow_root=True",  # harmless when not root; needed in containers
        "--ServerApp.terminals_enabled=False",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={env['JUPYTERLAB_SETTINGS_DIR']}",
        f"--LabApp.workspaces_dir={env['JUPYTERLAB_WORKSPACES_DIR']}",
    ]
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=root_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal goes to pytest, not the server
        )
        try:
            _wait_until_up(server, process, startup_timeout)
            yield server
        finally:
            _stop(process)


# ------------------------------------------------------------------------ notebooks


def write_notebook(root_dir: Path, name: str, cells: Sequence[str]) -> Path:
    """Write ``root_dir/name`` as a notebook of code cells (sources in order) and return its path.

    The notebook carries the ``python3`` kernelspec metadata, so opening it starts that
    kernel without a "Select Kernel" dialog. ``name`` may contain ``/`` (folders are made).
    """
    import nbformat

    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in cells],
        metadata={"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}},
    )
    path = Path(root_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


# ---------------------------------------------------------------------------- pages

#: The notebook panel of the tab shown in the main area.
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
#: Code cells of a notebook panel, in order (markdown and raw cells are not counted).
CODE_CELL = ".jp-Notebook-cell.jp-CodeCell"

# State of the shown notebook, read in one round trip: the prompt of each code cell
# ("[ ]:", "[*]:", "[7]:") and the kernel status from the DOM; whether each code cell has
# an error output from the notebook model (in the DOM a traceback looks like stderr), when
# ``window.jupyterapp`` is exposed (null otherwise).
_STATE_JS = """
([panelSelector, cellSelector]) => {
    const panel = document.querySelector(panelSelector);
    if (!panel) return null;
    const cells = [...panel.querySelectorAll(cellSelector)];
    const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
    const kernelName = panel.querySelector('.jp-KernelName');
    let errors = null;
    const model = window.jupyterapp?.shell?.currentWidget?.content?.model;
    if (model && model.cells) {
        errors = [];
        for (const cell of model.cells) {
            if (cell.type !== 'code') continue;
            errors.push(cell.outputs.toJSON().some(o => o.output_type === 'error'));
        }
        if (errors.length !== cells.length) errors = null;
    }
    return {
        prompts: cells.map(c => (c.querySelector('.jp-InputPrompt')?.textContent ?? '').trim()),
        errors,
        status: indicator ? indicator.dataset.status : null,
        kernel: kernelName ? kernelName.textContent.trim() : null,
        dialogs: document.querySelectorAll('.jp-Dialog').length,
    };
}
"""


def _state(page: Page) -> dict[str, Any] | None:
    return page.evaluate(_STATE_JS, [PANEL, CODE_CELL])


def notebook_panel(page: Page) -> Locator:
    """The notebook panel (toolbar + cells) of the tab shown in JupyterLab's main area."""
    return page.locator(PANEL)


def code_cell(page: Page, index: int) -> Locator:
    """The ``index``-th (0-based) code cell of the shown notebook (``.jp-CodeCell``)."""
    return notebook_panel(page).locator(CODE_CELL).nth(index)


def dismiss_dialogs(page: Page, *, accept: bool = True) -> list[str]:
    """Close every open JupyterLab dialog; return their texts (empty list if there were none).

    With ``accept`` the dialog's default ("accept") button is clicked where there is one,
    which e.g. starts the proposed kernel in "Select Kernel"; otherwise (or if a dialog has
    no such button) Escape is pressed, which cancels it.
    """
    texts: list[str] = []
    dialogs = page.locator(".jp-Dialog")
    for _ in range(10):  # a dialog may open another one; don't loop forever
        if dialogs.count() == 0:
            break
        dialog = dialogs.first
        with contextlib.suppress(Exception):  # it may close by itself meanwhile
            texts.append(dialog.inner_text(timeout=1_000))
            button = dialog.locator(".jp-Dialog-button.jp-mod-accept")
            if accept and button.count():
                button.first.click(timeout=2_000)
            else:
                page.keyboard.press("Escape")
        page.wait_for_timeout(100)
    return texts


def wait_for_kernel_idle(page: Page, *, timeout: float = 60) -> None:
    """Wait until the shown notebook has a kernel and it is idle, closing dialogs meanwhile.

    Raises ``TimeoutError`` with the last state seen (kernel status, prompts) otherwise.
    """
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = _state(page)
        if state and state["dialogs"]:
            dismiss_dialogs(page)
            continue
        if state and state["status"] == "idle" and state["kernel"] not in (None, "No Kernel"):
            return
        page.wait_for_timeout(100)
    raise TimeoutError(f"kernel not idle after {timeout:.0f} s; last state: {state}")


def open_notebook(page: Page, server: JupyterServer, name: str, *, timeout: float = 60) -> Locator:
    """Open ``name`` (relative to the server's root dir) in JupyterLab; return its panel.

    Loads ``/lab/tree/<name>`` with ``?reset`` (so tabs restored from an earlier test's
    workspace don't open too), waits for the panel to be shown and its kernel to be idle,
    and closes any dialog that pops up meanwhile.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page.goto(server.lab_url(name, reset=""), wait_until="domcontentloaded")
    panel = notebook_panel(page)
    deadline = time.monotonic() + timeout
    while True:  # dialogs (e.g. "Select Kernel") can come before the panel is shown
        dismiss_dialogs(page)
        try:
            panel.wait_for(state="visible", timeout=500)
            break
        except PlaywrightTimeoutError:
            if time.monotonic() > deadline:
                raise
    wait_for_kernel_idle(page, timeout=max(deadline - time.monotonic(), 1))
    return panel


def _wait_for_execution(
    page: Page, indices: Sequence[int], before: list[str], timeout: float, what: str
) -> None:
    """Wait until the code cells ``indices`` have run (see module doc); raise on errors.

    A cell has run when its prompt shows an execution count other than the one in
    ``before``. When a cell raises, JupyterLab does not run the cells queued after it:
    their prompts go back to ``[ ]:``. So execution is over when no cell is ``[*]:``, the
    kernel is idle, and either every cell has run or some have, for three polls in a row.
    """
    deadline = time.monotonic() + timeout
    state: dict[str, Any] | None = None
    settled = 0
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        state = _state(page)
        if state is None:
            continue
        if state["dialogs"]:  # e.g. "Kernel Restarting" after a crash: report, don't hang
            raise CellError(f"{what}: a dialog opened: {dismiss_dialogs(page)}")
        prompts = state["prompts"]
        ran = [i for i in indices if _COUNT_RE.fullmatch(prompts[i]) and prompts[i] != before[i]]
        busy = any(prompts[i] == "[*]:" for i in indices) or state["status"] not in (
            "idle",
            None,  # no execution indicator in the toolbar: go by the prompts alone
        )
        settled = settled + 1 if ran and not busy else 0
        if settled and (len(ran) == len(indices) or settled >= 3):
            failed = [i for i in ran if state["errors"] and state["errors"][i]]
            if failed or len(ran) < len(indices):
                i = failed[0] if failed else ran[-1]
                skipped = [j for j in indices if j not in ran]
                raise CellError(
                    f"{what}: code cell {i} raised"
                    + (f" (code cells {skipped} did not run)" if skipped else "")
                    + f":\n{cell_output(page, i)}"
                )
            return
    raise TimeoutError(f"{what}: not done after {timeout:.0f} s; last state: {state}")


def run_all_cells(page: Page, *, timeout: float = 120) -> None:
    """Run every cell of the shown notebook (menu Run › Run All Cells) and wait until done.

    Done means every code cell shows a new execution count. Raises :class:`CellError`
    if a cell raises (JupyterLab then skips the cells after it) and ``TimeoutError``
    after ``timeout`` seconds.
    """
    state = _state(page)
    if state is None:
        raise RuntimeError("no notebook is shown; call open_notebook() first")
    before = state["prompts"]
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator('#jp-mainmenu-run .lm-Menu-item[data-command="runmenu:run-all"]').click()
    _wait_for_execution(page, range(len(before)), before, timeout, "run_all_cells")


def run_cell(page: Page, index: int, *, timeout: float = 60, select: bool = True) -> str:
    """Run code cell ``index`` (0-based) of the shown notebook; return its output text.

    Selects the cell by clicking its prompt (command mode, so nothing is typed into the
    editor; ``select=False``: :func:`select_cell` did already) and presses Ctrl+Enter
    ("run cell", which does not add a cell at the end like Shift+Enter does on the last
    cell). Returns :func:`cell_output`.
    """
    state = _state(page)
    if state is None:
        raise RuntimeError("no notebook is shown; call open_notebook() first")
    before = state["prompts"]
    if not 0 <= index < len(before):
        raise IndexError(f"code cell {index} of {len(before)}")
    if select:
        select_cell(page, index)
    page.keyboard.press("Control+Enter")
    _wait_for_execution(page, [index], before, timeout, f"run_cell({index})")
    return cell_output(page, index)


def select_cell(page: Page, index: int) -> None:
    """Select code cell ``index`` (0-based) in command mode: scroll to it, click its prompt."""
    cell = code_cell(page, index)
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputPrompt").click()


def cell_output(page: Page, index: int) -> str:
    """Text of code cell ``index``'s outputs (``inner_text``), joined by newlines and stripped.

    Output prompts (``[3]:`` before an execute result) are not included; an empty string
    means no output.
    """
    outputs = code_cell(page, index).locator(".jp-OutputArea-output")
    return "\n".join(text.strip("\n") for text in outputs.all_inner_texts()).strip()


def screenshot(page: Page, path: str | os.PathLike[str], *, target: Locator | None = None) -> Path:
    """Save a PNG of the page (or only of ``target``) to ``path`` (folders are made)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if target is None:
        page.screenshot(path=path)
    else:
        target.screenshot(path=path)
    return path


def full_height_screenshot(page: Page, widget: Locator, path: Path) -> None:
    """A screenshot of the whole widget: the page grows so that no part is scrolled away."""
    height = widget.evaluate("el => el.getBoundingClientRect().height")
    page.set_viewport_size({"width": 1400, "height": int(height) + 300})
    page.wait_for_timeout(300)  # JupyterLab lays the notebook out again
    widget.scroll_into_view_if_needed()
    path.parent.mkdir(exist_ok=True)
    widget.screenshot(path=str(path))
