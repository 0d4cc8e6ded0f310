"""Downloading a big log with a slow client: what the server holds meanwhile.

Serves the panel with daphne, makes a container with 3,000,000 log lines (~21 MiB), then downloads
/containers/<name>/logs/download/ reading 16 KiB every 0.1 s for 12 s, then the rest at full speed,
recording the daphne process's RSS.

    .venv/bin/python bench/logs_download.py
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

import docker
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerpanel.settings")

import django  # noqa: E402

django.setup()

from bench.checkouts import process_rss  # noqa: E402
from tests.conftest import BUSYBOX  # noqa: E402
from tests.live import PanelServer  # noqa: E402

PASSWORD = "bench-password-42"
LINES = 3_000_000


def main() -> None:
    dk = docker.from_env(version="auto")
    container = dk.containers.run(
        BUSYBOX,
        ["sh", "-c", f"seq 1 {LINES}; sleep 3600"],
        name=f"dp-bench-download-{uuid.uuid4().hex[:6]}",
        detach=True,
        labels={"dockerpanel.bench": "1"},
    )
    server = PanelServer().start()
    server.add_user("bench", PASSWORD, "viewer")
    try:
        while container.logs(tail=1).strip() != str(LINES).encode():
            time.sleep(0.5)
        session = requests.Session()
        session.get(server.url + "/accounts/login/")
        session.post(
            server.url + "/accounts/login/",
            data={"username": "bench", "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        )
        rss_before = process_rss(server.proc.pid)
        response = session.get(f"{server.url}/containers/{container.name}/logs/download/", stream=True)
        chunks = response.iter_content(16384)
        got, started = 0, time.monotonic()
        while time.monotonic() - started < 12:
            got += len(next(chunks))
            time.sleep(0.1)
        slow_got, rss_slow = got, process_rss(server.proc.pid)
        started = time.monotonic()
        for chunk in chunks:
            got += len(chunk)
        fast_seconds = time.monotonic() - started
        rss_after = process_rss(server.proc.pid)
    finally:
        server.stop()
        container.remove(force=True)
    print(f"server RSS before: {rss_before / 2**20:.0f} MiB")
    print(f"after 12 s of a slow client ({slow_got / 2**10:.0f} KiB read): {rss_slow / 2**20:.0f} MiB")
    print(
        f"rest read at full speed: {got / 2**20:.1f} MiB in total, {fast_seconds:.1f} s; RSS {rss_after / 2**20:.0f} MiB"
    )
    print(f"lines: {LINES:,}")


if __name__ == "__main__":
    main()
