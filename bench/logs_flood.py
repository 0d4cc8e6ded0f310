"""A container printing ~50,000 lines a second, followed live by a real page: does the server's
memory stay flat and the page stay responsive?

Serves the panel with daphne, opens the logs page in Debian's chromium, and every second records
the daphne process's RSS, the page's line count and JS heap, how long the page takes to answer, and
how far the shown lines lag behind the printed ones.

    .venv/bin/python bench/logs_flood.py [seconds]
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stats_list import process_cpu, process_rss  # noqa: E402
from tests.conftest import BUSYBOX  # noqa: E402
from tests.live import CHROMIUM, CHROMIUM_ARGS, PanelServer  # noqa: E402

PASSWORD = "bench-password-42"
# 5,000 numbered lines every 0.1 s: about 50,000 lines a second; the numbers say how many were printed
FLOOD = "i=1; while :; do seq $i $((i+4999)); i=$((i+5000)); sleep 0.1; done"


def main() -> None:
    from playwright.sync_api import sync_playwright

    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    dk = docker.from_env(version="auto")
    server = PanelServer().start()
    server.add_user("bench", PASSWORD, "viewer")
    container = dk.containers.run(
        BUSYBOX,
        ["sh", "-c", FLOOD],
        name=f"dp-bench-flood-{uuid.uuid4().hex[:6]}",
        detach=True,
        labels={"dockerpanel.bench": "1"},
        log_config={"type": "json-file", "config": {"max-size": "50m", "max-file": "2"}},
    )
    rows = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(server.url + "/accounts/login/")
            page.fill("input[name=username]", "bench")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/accounts/login/" not in url)
            rss_before = process_rss(server.proc.pid)
            cpu_before = process_cpu(server.proc.pid)
            started = time.monotonic()
            page.goto(f"{server.url}/containers/{container.name}/logs/?tail=0")
            for second in range(1, seconds + 1):
                time.sleep(max(0.0, started + second - time.monotonic()))
                t0 = time.perf_counter()
                state = page.evaluate(
                    """() => { const v = window.dockerPanelLogViewer; const last = v.lines[v.lines.length - 1];
                      return {lines: v.lines.length, removed: v.removed, skipped: v.skipped,
                              last: last ? Number(last.text) : 0,
                              heap: performance.memory ? performance.memory.usedJSHeapSize : 0}; }"""
                )
                answer = time.perf_counter() - t0
                printed = int(container.logs(tail=1).strip() or 0)
                rows.append(
                    {"t": second, "rss": process_rss(server.proc.pid), "answer": answer, "printed": printed, **state}
                )
            cpu = (process_cpu(server.proc.pid) - cpu_before) / (time.monotonic() - started)
            browser.close()
    finally:
        container.remove(force=True)
        server.stop()
    print(
        f"server RSS before following: {rss_before / 2**20:.0f} MiB; server CPU while following: {cpu * 100:.0f}% of a core"
    )
    print(
        "| s | printed so far | lines on page | removed from page | skipped by server | lag (lines) | page answers in | page JS heap | server RSS |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r["t"] in (1, 2, 5) or r["t"] % 10 == 0:
            print(
                f"| {r['t']} | {r['printed']:,} | {r['lines']:,} | {r['removed']:,} | {r['skipped']:,} | "
                f"{max(r['printed'] - r['last'], 0):,} | {r['answer'] * 1000:.0f} ms | {r['heap'] / 2**20:.0f} MiB | "
                f"{r['rss'] / 2**20:.0f} MiB |"
            )
    last = rows[-1]
    print(f"rate printed: {last['printed'] / last['t']:,.0f} lines/s")


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerpanel.settings")
    main()
