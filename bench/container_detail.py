"""One container among 1,000: its detail page and opening its logs, next to `docker inspect` and
`docker logs --tail 10` on the same engine.

Creates 1,000 containers (not started) labelled dockerpanel.bench=<run> and named dp-bench-<run>-N,
plus one that printed 100 lines, serves the panel with daphne and times (median of REPEAT):
- GET /containers/<name>/ against `docker inspect <name>`;
- GET /containers/<name>/logs/download/?tail=10 and the logs websocket (?tail=10&follow=0, until
  its "end") against `docker logs --tail 10 <name>`.
With --before PATH the same is measured on a second checkout (e.g. a worktree of main) in the same
run. Writes docs/bench-container-detail.md and removes every container it made, also on failure.

    .venv/bin/python bench/container_detail.py [--count 1000] [--before /tmp/base]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.checkouts import cookie_header, login, median_s, serve  # noqa: E402

RUN = uuid.uuid4().hex[:8]
LABEL = "dockerpanel.bench"
IMAGE = "dockerpanel-test/busybox:latest"
CLI = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
REPEAT = 15
PASSWORD = "bench-" + uuid.uuid4().hex


def cli(*args: str) -> None:
    subprocess.run([CLI, *args], capture_output=True, check=True)


async def logs_socket(url: str, cookie: str, name: str) -> int:
    """Open the logs websocket for the last 10 lines, acknowledging like the page; lines received."""
    got = 0
    async with connect(
        url.replace("http://", "ws://") + f"/ws/containers/{name}/logs/?tail=10&follow=0",
        additional_headers={"Cookie": cookie},
        origin=url,
        open_timeout=30,
    ) as ws:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if message["type"] == "lines":
                got += len(message["lines"])
                await ws.send(json.dumps({"type": "ack", "seq": message["seq"]}))
            elif message["type"] in ("end", "lost", "error"):
                return got


def measure(url: str, name: str) -> dict[str, float]:
    session = login(url, "bench", PASSWORD)
    cookie = cookie_header(session)

    def detail():
        r = session.get(f"{url}/containers/{name}/", timeout=60)
        r.raise_for_status()
        assert name in r.text

    def download():
        r = session.get(f"{url}/containers/{name}/logs/download/?tail=10", timeout=60)
        r.raise_for_status()
        assert r.text.splitlines()[-1] == "100", r.text[-200:]

    def socket():
        assert asyncio.run(logs_socket(url, cookie, name)) == 10

    for warm in (detail, download, socket):
        warm()  # first request loads templates and opens the engine connection
    return {
        "detail": median_s(detail, REPEAT),
        "download": median_s(download, REPEAT),
        "socket": median_s(socket, REPEAT),
    }


def main(count: int, before: Path | None) -> None:
    dk = docker.from_env(version="auto", timeout=300)
    made: list[str] = []
    servers = []
    results: dict[str, dict[str, float]] = {}
    try:

        def create(i: int) -> str:
            return dk.api.create_container(IMAGE, "true", name=f"dp-bench-{RUN}-{i}", labels={LABEL: RUN})["Id"]

        with ThreadPoolExecutor(max_workers=8) as pool:
            made.extend(pool.map(create, range(count)))
        name = f"dp-bench-{RUN}-logs"
        target = dk.containers.run(IMAGE, ["seq", "1", "100"], name=name, labels={LABEL: RUN}, detach=True)
        made.append(target.id)
        target.wait(timeout=60)
        total = len(dk.api.containers(all=True))
        users = (("bench", PASSWORD, "viewer"),)
        servers.append(("after (this checkout)", serve(None, users)))
        if before:
            servers.append((f"before ({before})", serve(before, users)))
        for label, server in servers:
            results[label] = measure(server.url, name)
            print(label, {k: f"{v * 1000:.1f} ms" for k, v in results[label].items()})
        cli_inspect = median_s(lambda: cli("inspect", name), REPEAT)
        cli_logs = median_s(lambda: cli("logs", "--tail", "10", name), REPEAT)
        api_inspect = median_s(lambda: dk.api.inspect_container(name), REPEAT)
        api_list = median_s(lambda: dk.api.containers(all=True), 5)
    finally:
        for _, server in servers:
            server.stop()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda cid: dk.api.remove_container(cid, force=True), made))
        dk.close()
    write(count, total, results, cli_inspect, cli_logs, api_inspect, api_list)


def write(count, total, results, cli_inspect, cli_logs, api_inspect, api_list) -> None:
    engine = subprocess.run([CLI, "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True).stdout
    lines = [
        "# One container's detail page and logs at 1,000 containers",
        "",
        f"Measured by `bench/container_detail.py --count {count}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())},"
        f" engine {engine.strip()}, {os.cpu_count()} CPUs shared with other runs, panel served by daphne on "
        f"loopback, median of {REPEAT} requests after one warm-up; {total:,} containers on the engine. "
        "Ratios are to the CLI measured in the same run.",
        "",
        f"- `docker inspect C`: {cli_inspect * 1000:.1f} ms; `docker logs --tail 10 C`: {cli_logs * 1000:.1f} ms",
        f"- raw Engine API: inspect {api_inspect * 1000:.1f} ms; list all containers {api_list * 1000:.1f} ms",
        "",
        "| panel | `GET /containers/C/` | logs download `?tail=10` | logs websocket `?tail=10` until its end |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, r in results.items():
        lines.append(
            f"| {label} | {r['detail'] * 1000:.1f} ms = **{r['detail'] / cli_inspect:.2f}×** inspect "
            f"| {r['download'] * 1000:.1f} ms = **{r['download'] / cli_logs:.2f}×** logs "
            f"| {r['socket'] * 1000:.1f} ms = **{r['socket'] / cli_logs:.2f}×** logs |"
        )
    lines += [
        "",
        "Before, every request about one container listed all containers to resolve its name (one",
        "`/containers/json` of 1,000 rows), then inspected it again. Now one inspect resolves it (the engine",
        "matches full ID, exact name, then unique ID prefix, as the CLI does) and the page reuses that answer.",
        "",
    ]
    out = ROOT / "docs" / "bench-container-detail.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--before", type=Path, default=None, help="another checkout to measure in the same run")
    args = parser.parse_args()
    main(args.count, args.before)
