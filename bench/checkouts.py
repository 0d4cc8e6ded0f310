"""The panel of this checkout, or of another one (a worktree of main), served side by side.

Benches take `--before PATH` to measure a second checkout in the same run, on the same engine and
load, so that "before" and "after" numbers are comparable: `git worktree add --detach /tmp/base main`
(then `make setup` there) and pass `--before /tmp/base`.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import requests

import tests.live
from tests.live import PanelServer

ROOT = Path(__file__).resolve().parent.parent


def serve(checkout: Path | None = None, users: tuple[tuple[str, str, str], ...] = ()) -> PanelServer:
    """daphne serving `checkout` (default: this one) with its own fresh database and these users."""
    saved = tests.live.ROOT
    tests.live.ROOT = Path(checkout or ROOT).resolve()
    try:
        server = PanelServer().start()
        for username, password, role in users:
            server.add_user(username, password, role)
    finally:
        tests.live.ROOT = saved
    return server


def login(url: str, username: str, password: str) -> requests.Session:
    s = requests.Session()
    s.get(url + "/accounts/login/", timeout=30)
    r = s.post(
        url + "/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": s.cookies["csrftoken"]},
        headers={"Referer": url + "/accounts/login/"},
        timeout=30,
    )
    r.raise_for_status()
    if "/accounts/login/" in r.url:
        raise RuntimeError(f"login as {username} failed at {url}")
    return s


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{k}={v}" for k, v in session.cookies.items())


def median_s(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_rss(pid: int) -> int:
    """A process's resident memory in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0
