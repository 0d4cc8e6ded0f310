"""Live logs under a flood: lines per second reaching a real page next to `docker logs -f`.

A container prints numbered lines (5,000 every 0.1 s: about 50,000 lines a second; or with
--rate max as fast as the engine's log driver takes them). For each panel served (this checkout,
and with --before PATH another one, e.g. a worktree of main), Debian's chromium opens the logs page
with ?tail=0 while `docker logs -f --tail 0` reads the same container; every second the bench records
what each has received, the lines the server skipped, the newest number shown against the newest
printed, the page's JS heap and the daphne process's RSS. Writes docs/bench-logs.md.

    .venv/bin/python bench/logs_flood.py [--seconds 20] [--before /tmp/base]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerpanel.settings")

import django  # noqa: E402

django.setup()

from bench.checkouts import cookie_header, login, process_cpu, process_rss, serve  # noqa: E402
from tests.conftest import BUSYBOX  # noqa: E402
from tests.live import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PASSWORD = "bench-password-42"
CLI = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
FLOODS = {
    # 5,000 numbered lines every 0.1 s; the numbers say how many were printed
    "50k": "i=1; while :; do seq $i $((i+4999)); i=$((i+5000)); sleep 0.1; done",
    "max": "seq 1 1000000000",
}
NOTES = """
How to read it: "skipped by the server" is what the page was told it missed; "lag" is how far the
newest line received was behind the newest line the CLI had at the same second. Before, a fixed
50 ms pause after every batch capped delivery and the server skipped lines even while the page
acknowledged everything. Now sending is paced by acknowledgements only and, while the client keeps
acknowledging, a full buffer holds back the reading of the engine instead of skipping: nothing is
skipped in any "after" row, and daphne's memory stays flat. A client that stops acknowledging for
2 s (paused or hidden page) gets lines skipped and counted as before (tests/test_logs.py).
"""
WARMUP = 3  # seconds before the measured window: page load, socket, first batches


class CliFollower:
    """`docker logs -f --tail 0 C`, counting the lines it prints and remembering the last."""

    def __init__(self, name: str):
        self.proc = subprocess.Popen([CLI, "logs", "-f", "--tail", "0", name], stdout=subprocess.PIPE, bufsize=1 << 20)
        self.count = 0
        self.last = 0
        threading.Thread(target=self.read, daemon=True).start()

    def read(self) -> None:
        for line in self.proc.stdout:
            self.count += 1
            self.last = int(line)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


class SocketFollower:
    """The logs websocket read by a script that acknowledges each batch at once (a page that always
    keeps up): what the server delivers when the browser is not the limit."""

    def __init__(self, url: str, cookie: str, name: str):
        self.count = 0
        self.skipped = 0
        self.last = 0
        self.stop_at = None
        self.thread = threading.Thread(target=asyncio.run, args=(self.run(url, cookie, name),), daemon=True)
        self.thread.start()

    async def run(self, url: str, cookie: str, name: str) -> None:
        from websockets.asyncio.client import connect

        async with connect(
            url.replace("http://", "ws://") + f"/ws/containers/{name}/logs/?tail=0",
            additional_headers={"Cookie": cookie},
            origin=url,
            max_size=None,
        ) as ws:
            while self.stop_at is None:
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 1))
                except TimeoutError:
                    continue
                if message["type"] == "lines":
                    await ws.send(json.dumps({"type": "ack", "seq": message["seq"]}))
                    self.count += len(message["lines"])
                    self.skipped += message["dropped"]
                    if message["lines"]:
                        self.last = int(message["lines"][-1][2])

    def stop(self) -> None:
        self.stop_at = time.monotonic()
        self.thread.join(10)


def follow_socket(server, container, seconds: int) -> dict:
    """The same window as follow(), with SocketFollower instead of a browser."""
    session = login(server.url, "bench", PASSWORD)
    cli = CliFollower(container.name)
    sock = SocketFollower(server.url, cookie_header(session), container.name)
    rows = []
    started = time.monotonic()
    try:
        for second in range(WARMUP + seconds + 1):
            time.sleep(max(0.0, started + second - time.monotonic()))
            rows.append(
                {
                    "t": time.monotonic() - started,
                    "cli": cli.count,
                    "cli_last": cli.last,
                    "shown": sock.count,
                    "skipped": sock.skipped,
                    "last": sock.last,
                    "rss": process_rss(server.proc.pid),
                    "cpu": process_cpu(server.proc.pid),
                    "heap": 0,
                }
            )
    finally:
        sock.stop()
        cli.stop()
    return summary(rows, rows[0]["rss"])


def follow(server, container, seconds: int) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(server.url + "/accounts/login/")
        page.fill("input[name=username]", "bench")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        rss_before = process_rss(server.proc.pid)
        cli = CliFollower(container.name)
        page.goto(f"{server.url}/containers/{container.name}/logs/?tail=0")
        started = time.monotonic()
        rows = []
        try:
            for second in range(WARMUP + seconds + 1):
                time.sleep(max(0.0, started + second - time.monotonic()))
                state = page.evaluate(
                    """() => { const v = window.dockerPanelLogViewer; const last = v.lines[v.lines.length - 1];
                      return {shown: v.lines.length + v.removed, skipped: v.skipped,
                              last: last ? Number(last.text) : 0,
                              heap: performance.memory ? performance.memory.usedJSHeapSize : 0}; }"""
                )
                rows.append(
                    {
                        "t": time.monotonic() - started,
                        "cli": cli.count,
                        "cli_last": cli.last,
                        "rss": process_rss(server.proc.pid),
                        "cpu": process_cpu(server.proc.pid),
                        **state,
                    }
                )
        finally:
            cli.stop()
            browser.close()
    return summary(rows, rss_before)


def summary(rows: list[dict], rss_before: int) -> dict:
    a, b = rows[WARMUP], rows[-1]
    span = b["t"] - a["t"]
    return {
        "page_rate": (b["shown"] - a["shown"]) / span,
        "cli_rate": (b["cli"] - a["cli"]) / span,
        "skipped": b["skipped"] - a["skipped"],
        "lag": max(r["cli_last"] - r["last"] for r in rows[WARMUP:]),
        "lag_end": b["cli_last"] - b["last"],
        "rss_before": rss_before,
        "rss_max": max(r["rss"] for r in rows),
        "heap_max": max(r["heap"] for r in rows),
        "cpu": (b["cpu"] - a["cpu"]) / span,
    }


def main(seconds: int, before: Path | None, rates: list[str]) -> None:
    dk = docker.from_env(version="auto")
    users = (("bench", PASSWORD, "viewer"),)
    servers = [("after (this checkout)", serve(None, users))]
    results = []
    try:
        if before:
            servers.append((f"before ({before})", serve(before, users)))
        for rate in rates:
            container = dk.containers.run(
                BUSYBOX,
                ["sh", "-c", FLOODS[rate]],
                name=f"dp-bench-flood-{uuid.uuid4().hex[:6]}",
                detach=True,
                labels={"dockerpanel.bench": "1"},
                log_config={"type": "json-file", "config": {"max-size": "50m", "max-file": "2"}},
            )
            try:
                for label, server in servers:
                    for client, measure in (("chromium page", follow), ("script acking at once", follow_socket)):
                        r = measure(server, container, seconds)
                        results.append((rate, f"{label}, {client}", r))
                        print(rate, label, client, {k: round(v, 2) for k, v in r.items()})
            finally:
                container.remove(force=True)
    finally:
        for _, server in servers:
            server.stop()
        dk.close()
    write(seconds, results)


def write(seconds: int, results) -> None:
    engine = subprocess.run([CLI, "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True).stdout
    lines = [
        "# Live logs under a flood, against `docker logs -f`",
        "",
        f"Measured by `bench/logs_flood.py --seconds {seconds}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())},"
        f" engine {engine.strip()}, {os.cpu_count()} CPUs shared with other runs; panel served by daphne on loopback,"
        " the logs page (`?tail=0`) in headless Debian chromium, `docker logs -f --tail 0` on the same container"
        f" at the same time; a {seconds} s window after {WARMUP} s of warm-up. "
        '"50k": 5,000 numbered lines every 0.1 s; "max": `seq` as fast as the log driver takes it.',
        "",
        "| flood | panel, client | lines/s received | `docker logs -f` lines/s | ratio | skipped by the server | "
        "max lag behind the CLI (lines) | daphne RSS before → max | daphne CPU | page JS heap max |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for rate, label, r in results:
        lines.append(
            f"| {rate} | {label} | {r['page_rate']:,.0f} | {r['cli_rate']:,.0f} | "
            f"**{r['page_rate'] / r['cli_rate']:.2f}×** | {r['skipped']:,} | {r['lag']:,} | "
            f"{r['rss_before'] / 2**20:.0f} → {r['rss_max'] / 2**20:.0f} MiB | {r['cpu'] * 100:.0f}% | "
            f"{r['heap_max'] / 2**20:.0f} MiB |"
        )
    lines += NOTES.splitlines()
    out = ROOT / "docs" / "bench-logs.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerpanel.settings")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--before", type=Path, default=None, help="another checkout to measure in the same run")
    parser.add_argument("--rate", action="append", choices=sorted(FLOODS), help="50k (default) and/or max")
    args = parser.parse_args()
    main(args.seconds, args.before, args.rate or ["50k", "max"])
