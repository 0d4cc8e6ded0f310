"""Churn containers on the engine, as a busy team or CI neighbour does: create, start, stop, remove.

Bounded: it ends after --seconds or --cycles, whichever comes first, and removes every container it
made (they carry the label dockerpanel.churn=<its pid>), also when interrupted. Used to check that the live
updates and the terminal hold up on a busy engine (issue 20):

    .venv/bin/python scripts/churn.py --seconds 4000 &
    for i in $(seq 20); do .venv/bin/pytest -q -p no:randomly tests/test_live_updates.py tests/test_terminal.py || break; done
    kill %1
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import sys
import threading
import time

import docker

LABEL = "dockerpanel.churn"
IMAGE = "dockerpanel-test/busybox:latest"


def cycle(client: docker.DockerClient, name: str) -> None:
    container = client.containers.create(IMAGE, "sleep 600", name=name, labels={LABEL: str(os.getpid())})
    try:
        container.start()
        container.stop(timeout=0)
    finally:
        container.remove(force=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600, help="stop after this long (default 600)")
    parser.add_argument("--cycles", type=int, default=100_000, help="stop after this many containers in all")
    parser.add_argument("--workers", type=int, default=3, help="containers churned at once (default 3)")
    args = parser.parse_args()

    client = docker.from_env(timeout=60)
    client.images.get(IMAGE)  # fails clearly when the test images are missing (make engine)
    deadline = time.monotonic() + args.seconds
    counter = itertools.count()
    done = itertools.count()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    errors: list[str] = []

    def work() -> None:
        while not stop.is_set() and time.monotonic() < deadline:
            n = next(counter)
            if n >= args.cycles:
                return
            try:
                cycle(client, f"churn-{os.getpid()}-{n}")
                next(done)
            except docker.errors.DockerException as e:
                errors.append(str(e))
                time.sleep(1)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(args.workers)]
    for t in threads:
        t.start()
    try:
        while any(t.is_alive() for t in threads):
            time.sleep(0.5)
    except KeyboardInterrupt:
        stop.set()
    for t in threads:
        t.join(timeout=30)
    for leftover in client.api.containers(all=True, filters={"label": f"{LABEL}={os.getpid()}"}):
        try:
            client.api.remove_container(leftover["Id"], force=True)
        except docker.errors.NotFound:
            pass
    print(f"churn: {next(done)} containers created, started, stopped and removed; {len(errors)} errors")
    for e in errors[:5]:
        print("  ", e, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
