"""The audit log fails closed, for real: a data folder on a tiny tmpfs made read-only or filled up,
and a server process killed (SIGKILL) in the middle of an action."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from tests.faults import TinyDataFolder, wait_for
from tests.live import ROOT, PanelServer, login_session


@pytest.fixture
def tiny_panel():
    """A panel whose data folder (SQLite database included) is a 4 MB tmpfs; operator and admin."""
    folder = TinyDataFolder()
    server = PanelServer(data_dir=str(folder.path))
    try:
        server.start()
        server.add_user("operator", PASSWORD, "operator")
        server.add_user("admin", PASSWORD, "admin")
        yield server, folder
    finally:
        server.stop()
        folder.remove()


def _csrf(opener) -> str:
    jar = next(h.cookiejar for h in opener.handlers if hasattr(h, "cookiejar"))
    return next(c.value for c in jar if c.name == "csrftoken")


def _post(opener, server: PanelServer, path: str, data: dict, timeout: float = 60) -> tuple[int, str]:
    body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": _csrf(opener)}).encode()
    try:
        with opener.open(server.url + path, data=body, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _healthz(server: PanelServer, opener=None) -> tuple[int, dict]:
    """/healthz as anyone (status only), or through a logged-in opener (with the details)."""
    try:
        with (opener or urllib.request.build_opener()).open(server.url + "/healthz", timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _entries(data_dir: str, action: str) -> list[tuple]:
    with sqlite3.connect(f"file:{Path(data_dir) / 'db.sqlite3'}?mode=ro", uri=True) as db:
        return db.execute(
            "SELECT state, ok, result FROM containers_auditentry WHERE action = ? ORDER BY id", (action,)
        ).fetchall()


def _running(dk, container) -> bool:
    container.reload()
    return container.status == "running"


def _refuses_then_recovers(server, folder, dk, container, break_it, mend_it) -> None:
    opener, _ = login_session(server, "operator", PASSWORD)
    break_it()
    status, page = _post(opener, server, f"/containers/{container.name}/stop/", {"timeout": "1"})
    assert status == 503
    assert "Not done: the audit log cannot be written" in page
    assert "container.stop" in page
    assert _running(dk, container)  # nothing was asked of the engine
    assert _healthz(server) == (503, {"status": "error"})
    status, health = _healthz(server, opener)
    assert status == 503
    assert health["database"].startswith("error")
    mend_it()
    status, _ = _post(opener, server, f"/containers/{container.name}/stop/", {"timeout": "1"})
    assert status == 200  # after the redirect to the container's page
    assert not _running(dk, container)
    assert _entries(server.data_dir, "container.stop") == [("done", 1, f"docker stop -t 1 {container.name}")]
    assert _healthz(server) == (200, {"status": "ok"})
    status, health = _healthz(server, opener)
    assert (status, health["database"]) == (200, "ok")


def test_it_refuses_an_action_when_the_data_folder_is_read_only(tiny_panel, dk, make_container):
    server, folder = tiny_panel
    container = make_container()
    _refuses_then_recovers(server, folder, dk, container, folder.make_read_only, folder.make_writable)


def test_it_refuses_an_action_when_the_data_folder_is_full(tiny_panel, dk, make_container):
    server, folder = tiny_panel
    container = make_container()
    _refuses_then_recovers(server, folder, dk, container, folder.fill, folder.unfill)


def test_it_says_in_one_line_that_an_empty_read_only_data_folder_cannot_start():
    folder = TinyDataFolder("1m")
    try:
        folder.make_read_only()
        env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SECRET_KEY", "DATABASE_URL")}
        out = subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=ROOT,
            env={**env, "DOCKERPANEL_DATA": str(folder.path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        folder.remove()
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().count("\n") == 0
    assert out.stderr.startswith(f"DockerPanel cannot start: the data folder {folder.path} cannot hold its secret key")
    assert "Read-only file system" in out.stderr


@pytest.fixture
def panel_to_kill():
    server = PanelServer()
    try:
        server.start()
        server.add_user("operator", PASSWORD, "operator")
        server.add_user("admin", PASSWORD, "admin")
        yield server
    finally:
        server.kill()
        server.stop()


def test_it_marks_an_attempt_interrupted_when_the_server_process_is_killed_mid_action(
    panel_to_kill, dk, make_container
):
    server = panel_to_kill
    # sleep as PID 1 ignores SIGTERM: `docker stop -t 30` takes 30 s, time enough to kill the server
    container = make_container(command="sleep 3600")
    opener, _ = login_session(server, "operator", PASSWORD)
    answered = []

    def stop() -> None:
        answered.append(_post_or_error(opener, server, container.name))

    thread = threading.Thread(target=stop, daemon=True)
    thread.start()
    wait_for(lambda: _entries(server.data_dir, "container.stop"), 60, "the attempt to be on record")
    assert _entries(server.data_dir, "container.stop") == [("in progress", 0, "in progress")]
    server.kill()
    thread.join(60)
    assert len(answered) == 1
    assert answered[0] != 200  # the request died with the server
    server.start(migrate=False)  # a new server process on the same database
    wait_for(lambda: _entries(server.data_dir, "container.stop")[0][0] == "interrupted", 30, "the mark")
    state, ok, result = _entries(server.data_dir, "container.stop")[0]
    assert (state, ok) == ("interrupted", 0)
    assert "the server process stopped before this finished" in result
    opener, _ = login_session(server, "admin", PASSWORD)
    page = opener.open(server.url + "/audit/", timeout=30).read().decode()
    assert "interrupted" in page


def _post_or_error(opener, server: PanelServer, name: str):
    try:
        return _post(opener, server, f"/containers/{name}/stop/", {"timeout": "30"}, timeout=120)[0]
    except OSError as e:
        return str(e)
