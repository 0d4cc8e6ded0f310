"""Capture real engine data and the docker CLI's rendering of it, for tests/test_cli_render.py.

Makes a few labelled containers (running with ports, created, exited, paused), records
/containers/json, inspect, /images/json and history next to what `docker ps`/`docker images`/
`docker history` print at the same moment, writes tests/data/cli_capture.json, removes the containers.
With --size: containers that wrote files, /containers/json?size=1 next to `docker ps -a -s`'s SIZE, in
tests/data/cli_capture_size.json (only that file is written).
Run: .venv/bin/python scripts/capture_cli_data.py [--size] [CLI]  (default: the current CLI, 28, in /usr/local/bin)
"""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import docker

ARGS = [a for a in sys.argv[1:] if a != "--size"]
CLI = ARGS[0] if ARGS else "/usr/local/bin/docker"
IMAGE = "dockerpanel-test/busybox:latest"
LABELS = {"dockerpanel.test": "1", "dockerpanel.capture": "1"}
OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "cli_capture.json"
OUT_SIZE = OUT.with_name("cli_capture_size.json")
PS_FORMAT = "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"


def two_free_ports() -> int:
    for _ in range(50):
        with socket.socket() as a:
            a.bind(("", 0))
            first = a.getsockname()[1]
            try:
                with socket.socket() as b:
                    b.bind(("", first + 1))
                    return first
            except OSError:
                continue
    raise SystemExit("no two consecutive free ports")


def main() -> None:
    dk = docker.from_env(version="auto")
    made = []
    try:
        p = two_free_ports()
        ports = {"80/tcp": None, "81/udp": ("127.0.0.1", None), f"{p}/tcp": p, f"{p + 1}/tcp": p + 1}
        a = dk.containers.run(
            IMAGE, "sh -c 'sleep 3600'", name="dp-capture-ports", labels=LABELS, ports=ports, detach=True
        )
        made.append(a)
        b = dk.containers.create(
            IMAGE,
            ["sh", "-c", "echo a very long command line that is cut by the cli"],
            name="dp-capture-created",
            labels=LABELS,
        )
        made.append(b)
        c = dk.containers.run(IMAGE, "sh -c 'exit 3'", name="dp-capture-exited", labels=LABELS, detach=True)
        made.append(c)
        c.wait()
        d = dk.containers.run(
            IMAGE, "sleep 3600", name="dp-capture-paused", labels=LABELS, detach=True, ports={"9000/tcp": None}
        )
        made.append(d)
        d.pause()
        time.sleep(3)
        rows = dk.api.containers(all=True, filters={"label": "dockerpanel.capture=1"})
        now = time.time()
        ps = subprocess.run(
            [CLI, "ps", "-a", "--filter", "label=dockerpanel.capture=1", "--format", PS_FORMAT],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        inspects = [dk.api.inspect_container(r["Id"]) for r in rows]
        images = dk.api.images()
        images_cli = subprocess.run(
            [CLI, "images", "--format", "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        history = dk.api.history(IMAGE)
        history_cli = subprocess.run(
            [CLI, "history", "--format", "{{.ID}}\t{{.CreatedBy}}\t{{.Size}}", "debian:bookworm"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        data = {
            "cli": subprocess.run([CLI, "--version"], capture_output=True, text=True).stdout.strip(),
            "now": now,
            "containers_json": rows,
            "inspect": inspects,
            "ps": [line.split("\t") for line in ps.splitlines()],
            "images_json": images,
            "images_cli": [line.split("\t") for line in images_cli.splitlines()],
            "history_busybox": history,
            "history_debian": dk.api.history("debian:bookworm"),
            "history_debian_cli": [line.split("\t") for line in history_cli.splitlines()],
        }
        OUT.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {OUT}")
    finally:
        for m in made:
            m.remove(force=True)
        dk.close()


# (name, shell command): writable layers from nothing to megabytes, so SIZE shows B, kB and MB
SIZE_WRITERS = [
    ("dp-capture-size-none", "true"),
    ("dp-capture-size-bytes", "printf 12345 > /f"),
    ("dp-capture-size-kb", "dd if=/dev/zero of=/f bs=1000 count=12 2>/dev/null"),
    ("dp-capture-size-mb", "dd if=/dev/zero of=/f bs=1000 count=1534 2>/dev/null"),
    ("dp-capture-size-big", "dd if=/dev/zero of=/f bs=1000 count=25061 2>/dev/null"),
]


def capture_size() -> None:
    """SIZE of `docker ps -s` (SizeRw, SizeRootFs) next to the engine's numbers, one moment."""
    dk = docker.from_env(version="auto")
    made = []
    try:
        for name, script in SIZE_WRITERS:
            c = dk.containers.run(IMAGE, ["sh", "-c", script], name=name, labels=LABELS, detach=True)
            made.append(c)
            c.wait()
        made.append(dk.containers.create(IMAGE, "true", name="dp-capture-size-created", labels=LABELS))
        rows = dk.api.containers(all=True, size=True, filters={"label": "dockerpanel.capture=1"})
        ps = subprocess.run(
            [CLI, "ps", "-a", "-s", "--filter", "label=dockerpanel.capture=1", "--format", "{{.ID}}\t{{.Size}}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        table = subprocess.run(
            [CLI, "ps", "-a", "-s", "--filter", "label=dockerpanel.capture=1"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        data = {
            "cli": subprocess.run([CLI, "--version"], capture_output=True, text=True).stdout.strip(),
            "containers_json": rows,
            "ps": [line.split("\t") for line in ps.splitlines()],
            "header": table.splitlines()[0],
        }
        OUT_SIZE.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {OUT_SIZE}")
    finally:
        for m in made:
            m.remove(force=True)
        dk.close()


if __name__ == "__main__":
    capture_size() if "--size" in sys.argv[1:] else main()
