"""Measure the in-browser terminal against a daphne-served panel on 127.0.0.1 and a real engine.

    .venv/bin/python bench/terminal.py [--mb 20] [--sessions 50] [--before /tmp/base] [--only-echo]

Prints a Markdown report (docs/bench-terminal.md holds one run):
- keystroke echo latency of the websocket terminal next to `docker exec -it` under a pty (Python's
  pty module) in the same run, and with --before PATH of a second checkout (e.g. a worktree of
  main) too, with output throughput for each;
- output throughput to a websocket client (acknowledging like the page) vs `docker exec -t C cat FILE`;
- time from opening the websocket to the first prompt byte (busybox sh, debian bash);
- keystroke echo latency, p50/p99, idle and while another session floods (`yes`);
- N concurrent sessions: server memory per session, echo latency with all typing at once, and the
  time to open and close them all (including the hang-up of each shell).
Everything it creates is labelled and removed at the end; loops are bounded; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pty
import select
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs

import docker
import requests
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.checkouts import serve  # noqa: E402
from tests.live import PanelServer  # noqa: E402

BUSYBOX = "dockerpanel-test/busybox:latest"
DEBIAN = "debian:bookworm"
LABEL = "dockerpanel.bench"
ACK_EVERY = 32 * 1024
ECHO_ROUNDS = 10  # turns of typing, alternating between the CLI and the panels
PASSWORD = "bench-password-42"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    return f"p50 {pct(values, 50) * 1000:.1f} ms, p99 {pct(values, 99) * 1000:.1f} ms (n={len(values)})"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def login_cookie(url: str) -> str:
    s = requests.Session()
    s.get(url + "/accounts/login/", timeout=10)
    r = s.post(
        url + "/accounts/login/",
        data={"username": "operator", "password": PASSWORD, "csrfmiddlewaretoken": s.cookies["csrftoken"]},
        headers={"Referer": url + "/accounts/login/"},
        timeout=10,
    )
    r.raise_for_status()
    return "; ".join(f"{k}={v}" for k, v in s.cookies.items())


class Session:
    """One terminal websocket, acknowledging output as the page does."""

    def __init__(self, ws):
        self.ws = ws
        self.output = bytearray()
        self.unacked = 0
        self.status: dict | None = None

    @classmethod
    async def open(cls, base: str, cookie: str, path: str) -> Session:
        """Connect; for exec, the options written as a query here go in the first frame, as the page sends them."""
        path, _, query = path.partition("?")
        ws = await connect(
            base.replace("http://", "ws://") + path,
            additional_headers={"Cookie": cookie},
            origin=base,
            compression=None,
            max_size=None,
            open_timeout=30,
        )
        if path.endswith("/exec/"):
            options = {k: v[-1] for k, v in parse_qs(query).items()}
            await ws.send(json.dumps({"type": "open", **options}))
        return cls(ws)

    async def frame(self, wait_s: float = 30) -> bytes | None:
        msg = await asyncio.wait_for(self.ws.recv(), wait_s)
        if isinstance(msg, str):
            self.status = json.loads(msg)
            return None
        self.output += msg
        self.unacked += len(msg)
        if self.unacked >= ACK_EVERY:
            try:
                await self.ws.send(json.dumps({"type": "ack", "bytes": self.unacked}))
            except ConnectionClosed:
                pass  # the output ended and the server closed meanwhile: its status frame is already here
            self.unacked = 0
        return msg

    async def until(self, needle: bytes, wait_s: float = 30) -> None:
        deadline = time.monotonic() + wait_s
        while needle not in self.output[-4096:]:
            if self.status is not None or time.monotonic() > deadline:
                raise RuntimeError(f"no {needle!r}: {bytes(self.output[-200:])!r} {self.status}")
            await self.frame(deadline - time.monotonic())

    async def echo_latency(self, count: int) -> list[float]:
        """Type `count` characters one at a time, timing each until the tty echoes it."""
        times = []
        for i in range(count):
            if i and i % 40 == 0:
                await self.ws.send(b"\x15")  # Ctrl-U: keep the line short
                await asyncio.sleep(0.01)
            mark = len(self.output)
            t0 = time.perf_counter()
            await self.ws.send(b"x")
            while b"x" not in self.output[mark:]:
                await self.frame()
            times.append(time.perf_counter() - t0)
        await self.ws.send(b"\x15")
        return times

    async def close(self) -> None:
        await self.ws.close()


def cli_echo_latency(box, count: int) -> list[float]:
    """`docker exec -it C sh` under a pty, typed into as Session.echo_latency types."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI on the pty's other end
        os.execvp("docker", ["docker", "exec", "-it", box.name, "sh"])
    output = bytearray()

    def read(wait_s: float = 30) -> None:
        ready, _, _ = select.select([fd], [], [], wait_s)
        if not ready:
            raise RuntimeError(f"docker exec -it: nothing within {wait_s} s: {bytes(output[-200:])!r}")
        output.extend(os.read(fd, 65536))

    try:
        while b"# " not in output:
            read()
        times = []
        for i in range(count):
            if i and i % 40 == 0:
                os.write(fd, b"\x15")  # Ctrl-U: keep the line short
                time.sleep(0.01)
                while select.select([fd], [], [], 0)[0]:
                    output.extend(os.read(fd, 65536))
            mark = len(output)
            t0 = time.perf_counter()
            os.write(fd, b"x")
            while b"x" not in output[mark:]:
                read()
            times.append(time.perf_counter() - t0)
        os.write(fd, b"\x15exit\r")
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
    return times


async def compare(servers, box, size: int, keys: int, rounds: int = ECHO_ROUNDS) -> list[str]:
    """Echo (idle, and while another session floods) and throughput for each panel served.

    The idle echo is typed in `rounds` turns, the CLI then each panel in every turn, so that a shared
    machine's load, which drifts within seconds, weighs on the CLI and the panels alike."""
    sessions = []
    for label, server in servers:
        cookie = login_cookie(server.url)
        s = await Session.open(server.url, cookie, f"/ws/containers/{box.name}/exec/?cmd=sh")
        await s.until(b"# ")
        sessions.append((label, server, cookie, s))
    cli_times: list[float] = []
    idle: dict[str, list[float]] = {label: [] for label, *_ in sessions}
    for turn in range(rounds):
        count = keys // rounds + (1 if turn < keys % rounds else 0)
        cli_times += await asyncio.to_thread(cli_echo_latency, box, count)
        for label, _server, _cookie, s in sessions:
            idle[label] += await s.echo_latency(count)
    rows = []
    for label, server, cookie, s in sessions:
        await s.close()
        flooded = await echo_under_flood(server.url, cookie, box, keys)
        rounds_ = await throughput_rounds(server.url, cookie, box, size)
        rows.append((label, idle[label], flooded[:-1], flooded[-1], rounds_))
    cli50, cli99 = pct(cli_times, 50), pct(cli_times, 99)
    lines = [
        "| panel | echo idle p50 / p99 | p50 − CLI p50 | p99 / CLI p99 | echo while another session floods "
        "| websocket `cat` throughput (3 rounds, MB/s) | `docker exec -t cat` (MB/s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| `docker exec -it` under a pty | {cli50 * 1000:.2f} / {cli99 * 1000:.2f} ms | | | | | |",
    ]
    for label, idle, flooded, flood_bytes, rounds in rows:
        p50, p99 = pct(idle, 50), pct(idle, 99)
        lines.append(
            f"| {label} | {p50 * 1000:.2f} / {p99 * 1000:.2f} ms | **{(p50 - cli50) * 1000:+.2f} ms** "
            f"| **{p99 / cli99:.2f}×** | {pct(flooded, 50) * 1000:.2f} / {pct(flooded, 99) * 1000:.2f} ms "
            f"({flood_bytes / 1e6:.1f} MB flooded) | "
            + ", ".join(f"{ws_bytes / ws_s / 1e6:.1f}" for _, _, ws_bytes, ws_s in rounds)
            + " | "
            + ", ".join(f"{cli_bytes / cli_s / 1e6:.1f}" for cli_bytes, cli_s, _, _ in rounds)
            + " |"
        )
    return lines


async def throughput_rounds(base: str, cookie: str, box, size: int) -> list[tuple[int, float, int, float]]:
    rounds = []
    for _ in range(3):
        t0 = time.perf_counter()
        out = await asyncio.to_thread(
            subprocess.run,
            ["docker", "exec", "-t", box.name, "cat", "/tmp/big"],
            capture_output=True,
            timeout=300,
            check=True,
        )
        cli_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        s = await Session.open(base, cookie, f"/ws/containers/{box.name}/exec/?cmd=cat%20/tmp/big")
        while s.status is None:
            await s.frame()
        ws_s = time.perf_counter() - t0
        await s.close()
        rounds.append((len(out.stdout), cli_s, len(s.output), ws_s))
    return rounds


async def throughput(base: str, cookie: str, box, size: int) -> list[str]:
    rounds = await throughput_rounds(base, cookie, box, size)
    lines = []
    for n, (cli_bytes, cli_s, ws_bytes, ws_s) in enumerate(rounds, 1):
        lines.append(
            f"| {n} | {cli_bytes / 1e6:.1f} MB in {cli_s:.2f} s = **{cli_bytes / cli_s / 1e6:.0f} MB/s** "
            f"| {ws_bytes / 1e6:.1f} MB in {ws_s:.2f} s = **{ws_bytes / ws_s / 1e6:.0f} MB/s** |"
        )
    return lines


async def first_byte(base: str, cookie: str, box, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        s = await Session.open(base, cookie, f"/ws/containers/{box.name}/exec/")
        await s.frame()
        times.append(time.perf_counter() - t0)
        await s.close()
    return times


def cli_exec(box, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        subprocess.run(["docker", "exec", box.name, "true"], check=True, timeout=60)
        times.append(time.perf_counter() - t0)
    return times


async def echo_under_flood(base: str, cookie: str, box, count: int) -> list[float]:
    flood = await Session.open(base, cookie, f"/ws/containers/{box.name}/exec/?cmd=yes")
    stop = asyncio.Event()

    async def drain():
        while not stop.is_set():
            try:
                await flood.frame()
            except Exception:
                return

    drainer = asyncio.create_task(drain())
    await asyncio.sleep(1)
    typist = await Session.open(base, cookie, f"/ws/containers/{box.name}/exec/?cmd=sh")
    await typist.until(b"# ")
    times = await typist.echo_latency(count)
    stop.set()
    await typist.close()
    await flood.close()
    drainer.cancel()
    flooded = len(flood.output)
    return times + [flooded]


async def concurrent(base: str, cookie: str, box, server: PanelServer, n: int, keys: int) -> dict:
    await asyncio.sleep(1)
    before = rss_kib(server.proc.pid)
    t0 = time.perf_counter()
    sessions = await asyncio.gather(
        *(Session.open(base, cookie, f"/ws/containers/{box.name}/exec/?cmd=sh") for _ in range(n))
    )
    await asyncio.gather(*(s.until(b"# ") for s in sessions))
    open_s = time.perf_counter() - t0
    await asyncio.sleep(1)
    during = rss_kib(server.proc.pid)
    results = await asyncio.gather(*(s.echo_latency(keys) for s in sessions))
    t0 = time.perf_counter()
    page = await asyncio.to_thread(requests.get, base + "/healthz", timeout=30)
    page_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    await asyncio.gather(*(s.close() for s in sessions))
    close_s = time.perf_counter() - t0
    # the hang-ups run after the sockets close: time until no session shell is left (at most 30 s)
    count = "ps -o pid,stat,args | awk '$1 != 1 && $2 != \"Z\" && NF == 3 && $3 ~ /sh$/' | wc -l"
    shells = ""
    for _ in range(120):
        shells = (await asyncio.to_thread(box.exec_run, ["sh", "-c", count])).output.decode().strip()
        if shells == "0":
            break
        await asyncio.sleep(0.25)
    cleaned_s = time.perf_counter() - t0
    return {
        "before": before,
        "during": during,
        "per_session": (during - before) / n,
        "open_s": open_s,
        "close_s": close_s,
        "echo": [t for r in results for t in r],
        "page_s": page_s,
        "page_status": page.status_code,
        "leftover": shells,
        "cleaned_s": cleaned_s,
    }


async def main(args) -> None:
    dk = docker.from_env(version="auto")
    run = uuid.uuid4().hex[:8]
    users = (("operator", PASSWORD, "operator"),)
    server = serve(None, users)
    servers = [("after (this checkout)", server)]
    boxes = []
    try:
        if args.before:
            servers.append((f"before ({args.before})", serve(args.before, users)))
        cookie = login_cookie(server.url)
        labels = {LABEL: run}
        box = dk.containers.run(
            BUSYBOX, "sh", name=f"dp-bench-{run}", tty=True, stdin_open=True, detach=True, labels=labels
        )
        deb = dk.containers.run(DEBIAN, "sleep 3600", name=f"dp-bench-{run}-deb", detach=True, labels=labels)
        boxes += [box, deb]
        size = args.mb * 1_000_000
        box.exec_run(
            ["sh", "-c", f"yes 'the quick brown fox jumps over the lazy dog 0123456789' | head -c {size} > /tmp/big"]
        )

        head = [
            "# Terminal benchmark",
            "",
            f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `bench/terminal.py --mb {args.mb} "
            f"--sessions {args.sessions} --keys {args.keys}{' --only-echo' if args.only_echo else ''}"
            f"{' --before <a worktree of main>' if args.before else ''}`: daphne (one process per checkout) on 127.0.0.1, "
            f"Docker {dk.version()['Version']}, {os.cpu_count()} cores shared with other runs; the client is "
            "the `websockets` library acknowledging output every 32 KiB as the page does.",
            "",
            "## Keystroke echo against `docker exec -it` under a pty, same run",
            "",
            f"{args.keys} characters typed into busybox `sh`, each as soon as the previous one's echo arrived "
            "(a fast typist); the CLI is `docker exec -it C sh` on a pty made by Python's pty module. Typed in "
            f"{ECHO_ROUNDS} turns, the CLI then each panel in every turn, so that they share the machine's load.",
            "",
            *(await compare(servers, box, size, args.keys)),
            "",
        ]
        if args.only_echo:
            print("\n".join(head))
            return
        report = [
            *head,
            f"## Output throughput ({args.mb} MB text file, `cat` on a tty)",
            "",
            "| round | `docker exec -t C cat FILE` | websocket `/ws/containers/C/exec/?cmd=cat FILE` |",
            "|---|---|---|",
            *(await throughput(server.url, cookie, box, size)),
            "",
            "Both include starting the exec; the websocket column also includes the handshake, login check, "
            "exit status and hang-up.",
            "",
            "## Time from opening the websocket to the first prompt byte",
            "",
            f"- busybox `sh`: {ms(await first_byte(server.url, cookie, box, 20))}",
            f"- debian `bash` (default shell: bash, else sh): {ms(await first_byte(server.url, cookie, deb, 20))}",
            f"- for reference, the whole of `docker exec C true` with the CLI: {ms(cli_exec(box, 20))}",
            "",
            "## Keystroke echo latency (one character typed, until the tty echo arrives)",
            "",
        ]
        s = await Session.open(server.url, cookie, f"/ws/containers/{box.name}/exec/?cmd=sh")
        await s.until(b"# ")
        report.append(f"- idle server: {ms(await s.echo_latency(300))}")
        await s.close()
        flooded = await echo_under_flood(server.url, cookie, box, 200)
        report.append(
            f"- while another session floods (`yes`, {flooded[-1] / 1e6:.0f} MB delivered meanwhile): {ms(flooded[:-1])}"
        )
        c = await concurrent(server.url, cookie, box, server, args.sessions, 40)
        report += [
            "",
            f"## {args.sessions} concurrent sessions (busybox `sh`, one container)",
            "",
            f"- daphne RSS: {c['before'] / 1024:.1f} MiB before, {c['during'] / 1024:.1f} MiB with the sessions open: "
            f"**{c['per_session']:.0f} KiB per session**",
            f"- opening all {args.sessions} at once until every prompt arrived: {c['open_s']:.2f} s",
            f"- echo latency with all {args.sessions} typing at once: {ms(c['echo'])}",
            f"- `GET /healthz` right after (HTTP {c['page_status']}): {c['page_s'] * 1000:.0f} ms",
            f"- closing all {args.sessions} sockets at once: every shell hung up {c['cleaned_s']:.1f} s later "
            f"(shells left then: {c['leftover']}); the hang-ups are one `kill` exec each, on the terminal's "
            "16 engine threads, so this is the engine's exec rate under load",
            "",
        ]
        print("\n".join(report))
    finally:
        for b in boxes:
            b.remove(force=True)
        for _, each in servers:
            each.stop()
        dk.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--keys", type=int, default=300, help="characters typed per echo measurement")
    parser.add_argument("--before", type=Path, default=None, help="another checkout to measure in the same run")
    parser.add_argument("--only-echo", action="store_true", help="only the comparison section")
    asyncio.run(main(parser.parse_args()))
