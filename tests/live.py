"""A real panel served by daphne in a subprocess, with its own data folder, for browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
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


class RedisServer:
    """A throw-away `redis-server` (Debian package redis-server) on a free loopback port."""

    def __init__(self):
        self.dir = tempfile.TemporaryDirectory(prefix="dockerpanel-redis-")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        import shutil

        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server is missing: `make engine` installs it (apt-get install redis-server)")
        self.proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            cwd=self.dir.name,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.dir.cleanup()


def login_session(server: PanelServer, username: str, password: str):
    """Log in through the login form; returns (opener keeping the cookies, the Cookie header value)."""
    import http.cookiejar
    import re

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(server.url + "/accounts/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    body = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    opener.open(server.url + "/accounts/login/", data=body.encode(), timeout=10)
    cookies = {c.name: c.value for c in jar}
    if "sessionid" not in cookies:
        raise RuntimeError(f"{username} could not log in to {server.url}")
    return opener, "; ".join(f"{k}={v}" for k, v in cookies.items())


# Images of the panel's own Dockerfiles: tagged by the hash of their inputs (scripts/image.sh), so a
# test run builds only what changed, and runs in other worktrees never get each other's build.
TEST_IMAGE_PREFIX = "dockerpanel-test/panel"


def build_images(*which: str) -> dict[str, str]:
    """scripts/image.sh for `which` (panel, redis, postgres): {name: the image's content-hash reference}."""
    out = subprocess.run(
        ["bash", "scripts/image.sh", *which],
        cwd=ROOT,
        env={**os.environ, "IMAGE_PREFIX": TEST_IMAGE_PREFIX, "PY": sys.executable},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if out.returncode:
        raise RuntimeError(f"scripts/image.sh {' '.join(which)} failed:\n{out.stderr}")
    return dict(zip(which, out.stdout.split(), strict=True))


class Browser:
    """A plain HTTP client with a cookie jar, for a panel served by a container."""

    def __init__(self, url: str):
        import http.cookiejar

        self.url = url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> str:
        with self.opener.open(self.url + path, timeout=30) as response:
            return response.read().decode()

    def post(self, path: str, form: dict, token_from: str = "") -> tuple[str, str]:
        """POST the form with the CSRF token of the page at `token_from` (default: `path`): (final URL, body)."""
        import re

        page = self.get(token_from or path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        body = urllib.parse.urlencode({**form, "csrfmiddlewaretoken": token}, doseq=True).encode()
        request = urllib.request.Request(self.url + path, data=body, headers={"Referer": self.url + path})
        with self.opener.open(request, timeout=30) as response:
            return response.geturl(), response.read().decode()

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def wait_until(condition, within: float, what: str):
    """Poll `condition` until it returns something true; AssertionError naming `what` after `within` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {within} s")
