"""Time /containers/?all=1 with 10, 200 and 1,000 containers next to `docker ps -a` on the same engine.

Creates containers (not started) labelled dockerpanel.bench=<run> and named dp-bench-<run>-N, serves
the panel with daphne (tests/live.py), logs in, times the page, the CLI and the SDK's non-sparse
containers.list() (one inspect per container, what the panel avoids), writes docs/bench-containers.md
and removes every container it made, also on failure.
Run: .venv/bin/python bench/containers_list.py [10 200 1000]
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import django
import docker
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerpanel.settings")
django.setup()

from tests.live import PanelServer  # noqa: E402

RUN = uuid.uuid4().hex[:8]
LABEL = "dockerpanel.bench"
IMAGE = "dockerpanel-test/busybox:latest"
CLI = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
REPEAT = 5
PASSWORD = "bench-" + uuid.uuid4().hex


def median_seconds(fn, repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def grow_to(dk: docker.DockerClient, made: list[str], count: int) -> None:
    def create(i: int) -> str:
        return dk.api.create_container(IMAGE, "true", name=f"dp-bench-{RUN}-{i}", labels={LABEL: RUN})["Id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        made.extend(pool.map(create, range(len(made), count)))


def login(server: PanelServer) -> requests.Session:
    s = requests.Session()
    page = s.get(server.url + "/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    r = s.post(
        server.url + "/accounts/login/",
        data={"username": "bench", "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": server.url + "/accounts/login/"},
    )
    r.raise_for_status()
    assert "/accounts/login/" not in r.url, "login failed"
    return s


def main(sizes: list[int]) -> None:
    dk = docker.from_env(version="auto", timeout=300)
    server = PanelServer().start()
    made: list[str] = []
    results = []
    try:
        server.add_user("bench", PASSWORD, "viewer")
        session = login(server)
        for size in sizes:
            grow_to(dk, made, size)
            total = len(dk.api.containers(all=True))

            def page():
                r = session.get(server.url + "/containers/?all=1")
                r.raise_for_status()
                assert f"dp-bench-{RUN}-0" in r.text

            page()  # warm up: first request loads templates
            page_s = median_seconds(page)
            cli_s = median_seconds(lambda: subprocess.run([CLI, "ps", "-a"], capture_output=True, check=True))
            sdk_s = median_seconds(
                lambda: dk.containers.list(all=True, ignore_removed=True), repeat=1 if size >= 1000 else 3
            )
            sparse_s = median_seconds(lambda: dk.containers.list(all=True, sparse=True))
            results.append((size, total, page_s, cli_s, sparse_s, sdk_s))
            print(f"{size} bench ({total} on engine): page {page_s:.3f}s, docker ps -a {cli_s:.3f}s, sdk {sdk_s:.3f}s")
    finally:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda cid: dk.api.remove_container(cid, force=True), made))
        server.stop()
        dk.close()
    write(results)


def write(results) -> None:
    engine = subprocess.run([CLI, "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True).stdout
    lines = [
        "# /containers/ page time against `docker ps -a`",
        "",
        f"Measured by `bench/containers_list.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, engine "
        f"{engine.strip()}, {os.cpu_count()} CPUs, panel served by daphne on loopback, median of {REPEAT} requests "
        "(after one warm-up). Containers are created, not started. The engine is shared with other test runs, so "
        '"on engine" counts every container the page listed.',
        "",
        "| bench containers | on engine | `GET /containers/?all=1` | `docker ps -a` | SDK `list(sparse=True)` (one call, as the panel) | SDK `list()` (an inspect per container) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size, total, page_s, cli_s, sparse_s, sdk_s in results:
        lines.append(
            f"| {size:,} | {total:,} | {page_s * 1000:.0f} ms | {cli_s * 1000:.0f} ms | {sparse_s * 1000:.0f} ms | {sdk_s * 1000:.0f} ms |"
        )
    lines += [
        "",
        "The page makes one `/containers/json` call (`docker ps -a` makes the same one); the rest of its time is",
        "rendering the rows. The SDK's default `containers.list()` inspects each container, which is why the",
        "panel never uses it for the list.",
        "",
    ]
    out = ROOT / "docs" / "bench-containers.md"
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 200, 1000])
