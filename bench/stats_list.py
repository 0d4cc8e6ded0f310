"""How long the list page's CPU/memory numbers take with N running containers.

Serves the panel with daphne (tests.live.PanelServer), starts N idle busybox containers, and times
GET /containers/stats.json (answered from the background sampler) against what a page would cost
with one `docker stats --no-stream`-style call per container.

    .venv/bin/python bench/stats_list.py 10 30

Writes nothing: paste the table into docs/bench-stats.md.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerpanel.settings")

import django  # noqa: E402

django.setup()

from containers import engine  # noqa: E402
from tests.conftest import BUSYBOX  # noqa: E402
from tests.live import PanelServer  # noqa: E402

PASSWORD = "bench-password-42"
PREFIX = f"dp-bench-{uuid.uuid4().hex[:6]}"


def login(server: PanelServer) -> requests.Session:
    s = requests.Session()
    s.get(server.url + "/accounts/login/")
    s.post(
        server.url + "/accounts/login/",
        data={"username": "bench", "password": PASSWORD, "csrfmiddlewaretoken": s.cookies["csrftoken"]},
        headers={"Referer": server.url + "/accounts/login/"},
    )
    return s


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(n: int, dk: docker.DockerClient) -> dict:
    made = [
        dk.containers.run(
            BUSYBOX, "sleep 3600", name=f"{PREFIX}-{n}-{i}", detach=True, labels={"dockerpanel.bench": "1"}
        )
        for i in range(n)
    ]
    ids = {c.id for c in made}
    # a fresh server per round: its sampler starts cold with the first request
    server = PanelServer().start()
    server.add_user("bench", PASSWORD, "viewer")
    try:
        session = login(server)
        url = server.url + "/containers/stats.json"
        t0 = time.perf_counter()
        first = timed(lambda: session.get(url).raise_for_status())
        while True:
            numbers = session.get(url).json()["containers"]
            if all(numbers.get(i, {}).get("cpu_percent") is not None for i in ids):
                break
            time.sleep(0.1)
        complete = time.perf_counter() - t0
        cpu_before, wall_before = process_cpu(server.proc.pid), time.perf_counter()
        time.sleep(10)  # the sampler keeps reading N streams: what does that cost the server?
        sampler_cpu = (process_cpu(server.proc.pid) - cpu_before) / (time.perf_counter() - wall_before)
        rss = process_rss(server.proc.pid)
        steady = [timed(lambda: session.get(url).raise_for_status()) for _ in range(50)]
        sequential = timed(lambda: [engine.stats_once(c.id) for c in made[: min(n, 5)]]) * n / min(n, 5)
        with ThreadPoolExecutor(max_workers=n) as pool:
            parallel = timed(lambda: list(pool.map(lambda c: engine.stats_once(c.id), made)))
        return {
            "n": n,
            "first": first,
            "complete": complete,
            "p50": statistics.median(steady),
            "p95": sorted(steady)[int(len(steady) * 0.95) - 1],
            "sequential": sequential,
            "parallel": parallel,
            "sampler_cpu": sampler_cpu,
            "rss": rss,
        }
    finally:
        server.stop()
        for c in made:
            c.remove(force=True)


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [10, 30]
    dk = docker.from_env(version="auto")
    rows = [run(n, dk) for n in sizes]
    print(
        "| running containers | first call (cold) | all N with CPU % | stats.json p50 | p95 "
        "| one stats call per container, sequential | same, N threads | server CPU while sampling | server RSS |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['n']} | {r['first'] * 1000:.0f} ms | {r['complete']:.1f} s | {r['p50'] * 1000:.1f} ms | "
            f"{r['p95'] * 1000:.1f} ms | {r['sequential']:.1f} s | {r['parallel']:.1f} s | "
            f"{r['sampler_cpu'] * 100:.1f}% of a core | {r['rss'] / 2**20:.0f} MiB |"
        )


if __name__ == "__main__":
    main()
