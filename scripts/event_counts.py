"""Count the engine's own events for N pause/unpause pairs and N renames of one container (issue 20).

dockerd logs pause and unpause when the API call is made and again when containerd reports the change
late (moby daemon/monitor.go), so on a busy engine some pairs come twice; renames come once each.
Run it beside scripts/churn.py to see it:

    .venv/bin/python scripts/event_counts.py --pairs 150
"""

from __future__ import annotations

import argparse
import collections
import os
import threading
import time

import docker

IMAGE = "dockerpanel-test/busybox:latest"


def count(client: docker.DockerClient, box, change, n: int) -> collections.Counter:
    api = docker.APIClient(timeout=600)
    stream = api.events(decode=True, filters={"container": box.id})
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(e["Action"] for e in stream), daemon=True)
    reader.start()
    time.sleep(1)
    for i in range(n):
        change(i)
    time.sleep(5)  # late events
    stream.close()
    return collections.Counter(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=150)
    args = parser.parse_args()
    client = docker.from_env(timeout=60)
    name = f"event-counts-{os.getpid()}"
    box = client.containers.run(IMAGE, "sleep 600", detach=True, name=name, labels={"dockerpanel.churn": "1"})
    try:
        paused = count(client, box, lambda i: (box.pause(), box.unpause()), args.pairs)
        renamed = count(client, box, lambda i: box.rename(f"{name}-{i}"), args.pairs)
    finally:
        box.remove(force=True)
    print(f"{args.pairs} pause+unpause pairs -> pause {paused['pause']}, unpause {paused['unpause']}")
    print(f"{args.pairs} renames -> rename {renamed['rename']}")


if __name__ == "__main__":
    main()
