"""A real panel served by daphne in a subprocess, with its own data folder, for browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PanelServer:
    """`daphne dockerpanel.asgi:application` on a free loopback port with a fresh database."""

    def __init__(self, extra_env: dict[str, str] | None = None):
        self.data = tempfile.TemporaryDirectory(prefix="dockerpanel-live-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DOCKERPANEL_DATA": self.data.name,
            "DJANGO_DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            **(extra_env or {}),
        }
        self.env.pop("DATABASE_URL", None)
        self.proc: subprocess.Popen | None = None
        self.log = Path(self.data.name) / "daphne.log"

    def manage(self, *args: str, env: dict[str, str] | None = None) -> str:
        out = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )
        if out.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def add_user(self, username: str, password: str, role: str) -> None:
        self.manage(
            "createpaneluser", username, "--role", role, "--skip-validation", env={"DOCKERPANEL_PASSWORD": password}
        )

    def start(self) -> PanelServer:
        self.manage("migrate", "--noinput", "-v0")
        daphne = str(Path(sys.executable).parent / "daphne")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [daphne, "-b", "127.0.0.1", "-p", str(self.port), "dockerpanel.asgi:application"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daphne exited:\n{self.log.read_text()}")
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2)
                return self
            except urllib.error.HTTPError:
                return self  # 503 from /healthz still means the server answers
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"daphne did not answer on {self.url}:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.data.cleanup()
