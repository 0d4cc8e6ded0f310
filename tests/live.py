"""A real panel served by daphne in a subprocess, with its own data folder, for browser tests."""

from __future__ import annotations

import os
import shutil
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
    # Links to a port published on 127.0.0.1 name "localhost" (the panel's loopback twin). Chromium
    # tries ::1 first, where another test's container may publish the same port number on [::]
    # (the engine allocates ports per address): its request then reaches that container instead.
    "--host-resolver-rules=MAP localhost 127.0.0.1",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PanelServer:
    """`daphne dockerpanel.asgi:application` on a free loopback port with a fresh database."""

    def __init__(self, extra_env: dict[str, str] | None = None, data_dir: str | None = None):
        """data_dir: a folder of the caller's (e.g. a tiny tmpfs) instead of a fresh temporary one;
        extra_env may give a DATABASE_URL (otherwise SQLite in the data folder)."""
        self.data = tempfile.TemporaryDirectory(prefix="dockerpanel-live-")
        self.data_dir = data_dir or self.data.name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ}
        self.env.pop("DATABASE_URL", None)
        self.env.update(
            {
                "DOCKERPANEL_DATA": self.data_dir,
                "DJANGO_DEBUG": "0",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                **(extra_env or {}),
            }
        )
        self.proc: subprocess.Popen | None = None
        self.log = Path(self.data.name) / "daphne.log"  # outside data_dir, which a test may fill

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

    def start(self, migrate: bool = True) -> PanelServer:
        if migrate:
            self.manage("migrate", "--noinput", "-v0")
        daphne = str(Path(sys.executable).parent / "daphne")
        with open(self.log, "ab") as log:
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

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: nothing runs on the way out."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

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


class PostgresServer:
    """A throw-away PostgreSQL cluster (Debian's postgresql-15) on a free loopback port.

    initdb and postgres refuse to run as root, so as root the cluster belongs to the `postgres`
    user (made by the Debian package) in a temp folder it owns.
    """

    BIN = Path("/usr/lib/postgresql/15/bin")

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dockerpanel-pg-")
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/dockerpanel"
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")

    def _as_owner(self, *argv: str) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            argv = ("runuser", "-u", "postgres", "--", *argv)
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=self.dir)

    def _ctl(self, *args: str) -> subprocess.CompletedProcess:
        return self._as_owner(str(self.BIN / "pg_ctl"), "-D", self.data, "-l", self.log, *args)

    def start(self) -> PostgresServer:
        if not (self.BIN / "initdb").exists():
            raise RuntimeError("PostgreSQL 15 is missing: `make engine` installs it (apt-get install postgresql-15)")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        out = self._as_owner(str(self.BIN / "initdb"), "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        if out.returncode:
            raise RuntimeError(f"initdb failed:\n{out.stdout}\n{out.stderr}")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c max_connections=100 -c fsync=off"
        out = self._ctl("-w", "-t", "60", "-o", options, "start")
        if out.returncode:
            raise RuntimeError(f"postgres did not start:\n{out.stdout}\n{out.stderr}\n{Path(self.log).read_text()}")
        self.psql("CREATE DATABASE dockerpanel", database="postgres")
        return self

    def psql(self, sql: str, database: str = "dockerpanel") -> str:
        out = self._as_owner(
            str(self.BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
            "-At", "-c", sql,
        )  # fmt: skip
        if out.returncode:
            raise RuntimeError(f"psql {sql!r} failed: {out.stderr}")
        return out.stdout.strip()

    def stop(self) -> None:
        self._ctl("-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


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


def main(argv: list[str]) -> int:
    """`python -m tests.live postgres -- COMMAND...`: run COMMAND with DATABASE_URL set to a fresh
    PostgreSQL cluster, stopped and removed afterwards."""
    if len(argv) < 3 or argv[0] != "postgres" or argv[1] != "--":
        print("usage: python -m tests.live postgres -- COMMAND...", file=sys.stderr)
        return 2
    server = PostgresServer().start()
    try:
        print(f"[pgtest] PostgreSQL 15 on 127.0.0.1:{server.port}", flush=True)
        return subprocess.run(argv[2:], env={**os.environ, "DATABASE_URL": server.url}, cwd=ROOT).returncode
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
