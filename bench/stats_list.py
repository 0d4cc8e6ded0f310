"""What the list page's CPU/memory column costs the server with N running containers.

Serves the panel with daphne (tests.live.PanelServer), starts N idle busybox containers, opens
/containers/ in Debian's chromium (1400x900, as the browser tests) and, once the usage column has
settled, counts the daphne process's threads (/proc/<pid>/task) and its open connections to the
engine's socket (its socket fds whose peer is the engine's listening socket, from `ss -xn`); then
scrolls to the bottom of the list and counts again. Also times GET /containers/stats.json.

    .venv/bin/python bench/stats_list.py          # 200 containers
    .venv/bin/python bench/stats_list.py 60 200

The containers are named dp-bench-stats-<random>-… and removed at the end, also on failure.
Writes nothing: paste the table into docs/bench-stats.md.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerpanel.settings")

import django  # noqa: E402

django.setup()

from tests.conftest import BUSYBOX  # noqa: E402
from tests.live import CHROMIUM, CHROMIUM_ARGS, PanelServer  # noqa: E402

PASSWORD = "bench-password-42"
PREFIX = f"dp-bench-stats-{uuid.uuid4().hex[:6]}"
LABEL = "dockerpanel.bench"
SOCKET = "/var/run/docker.sock"


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def engine_connections(pid: int) -> int:
    """The process's unix sockets whose peer is an end the engine accepted on its socket."""
    mine = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            mine.add(target[8:-1])
    out = subprocess.run(["ss", "-xn"], capture_output=True, text=True, check=True).stdout
    # Netid State Recv-Q Send-Q Local-path Local-inode Peer-path Peer-inode
    engine_peers = {f[7] for f in (line.split() for line in out.splitlines()) if len(f) >= 8 and f[4] == SOCKET}
    return len(mine & engine_peers)


def settle(pid: int, seconds: float = 6.0, deadline: float = 90.0) -> tuple[int, int]:
    """Threads and engine connections once they have not changed for `seconds` (at most `deadline`)."""
    end = time.monotonic() + deadline
    last, since = None, time.monotonic()
    while time.monotonic() < end:
        now = (threads(pid), engine_connections(pid))
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= seconds:
            break
        time.sleep(0.5)
    return last


def on_screen(page) -> str:
    """Rows on screen: how many, with numbers, with "—" (not sampled)."""
    counts = page.evaluate(
        """() => {
          const rows = [...document.querySelectorAll('table.containers tr[data-id]')].filter((r) => {
            const box = r.getBoundingClientRect();
            return box.bottom > 0 && box.top < innerHeight;
          });
          const mem = rows.map((r) => r.querySelector('td[data-col=mem]').textContent);
          return [rows.length, mem.filter((t) => / \\/ /.test(t)).length, mem.filter((t) => t === '—').length];
        }"""
    )
    return " / ".join(str(c) for c in counts)


def start_containers(dk: docker.DockerClient, n: int) -> None:
    def one(i: int) -> None:
        dk.containers.run(BUSYBOX, "sleep 3600", name=f"{PREFIX}-{i}", detach=True, labels={LABEL: PREFIX})

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(n)))


def remove_containers(dk: docker.DockerClient) -> None:
    def one(c) -> None:
        try:
            c.remove(force=True)
        except docker.errors.NotFound:
            pass

    made = dk.containers.list(all=True, sparse=True, filters={"label": f"{LABEL}={PREFIX}"})
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, made))


def run(n: int, dk: docker.DockerClient) -> dict:
    from playwright.sync_api import sync_playwright

    running_before = len(dk.api.containers(filters={"status": "running"}))
    start_containers(dk, n)
    server = PanelServer().start()  # a fresh server per round: its sampler starts cold
    server.add_user("bench", PASSWORD, "viewer")
    pid = server.proc.pid
    try:
        idle = (threads(pid), engine_connections(pid))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.goto(server.url + "/accounts/login/")
            page.fill("input[name=username]", "bench")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/accounts/login/" not in url)
            page.goto(server.url + "/containers/")
            rows = page.locator("table.containers tr[data-id]").count()
            top = settle(pid)
            top_numbers = on_screen(page)
            page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
            bottom = settle(pid)
            bottom_numbers = on_screen(page)
            ids = page.evaluate(
                "() => [...document.querySelectorAll('table.containers tr[data-id]')].slice(0, 20)"
                ".map(r => r.dataset.id.slice(0, 12)).join(',')"
            )
            request = page.context.request
            times = []
            for _ in range(30):
                t0 = time.perf_counter()
                request.get(server.url + "/containers/stats.json?ids=" + ids).body()
                times.append(time.perf_counter() - t0)
            browser.close()
        return {
            "n": n,
            "running": running_before + n,
            "rows": rows,
            "idle": idle,
            "top": top,
            "top_numbers": top_numbers,
            "bottom": bottom,
            "bottom_numbers": bottom_numbers,
            "p50": statistics.median(times),
        }
    finally:
        server.stop()
        remove_containers(dk)


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [200]
    dk = docker.from_env(version="auto")
    try:
        rows = [run(n, dk) for n in sizes]
    finally:
        remove_containers(dk)
    print(
        "| running containers (bench's + others') | rows on the page | server idle: threads / engine connections "
        "| list open, top: threads / connections | rows on screen / with numbers / with — "
        "| scrolled to the bottom: threads / connections | rows on screen / with numbers / with — "
        "| stats.json p50 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['n']} + {r['running'] - r['n']} | {r['rows']} | {r['idle'][0]} / {r['idle'][1]} "
            f"| {r['top'][0]} / {r['top'][1]} | {r['top_numbers']} "
            f"| {r['bottom'][0]} / {r['bottom'][1]} | {r['bottom_numbers']} | {r['p50'] * 1000:.1f} ms |"
        )


if __name__ == "__main__":
    main()
