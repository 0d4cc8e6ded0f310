"""Time /containers/?all=1 with 10, 200 and 1,000 containers next to `docker ps -a` on the same engine.

Creates containers (not started) labelled dockerpanel.bench=<run> and named dp-bench-<run>-N, serves
the panel with daphne (tests/live.py), logs in, times the page, the CLI and the SDK's non-sparse
containers.list() (one inspect per container, what the panel avoids), the bytes on the wire (gzip
accepted) and, at the largest size, the browser's load event against a one-row page and one engine
event with 50 list pages open (50 websockets, each doing what static/js/live.js does on the page it
simulates: on a server that pushes rows, send the watch message and wait for the row; else fetch it). Writes docs/bench-containers.md and removes every container it made, also on failure.
Run: .venv/bin/python bench/containers_list.py [10 200 1000]
"""

from __future__ import annotations

import json
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
from websockets.sync.client import connect as ws_connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerpanel.settings")
django.setup()

from tests.live import CHROMIUM, CHROMIUM_ARGS, PanelServer  # noqa: E402

RUN = uuid.uuid4().hex[:8]
LABEL = "dockerpanel.bench"
IMAGE = "dockerpanel-test/busybox:latest"
CLI = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
REPEAT = 5
PAGES = 50  # list pages open for the event bench
EVENT_REPEAT = 3  # events, one after the other (memory settles in between); medians reported
HISTORY = "\n## History\n"
# What live.js waits before acting on an event: the old page debounced 150 ms, the new one coalesces 200 ms.
WAIT_OLD, WAIT_NEW = 0.15, 0.2
PASSWORD = "bench-" + uuid.uuid4().hex


def median_seconds(fn, repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired(a, b, repeat: int = 3 * REPEAT) -> tuple[float, float]:
    """Medians of `a` and `b`, timed one after the other `repeat` times."""
    times_a, times_b = [], []
    for _ in range(repeat):
        times_a.append(median_seconds(a, 1))
        times_b.append(median_seconds(b, 1))
    return statistics.median(times_a), statistics.median(times_b)


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
    extra: dict = {}
    try:
        server.add_user("bench", PASSWORD, "viewer")
        session = login(server)
        for size in sizes:
            grow_to(dk, made, size)
            total = len(dk.api.containers(all=True))

            def page():
                r = session.get(server.url + "/containers/?all=1")
                r.raise_for_status()
                assert f"dp-bench-{RUN}-" in r.text  # the newest are on the first page

            page()  # warm up: first request loads templates
            # Alternated, so the load of a shared machine weighs on both alike.
            page_s, cli_s = paired(page, lambda: subprocess.run([CLI, "ps", "-a"], capture_output=True, check=True))
            sdk_s = median_seconds(
                lambda: dk.containers.list(all=True, ignore_removed=True), repeat=1 if size >= 1000 else 3
            )
            sparse_s = median_seconds(lambda: dk.containers.list(all=True, sparse=True))
            wire = wire_bytes(session, server.url + "/containers/?all=1")
            every = median_seconds(lambda: session.get(server.url + "/containers/?all=1&size=all").raise_for_status())
            print(f"  every row on one page (size=all): {every:.3f}s ({every / cli_s:.2f}x)")
            extra.setdefault("every", []).append(
                (size, every, wire_bytes(session, server.url + "/containers/?all=1&size=all"))
            )
            results.append((size, total, page_s, cli_s, sparse_s, sdk_s, wire))
            print(
                f"{size} bench ({total} on engine): page {page_s:.3f}s ({page_s / cli_s:.2f}x), docker ps -a {cli_s:.3f}s,"
                f" sdk {sdk_s:.3f}s, {wire[0]:,} bytes on the wire ({wire[1]:,} unzipped)"
            )
        extra["browser"] = browser_load(server, session)
        print("browser load event:", extra["browser"])
        extra["event"] = event_bench(server, session, dk, made[-1])  # the newest: on every page open
        print("one event, 50 pages:", extra["event"])
    finally:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda cid: dk.api.remove_container(cid, force=True), made))
        server.stop()
        dk.close()
    write(results, extra)


def wire_bytes(session: requests.Session, url: str) -> tuple[int, int]:
    """(bytes on the wire, bytes of HTML) of one page, gzip accepted as a browser does."""
    r = session.get(url, headers={"Accept-Encoding": "gzip"}, stream=True)
    raw = r.raw.read(decode_content=False)
    return len(raw), len(_gunzip(raw)) if r.headers.get("Content-Encoding") == "gzip" else len(raw)


def _gunzip(data: bytes) -> bytes:
    import gzip

    return gzip.decompress(data)


def browser_load(server: PanelServer, session: requests.Session) -> dict:
    """Median time to the load event of the full list and of a one-row page, in Chromium."""
    from playwright.sync_api import sync_playwright

    one = f"/containers/?all=1&name=^/dp-bench-{RUN}-0$"  # a one-row page
    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.add_cookies(
            [{"name": c.name, "value": c.value, "url": server.url} for c in session.cookies if c.name == "sessionid"]
        )
        page = context.new_page()
        for label, path in (("full", "/containers/?all=1"), ("one", one)):
            page.goto(server.url + path, wait_until="load")  # warm up: static files cached, as for a user
            loads, first_bytes = [], []
            for _ in range(REPEAT):
                page.goto(server.url + path, wait_until="load")
                timing = page.evaluate(
                    "(() => { const t = performance.getEntriesByType('navigation')[0];"
                    " return [t.loadEventEnd, t.responseStart]; })()"
                )
                loads.append(timing[0] / 1000)
                first_bytes.append(timing[1] / 1000)
            out[label] = statistics.median(loads)
            out[label + "_first_byte"] = statistics.median(first_bytes)
            out[label + "_rows"] = page.evaluate("document.querySelectorAll('table.containers tr[data-id]').length")
        browser.close()
    return out


def _proc_stats(pid: int) -> tuple[float, int]:
    """(CPU seconds, RSS bytes) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    return cpu, rss


def event_bench(server: PanelServer, session: requests.Session, dk: docker.DockerClient, target: str) -> dict:
    """One engine event (a rename) with PAGES list pages open: each page's socket hears it and does
    what its live.js would (the row's fetch on the new page, the whole list's refresh on the old)."""

    html = session.get(server.url + "/containers/?all=1").text
    rows_url = re.search(r'data-rows-url="([^"]+)"', html)
    full_url = re.search(r'id="container-list" hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
    mode = "rows" if rows_url else "list"
    url = server.url + (rows_url.group(1).replace("&amp;", "&") + f"&id={target}" if rows_url else full_url)
    wait = WAIT_NEW if rows_url else WAIT_OLD
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    ws_url = server.url.replace("http://", "ws://") + "/ws/events/"
    sockets = [
        ws_connect(ws_url, additional_headers={"Cookie": cookie, "Origin": server.url}, ping_interval=None)
        for _ in range(PAGES)
    ]
    if rows_url and _watching(sockets, rows_url.group(1).replace("&amp;", "&").partition("?")[2]):
        mode = "push"  # as live.js on a server that pushes rows: the socket brings the row, no fetch
    sessions = []
    for _ in range(PAGES):
        s = requests.Session()
        s.cookies.update(session.cookies)
        sessions.append(s)
    sizes: list[int] = []
    errors: list[str] = []
    new_name = ""  # the name of the rename being waited for (push mode: the row that shows it)

    def page(i: int, done: list[float]) -> None:
        try:
            if mode == "push":
                while True:
                    message = sockets[i].recv(timeout=60)
                    event = json.loads(message)
                    if (
                        event.get("kind") == "rows"
                        and target in event["rows"]
                        and new_name in (event["rows"][target] or "")
                    ):
                        sizes.append(len(message))
                        done.append(time.perf_counter())
                        return
            while True:
                event = json.loads(sockets[i].recv(timeout=60))
                if event.get("kind") == "engine" and event.get("id") == target:
                    break
            time.sleep(wait)
            r = sessions[i].get(url, headers={"HX-Request": "true", "Accept-Encoding": "gzip"}, stream=True)
            sizes.append(len(r.raw.read(decode_content=False)))
            r.raise_for_status()
            done.append(time.perf_counter())
        except Exception as e:  # reported, not hidden
            errors.append(repr(e))

    time.sleep(2)  # let the sockets settle (connect work is not part of the event's cost)
    # The first event after start-up loads code and templates once: a warm-up, not counted.
    new_name = f"dp-bench-{RUN}-warm"
    one_event(server.proc.pid, page, dk, target, new_name)
    runs = []
    for i in range(EVENT_REPEAT):
        new_name = f"dp-bench-{RUN}-renamed{i}"
        runs.append(one_event(server.proc.pid, page, dk, target, new_name))
    for sock in sockets:
        sock.close()
    if errors:
        print("errors:", errors[:3])
    return {
        **max(runs, key=lambda r: r["rss_30s_mib"] - r["rss_before_mib"]),  # the worst for memory
        "mode": mode,
        "pages": min(r["pages"] for r in runs),
        "errors": errors[:3],
        "cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "cpu_all": [round(r["cpu_s"], 2) for r in runs],
        "all_current_s": statistics.median(r["all_current_s"] for r in runs),
        "current_all": [round(r["all_current_s"], 2) for r in runs],
        "bytes_per_page": statistics.median(sizes) if sizes else 0,
        "load": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def _watching(sockets, query: str) -> bool:
    """Each socket tells the server what its page shows, as live.js does; True if the server answers
    (it pushes rows), False for a server that does not (the page fetches them)."""
    for sock in sockets:
        sock.send(json.dumps({"watch": "containers", "query": query}))
    for sock in sockets:
        deadline = time.monotonic() + 5
        try:
            while json.loads(sock.recv(timeout=max(0.01, deadline - time.monotonic()))).get("kind") != "watching":
                pass
        except TimeoutError:
            return False
    return True


def one_event(pid: int, page, dk: docker.DockerClient, target: str, new_name: str) -> dict:
    """Rename `target` with every page waiting for it; CPU, time until all pages fetched, memory."""
    import threading

    done: list[float] = []
    cpu0, rss0 = _proc_stats(pid)
    threads = [threading.Thread(target=page, args=(i, done)) for i in range(PAGES)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    dk.api.rename(target, new_name)
    peak = rss0
    while any(t.is_alive() for t in threads):
        peak = max(peak, _proc_stats(pid)[1])
        time.sleep(0.02)
    cpu1, _ = _proc_stats(pid)
    settled = None
    while time.perf_counter() - start < 30:
        rss = _proc_stats(pid)[1]
        if rss <= rss0 * 1.05 + 2**20:
            settled = time.perf_counter() - start
            break
        time.sleep(0.5)
    if settled is None:
        time.sleep(max(0.0, 30 - (time.perf_counter() - start)))
    rss_end = _proc_stats(pid)[1]
    return {
        "cpu_s": cpu1 - cpu0,
        "pages": len(done),
        "all_current_s": (max(done) - start) if done else float("nan"),
        "rss_before_mib": rss0 / 2**20,
        "rss_peak_mib": peak / 2**20,
        "rss_30s_mib": rss_end / 2**20,
        "settled_s": settled,
    }


def write(results, extra) -> None:
    engine = subprocess.run([CLI, "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True).stdout
    lines = [
        "# /containers/ page time against `docker ps -a`",
        "",
        f"Measured by `bench/containers_list.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, engine "
        f"{engine.strip()}, {os.cpu_count()} CPUs, panel served by daphne on loopback, median of {3 * REPEAT} requests timed alternately with `docker ps -a` "
        "(after one warm-up). Containers are created, not started. The engine is shared with other test runs, so "
        '"on engine" counts every container the page listed.',
        "",
        "| bench containers | on engine | `GET /containers/?all=1` | `docker ps -a` | SDK `list(sparse=True)` (one call, as the panel) | SDK `list()` (an inspect per container) | page on the wire (gzip accepted) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size, total, page_s, cli_s, sparse_s, sdk_s, wire in results:
        lines.append(
            f"| {size:,} | {total:,} | {page_s * 1000:.0f} ms ({page_s / cli_s:.2f}×) | {cli_s * 1000:.0f} ms"
            f" | {sparse_s * 1000:.0f} ms | {sdk_s * 1000:.0f} ms | {wire[0] / 1000:.1f} KB ({wire[1] / 1000:.0f} KB unzipped) |"
        )
    for size, every, wire in extra.get("every", []):
        lines.append(
            f"\nEvery row on one page (`?all=1&size=all`) at {size:,} bench containers: {every * 1000:.0f} ms, {wire[0] / 1000:.1f} KB on the wire."
        )
    b, ev = extra.get("browser"), extra.get("event")
    if b:
        lines += [
            "",
            f"Browser (Chromium, median of {REPEAT}) load event: full page ({b['full_rows']} rows) {b['full'] * 1000:.0f} ms,"
            f" one-row page {b['one'] * 1000:.0f} ms: {b['full'] / b['one']:.2f}×. The server's answer is part of it:"
            f" first byte at {b['full_first_byte'] * 1000:.0f} ms against {b['one_first_byte'] * 1000:.0f} ms (the one-row page"
            " is filtered by name in the engine, which then lists one container, not 1,000); from the first byte to the"
            f" load event {(b['full'] - b['full_first_byte']) * 1000:.0f} ms against {(b['one'] - b['one_first_byte']) * 1000:.0f} ms.",
        ]
    if ev:
        lines += [
            "",
            f"One engine event (a rename) with {PAGES} list pages open ({ev['mode']} mode: "
            + {
                "push": "each page's socket told what it shows and pushed the row",
                "rows": "each page fetches the row",
                "list": "each page re-fetches the whole list",
            }[ev["mode"]]
            + f"), median of {EVENT_REPEAT} events after a warm-up: server CPU {ev['cpu_s']:.2f} s (each: {ev['cpu_all']}),"
            f" every page current after {ev['all_current_s']:.2f} s (each: {ev['current_all']})"
            f" ({ev['pages']} of {PAGES} pages), {ev['bytes_per_page'] / 1000:.1f} KB per page on the wire;"
            f" load average {ev['load']};"
            f" server memory (the event that kept most) {ev['rss_before_mib']:.0f} MiB before, {ev['rss_peak_mib']:.0f} MiB at peak,"
            f" {ev['rss_30s_mib']:.0f} MiB at the end"
            + (
                f" (back within 5 % after {ev['settled_s']:.1f} s)."
                if ev["settled_s"] is not None
                else " (not back within 30 s)."
            ),
        ]
    lines += [
        "",
        "The page makes one `/containers/json` call (`docker ps -a` makes the same one); the rest of its time is",
        "rendering the rows. The SDK's default `containers.list()` inspects each container, which is why the",
        "panel never uses it for the list.",
        "",
    ]
    out = ROOT / "docs" / "bench-containers.md"
    # The hand-written history below the measurements (before/after a change) survives a new run.
    kept = out.read_text().partition(HISTORY)[2] if out.exists() else ""
    out.write_text("\n".join(lines) + (HISTORY + kept if kept else ""))
    print(f"wrote {out}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 200, 1000])
