"""Helpers to drive an isolated JupyterLab 4 server from headless Chromium (Playwright, sync API).

Used by ``tests/browser/conftest.py``; importable without Playwright or JupyterLab installed
(those are imported lazily), so the conftest can skip/fail with a clear message instead.
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
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("CONTAINERDAG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}

# No "Would you like to receive official Jupyter news?" toast, no update check.
NOTIFICATION_SETTINGS = {"fetchNews": "false", "checkForUpdates": False}
NOTIFICATION_PLUGIN = "@jupyterlab/apputils-extension:notification"

KERNEL_NAME = "python3"


# --------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class LabServer:
    """A running ``jupyter lab`` subprocess, isolated under ``base_dir``."""

    proc: subprocess.Popen
    port: int
    token: str
    base_dir: Path
    root_dir: Path
    log_path: Path
    python: str
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10) -> Any:
        """Call the server's REST API (``path`` like ``/api/sessions``); returns parsed JSON."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "<no server log>"
        return "\n".join(lines[-n:])

    def shutdown_sessions(self) -> None:
        """Shut down every session (and its kernel) the server knows about."""
        with contextlib.suppress(Exception):
            for s in self.api("GET", "/api/sessions"):
                with contextlib.suppress(Exception):
                    self.api("DELETE", f"/api/sessions/{s['id']}")
        with contextlib.suppress(Exception):
            for k in self.api("GET", "/api/kernels"):
                with contextlib.suppress(Exception):
                    self.api("DELETE", f"/api/kernels/{k['id']}")

    def stop(self, timeout: float = 15) -> None:
        """Stop kernels, then the server (graceful /api/shutdown, then SIGTERM, then SIGKILL)."""
        if self.proc.poll() is None:
            self.shutdown_sessions()
            with contextlib.suppress(Exception):
                self.api("POST", "/api/shutdown", timeout=5)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=5)


def prepare_isolated_dirs(base: Path, python: str) -> dict[str, Path]:
    """Create config/runtime/settings/workspaces/notebook dirs and a kernelspec for ``python``.

    ``JUPYTER_DATA_DIR`` is left alone (the lab extensions live in ``<venv>/share/jupyter``);
    the kernelspec goes into an extra ``JUPYTER_PATH`` entry that shadows the venv's ``python3``.
    """
    dirs = {
        name: base / name
        for name in ("config", "runtime", "settings", "workspaces", "path", "ipython", "notebooks")
    }
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)

    settings_file = dirs["settings"] / "@jupyterlab" / "apputils-extension"
    settings_file.mkdir(parents=True, exist_ok=True)
    (settings_file / "notification.jupyterlab-settings").write_text(
        json.dumps(NOTIFICATION_SETTINGS, indent=2)
    )

    kdir = dirs["path"] / "kernels" / KERNEL_NAME
    kdir.mkdir(parents=True, exist_ok=True)
    (kdir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (ipykernel, test venv)",
                "language": "python",
                "metadata": {"debugger": True},
            },
            indent=1,
        )
    )
    return dirs


def isolated_env(dirs: dict[str, Path]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        IPYTHONDIR=str(dirs["ipython"]),
        JUPYTER_PATH=os.pathsep.join(
            p for p in (str(dirs["path"]), os.environ.get("JUPYTER_PATH", "")) if p
        ),
        PYTHONUNBUFFERED="1",
    )
    env.pop("JUPYTER_TOKEN", None)
    return env


def start_lab_server(
    base: Path,
    python: str = sys.executable,
    timeout: float = 60,
    extra_env: dict[str, str] | None = None,
) -> LabServer:
    """Start ``python -m jupyterlab`` on a free port; return once its REST API answers.

    ``extra_env`` is added to the server's environment, which its kernels inherit.
    """
    dirs = prepare_isolated_dirs(base, python)
    env = isolated_env(dirs)
    env.update(extra_env or {})
    log_path = base / "jupyter-server.log"
    last_error = "unknown"
    for _attempt in range(3):  # a free port can be taken between probe and bind: retry
        port, token = free_port(), secrets.token_hex(24)
        cmd = [
            python, "-m", "jupyterlab",
            "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={dirs['notebooks']}",
            "--LabServerApp.expose_app_in_browser=True",
            f"--LabServerApp.user_settings_dir={dirs['settings']}",
            f"--LabServerApp.workspaces_dir={dirs['workspaces']}",
            "--ServerApp.open_browser=False",
            # Keep the notebook-trust DB/secret out of the user's JUPYTER_DATA_DIR.
            "--NotebookNotary.db_file=:memory:",
            f"--NotebookNotary.secret_file={base / 'notebook_secret'}",
        ]  # fmt: skip
        log = open(log_path, "ab")  # noqa: SIM115 - stays open for the subprocess' lifetime
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=dirs["notebooks"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        server = LabServer(proc, port, token, base, dirs["notebooks"], log_path, python, env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if _port_open(port):
                try:
                    server.api("GET", "/api/status", timeout=2)
                    return server
                except (urllib.error.URLError, OSError, ValueError) as exc:
                    last_error = repr(exc)
            time.sleep(0.05)
        if proc.poll() is None:
            server.stop()
            raise RuntimeError(
                f"JupyterLab did not answer on port {port} within {timeout}s ({last_error}).\n"
                f"Server log tail:\n{server.log_tail()}"
            )
        last_error = f"server exited with {proc.returncode}:\n{server.log_tail()}"
    raise RuntimeError(f"Could not start JupyterLab: {last_error}")


# --------------------------------------------------------------------------------------------
# Page helper
# --------------------------------------------------------------------------------------------

# JS: the Cytoscape core objects of the page, in document order. ipycytoscape's view adds the
# class "custom-widget" to its element, which is also the container passed to cytoscape(), so
# that element carries `_cyreg.cy`.
_JS_CYS = """() => [...document.querySelectorAll('.custom-widget')]
    .filter(el => el._cyreg && el._cyreg.cy).map(el => el._cyreg.cy)"""


class Lab:
    """Drives one JupyterLab page. Timeouts are in milliseconds (Playwright convention)."""

    def __init__(self, page: Any, server: LabServer, artifacts_dir: Path, default_timeout=30_000):
        self.page = page
        self.server = server
        self.artifacts_dir = Path(artifacts_dir)
        self.timeout = default_timeout
        self.console: list[str] = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(
            f"pageerror: {e} | {getattr(e, 'stack', '') or ''}".replace("\n", " ")))

    # ---- files -------------------------------------------------------------------------------
    def write_notebook(self, name: str, cells: list[str], kernel: str = KERNEL_NAME) -> Path:
        """Write an nbformat v4 notebook of code cells under the server's root dir."""
        import nbformat

        if not name.endswith(".ipynb"):
            name += ".ipynb"
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {
            "name": kernel,
            "display_name": "Python 3",
            "language": "python",
        }
        nb.metadata["language_info"] = {"name": "python"}
        nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
        path = self.server.root_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        return path

    # ---- navigation / kernel -----------------------------------------------------------------
    def open(self, name: str, timeout: float | None = None) -> None:
        """Open a notebook in a fresh workspace; wait for its panel and an idle kernel."""
        if not name.endswith(".ipynb"):
            name += ".ipynb"
        timeout = timeout or 60_000
        ws = "t" + uuid.uuid4().hex[:12]  # fresh workspace: nothing restored from earlier tests
        self.page.goto(
            f"{self.server.url}/lab/workspaces/{ws}/tree/{name}?token={self.server.token}",
            wait_until="domcontentloaded",
        )
        self.page.wait_for_function(
            """(path) => {
                const app = window.jupyterapp;
                if (!app || !app.shell) return false;
                const w = app.shell.currentWidget;
                if (!w || !w.context || w.context.path !== path || !w.sessionContext) return false;
                const k = w.sessionContext.session && w.sessionContext.session.kernel;
                if (!w.context.isReady || !k || k.status !== 'idle') return false;
                window.__cdagPanel = w;
                return true;
            }""",
            arg=name,
            timeout=timeout,
            polling=50,
        )

    def kernel_status(self) -> str:
        """Kernel status of the notebook opened by :meth:`open` ('idle', 'busy', ...)."""
        return self.page.evaluate(
            "() => window.__cdagPanel?.sessionContext.session?.kernel?.status ?? 'none'"
        )

    def wait_kernel_idle(self, timeout: float | None = None) -> None:
        self.page.wait_for_function(
            """() => { const p = window.__cdagPanel;
                return p && p.sessionContext.session?.kernel?.status === 'idle'; }""",
            timeout=timeout or self.timeout,
            polling=50,
        )

    def run_all(self, timeout: float | None = None, raise_on_error: bool = True) -> None:
        """Run all cells (``notebook:run-all-cells``), wait for completion and an idle kernel.

        Raises ``AssertionError`` with the tracebacks if a cell produced an error output.
        ``window.__cdagRunAllStart`` holds the ``performance.now()`` of the start.
        """
        self._run_command("notebook:run-all-cells", None, timeout, raise_on_error)

    def run_above(
        self, index: int, timeout: float | None = None, raise_on_error: bool = True
    ) -> None:
        """Run the cells before cell ``index`` (negative counts from the end), like
        :meth:`run_all`; e.g. ``run_above(-1)`` leaves a closing last cell for later."""
        self._run_command("notebook:run-all-above", index, timeout, raise_on_error)

    def run_from(
        self, index: int, timeout: float | None = None, raise_on_error: bool = True
    ) -> None:
        """Run cell ``index`` (negative counts from the end) and every cell below it."""
        self._run_command("notebook:run-all-below", index, timeout, raise_on_error)

    def run_cell(
        self, index: int, timeout: float | None = None, raise_on_error: bool = True
    ) -> None:
        """Run cell ``index`` alone (negative counts from the end), like :meth:`run_all`."""
        self._run_command("notebook:run-cell", index, timeout, raise_on_error)

    def complete(self, code: str, cursor_pos: int | None = None) -> list[str]:
        """What the notebook's kernel completes at ``cursor_pos`` (default: the end) of
        ``code``: the matches of a kernel ``complete_request``, as Tab asks for them."""
        return self.page.evaluate(
            """async ([code, pos]) => {
                const k = window.__cdagPanel.sessionContext.session.kernel;
                const reply = await k.requestComplete({code, cursor_pos: pos});
                return reply.content.matches;
            }""",
            [code, len(code) if cursor_pos is None else cursor_pos],
        )

    def _run_command(
        self, command: str, index: int | None, timeout: float | None, raise_on_error: bool
    ) -> None:
        self.page.evaluate(
            """([command, index]) => {
                window.__cdagRunAll = 'running';
                window.__cdagRunAllStart = performance.now();
                const p = window.__cdagPanel;
                jupyterapp.shell.activateById(p.id);
                if (index !== null) {
                    const n = p.content.model.cells.length;
                    p.content.activeCellIndex = index < 0 ? n + index : index;
                    p.content.deselectAll();
                }
                jupyterapp.commands.execute(command).then(
                    () => { window.__cdagRunAll = 'done'; },
                    (e) => { window.__cdagRunAll = 'failed: ' + e; });
            }""",
            [command, index],
        )
        timeout = timeout or self.timeout
        handle = self.page.wait_for_function(
            "() => window.__cdagRunAll !== 'running' && window.__cdagRunAll",
            timeout=timeout,
            polling=50,
        )
        state = handle.json_value()
        if state != "done":
            raise AssertionError(f"{command} {state}")
        self.wait_kernel_idle(timeout)
        if raise_on_error:
            errors = self.cell_errors()
            if errors:
                raise AssertionError("cell error(s):\n" + "\n\n".join(errors))

    def cell_output_text(self, index: int) -> str:
        """Stream text and ``text/plain`` results of cell ``index`` (negative from the end)."""
        return self.page.evaluate(
            """(index) => {
                const cells = window.__cdagPanel.content.model.cells;
                const c = cells.get(index < 0 ? cells.length + index : index);
                const out = [];
                for (const o of c.outputs.toJSON()) {
                    let t = o.output_type === 'stream' ? o.text
                        : (o.data && o.data['text/plain']) || '';
                    out.push(Array.isArray(t) ? t.join('') : t);
                }
                return out.join('');
            }""",
            index,
        )

    def cell_errors(self) -> list[str]:
        """Error outputs of the open notebook (ename: evalue + traceback, ANSI stripped)."""
        return self.page.evaluate(
            """() => {
                const out = [];
                const cells = window.__cdagPanel.content.model.cells;
                for (let i = 0; i < cells.length; i++) {
                    const c = cells.get(i);
                    if (c.type !== 'code') continue;
                    for (const o of c.outputs.toJSON()) {
                        if (o.output_type === 'error') {
                            const tb = (o.traceback || []).join('\\n')
                                .replace(/\\u001b\\[[0-9;]*m/g, '');
                            out.push(`cell ${i}: ${o.ename}: ${o.evalue}\\n${tb}`);
                        }
                    }
                }
                return out;
            }"""
        )

    # ---- waiting on the DOM ----------------------------------------------------------------
    def wait_for_text(
        self, text: str, timeout: float | None = None, selector: str = ".jp-OutputArea-output"
    ) -> None:
        """Wait until ``text`` appears in the rendered text of an element matching ``selector``.

        Default scope is cell outputs, so the same text in a cell's source does not count.
        """
        self.page.wait_for_function(
            """([text, sel]) => [...document.querySelectorAll(sel)]
                   .some(el => (el.innerText || '').includes(text))""",
            arg=[text, selector],
            timeout=timeout or self.timeout,
            polling="raf",
        )

    def wait_for_selector(
        self, selector: str, timeout: float | None = None, visible: bool = True
    ) -> None:
        """Wait (rAF polling) until a matching element exists (and is visible, by default)."""
        self.page.wait_for_function(
            """([sel, visible]) => [...document.querySelectorAll(sel)].some(el =>
                   !visible || (el.getClientRects().length > 0
                                && getComputedStyle(el).visibility !== 'hidden'))""",
            arg=[selector, visible],
            timeout=timeout or self.timeout,
            polling="raf",
        )

    def wait_for_js(self, predicate: str, arg: Any = None, timeout: float | None = None) -> Any:
        """Wait until JS function ``predicate(arg)`` returns truthy; returns its value."""
        return self.page.wait_for_function(
            predicate, arg=arg, timeout=timeout or self.timeout, polling="raf"
        ).json_value()

    # ---- Cytoscape -----------------------------------------------------------------------------
    def wait_for_cy(self, widget_index: int = 0, min_nodes: int = 1, timeout=None) -> None:
        """Wait until the widget's Cytoscape instance exists, has nodes and a sized canvas."""
        self.page.wait_for_function(
            f"""([i, n]) => {{
                const cy = ({_JS_CYS})()[i];
                if (!cy || cy.nodes().length < n) return false;
                const c = cy.container().querySelector('canvas');
                return !!c && c.width > 0 && c.height > 0;
            }}""",
            arg=[widget_index, min_nodes],
            timeout=timeout or self.timeout,
            polling="raf",
        )

    def cy_count(self) -> int:
        return self.page.evaluate(f"() => ({_JS_CYS})().length")

    def cy_nodes(self, widget_index: int = 0) -> list[dict]:
        """Nodes of the page's Cytoscape instance: ``{id, classes, label, data, position}``."""
        return self.page.evaluate(
            f"""(i) => {{
                const cy = ({_JS_CYS})()[i];
                if (!cy) throw new Error('no Cytoscape widget #' + i + ' in the page');
                return cy.nodes().map(n => ({{
                    id: n.id(),
                    classes: n.classes(),
                    label: n.data('label') ?? null,
                    data: n.data(),
                    position: n.position(),
                }}));
            }}""",
            widget_index,
        )

    def wait_for_node_classes(
        self,
        cls: str,
        ids: list[str] | None = None,
        widget_index: int = 0,
        timeout: float | None = None,
    ) -> None:
        """Wait until every node (or the nodes in ``ids``) of the widget has class ``cls``."""
        self.page.wait_for_function(
            f"""([i, cls, ids]) => {{
                const cy = ({_JS_CYS})()[i];
                if (!cy) return false;
                const nodes = ids ? ids.map(id => cy.getElementById(id)) : cy.nodes().toArray();
                return nodes.length > 0 && nodes.every(n => n.nonempty() && n.hasClass(cls));
            }}""",
            arg=[widget_index, cls, ids],
            timeout=timeout or self.timeout,
            polling="raf",
        )

    def click_cy_node(self, node_id: str, widget_index: int = 0, timeout=None) -> None:
        """Click a node: scroll its widget into view, wait until the node stops moving (layout
        animation), then click at renderedPosition + container rect with ``page.mouse``."""
        timeout = timeout or self.timeout
        self.wait_for_cy(widget_index, timeout=timeout)
        self.page.evaluate(
            f"(i) => ({_JS_CYS})()[i].container().scrollIntoView({{block: 'center'}})",
            widget_index,
        )
        # Stable on-screen position for 5 consecutive animation frames, inside the viewport.
        point = self.page.wait_for_function(
            f"""([i, id]) => {{
                const cy = ({_JS_CYS})()[i];
                const n = cy.getElementById(id);
                if (n.empty()) return false;
                const r = cy.container().getBoundingClientRect();
                const p = n.renderedPosition();
                const x = r.left + p.x, y = r.top + p.y;
                const key = x.toFixed(1) + ',' + y.toFixed(1);
                const s = window.__cdagStable = window.__cdagStable || {{}};
                const k = i + '/' + id;
                if (!s[k] || s[k].key !== key) {{ s[k] = {{key, n: 0}}; return false; }}
                if (++s[k].n < 5) return false;
                if (x < 0 || y < 0 || x > innerWidth || y > innerHeight) return false;
                const hit = document.elementFromPoint(x, y);
                if (!hit || !cy.container().contains(hit)) return false;
                return {{x, y}};
            }}""",
            arg=[widget_index, node_id],
            timeout=timeout,
            polling="raf",
        ).json_value()
        self.page.mouse.move(point["x"], point["y"])
        self.page.mouse.click(point["x"], point["y"])

    # ---- ipywidgets ----------------------------------------------------------------------------
    def click_button(self, label: str, index: int = 0, timeout: float | None = None) -> None:
        """Click the ``index``-th ipywidgets Button whose description is exactly ``label``."""
        loc = self.page.locator("button.jupyter-button, button.jupyter-widgets").filter(
            has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")
        )
        loc.nth(index).click(timeout=timeout or self.timeout)

    # ---- evidence --------------------------------------------------------------------------------
    def screenshot(
        self,
        path: str | Path = "screenshot.png",
        full_page: bool = False,
        selector: str | None = None,
    ) -> Path:
        """Save a PNG; relative paths go under ``<repo>/test-artifacts/``.

        With ``selector``, only the first matching element (scrolled into view) is captured.
        """
        p = Path(path)
        if not p.is_absolute():
            p = self.artifacts_dir / p
        p.parent.mkdir(parents=True, exist_ok=True)
        if selector:
            self.page.locator(selector).first.screenshot(path=str(p))
        else:
            self.page.screenshot(path=str(p), full_page=full_page)
        return p

    def evaluate(self, js: str, arg: Any = None) -> Any:
        return self.page.evaluate(js, arg)
