"""Fault injection for the reliability tests: a private dockerd to kill or freeze, a fake engine
socket that truncates or stalls its answers, and a tiny data folder to fill or make read-only.

The private engine never touches the main one: its own bridge (dp-br14, 10.231.14.1/24), data root,
exec root (so its own containerd), pidfile and unix socket, and no iptables rules.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

BRIDGE = "dp-br14"
BRIDGE_CIDR = "10.231.14.1/24"


def wait_for(condition, timeout: float = 60, what: str = "condition", every: float = 0.1):
    """Poll until condition() is truthy; returns its value or fails naming what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=120)


class PrivateEngine:
    """A dockerd of our own on a unix socket in a temp dir, to kill (SIGKILL) or freeze (SIGSTOP)."""

    def __init__(self):
        # short path: unix socket paths are limited to 107 bytes
        self.dir = Path(tempfile.mkdtemp(prefix="dp14-"))
        self.sock = self.dir / "d.sock"
        self.url = f"unix://{self.sock}"
        self.proc: subprocess.Popen | None = None
        self.log = self.dir / "dockerd.log"

    def _bridge(self) -> None:
        if _run("ip", "link", "show", BRIDGE, check=False).returncode:
            _run("ip", "link", "add", BRIDGE, "type", "bridge")
            _run("ip", "addr", "add", BRIDGE_CIDR, "dev", BRIDGE)
        _run("ip", "link", "set", BRIDGE, "up")

    def start(self) -> PrivateEngine:
        """Start (or, after kill(), start again on the same data: its old containerd is ended first)."""
        self._bridge()
        self._stop_own_containerd()
        argv = [
            "dockerd",
            "--host",
            self.url,
            "--data-root",
            str(self.dir / "root"),
            "--exec-root",
            str(self.dir / "exec"),
            "--pidfile",
            str(self.dir / "dockerd.pid"),
            "--bridge",
            BRIDGE,
            "--iptables=false",
            "--ip-masq=false",
            "--ip6tables=false" if _supports("--ip6tables") else "--ipv6=false",
            "--storage-driver",
            "vfs",
        ]
        with open(self.log, "wb") as log:
            # its own session: a signal to the test process group must not reach it
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for(lambda: self.answers() or self.proc.poll() is not None, 60, "the private dockerd", every=0.2)
            assert self.answers()
        except AssertionError:
            log = self.log.read_text()[-3000:]
            self.stop()
            raise AssertionError(f"private dockerd did not start:\n{log}") from None
        return self

    def answers(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            return False
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(2)
                s.connect(str(self.sock))
                s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
                return b"200 OK" in s.recv(256)
        except OSError:
            return False

    def docker(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "-H", self.url, *args], capture_output=True, text=True, timeout=120, **kw)

    def load_busybox(self, image: str) -> None:
        """Copy the busybox test image from the main engine (only the tests that run containers need it)."""
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        loaded = subprocess.run(["docker", "-H", self.url, "load", "-q"], stdin=save.stdout, capture_output=True)
        save.wait(60)
        assert loaded.returncode == 0, loaded.stderr

    def freeze(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL, as a crash would; its containerd stays until stop()."""
        self.proc.kill()
        self.proc.wait(30)

    def stop(self) -> None:
        if self.answers():
            listed = self.docker("ps", "-aq").stdout.split()
            if listed:
                self.docker("rm", "-f", *listed)
        if self.proc is not None:
            if self.proc.poll() is None:
                self.thaw()
                self.proc.terminate()
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
        self._stop_own_containerd()
        kill_tree_of(str(self.dir))  # shims (and their containers) outlive a killed dockerd
        unmount_under(str(self.dir))  # its data root, and network namespaces under the exec root
        shutil.rmtree(self.dir, ignore_errors=True)
        _run("ip", "link", "del", BRIDGE, check=False)

    def _stop_own_containerd(self) -> None:
        pidfile = self.dir / "exec" / "containerd" / "containerd.pid"
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        wait_for(lambda: not Path(f"/proc/{pid}").exists(), 30, "the private containerd to exit")


def unmount_under(folder: str) -> None:
    """Unmount everything mounted at or below `folder`, deepest first."""
    with open("/proc/mounts") as mounts:
        points = [line.split()[1] for line in mounts]
    for point in sorted((p for p in points if p == folder or p.startswith(folder + "/")), key=len, reverse=True):
        _run("umount", "-l", point, check=False)


def kill_tree_of(marker: str) -> None:
    """SIGKILL every process whose command line names `marker` (a temp dir of ours), and their children."""
    parents: dict[int, int] = {}
    mine: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if marker.encode() in cmdline:
            mine.add(int(entry.name))
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in mine} - mine
        grew = bool(children)
        mine |= children
    mine.discard(os.getpid())
    for pid in mine:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _supports(flag: str) -> bool:
    out = _run("dockerd", "--help", check=False)
    return flag in out.stdout


class FakeEngine:
    """A unix socket that answers like an engine for /_ping and /version, then misbehaves.

    mode "truncate": a streamed answer (pull progress, logs) sends a little, then the connection is
    cut mid-chunk; mode "stall": it sends the headers and one event, then nothing, ever (until close).
    """

    def __init__(self, mode: str):
        self.mode = mode
        self.dir = tempfile.mkdtemp(prefix="dp14f-")
        self.sock_path = os.path.join(self.dir, "fake.sock")
        self.url = f"unix://{self.sock_path}"
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(self.sock_path)
        self.server.listen(64)
        self.stalled: list[socket.socket] = []
        self.requests: list[str] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            reader = conn.makefile("rb")
            while True:
                line = reader.readline()
                if not line:
                    return
                path = line.split(b" ")[1].decode()
                length = 0
                while (header := reader.readline()) not in (b"\r\n", b"\n", b""):
                    if header.lower().startswith(b"content-length:"):
                        length = int(header.split(b":")[1])
                if length:
                    reader.read(length)
                self.requests.append(path)
                if not self._answer(conn, path):
                    return
        except OSError:
            return

    def _answer(self, conn: socket.socket, path: str) -> bool:
        """Answer one request; False when the connection is done with."""
        if path.endswith("/_ping"):
            return _send(conn, 200, b"OK", "text/plain")
        if path.endswith("/version"):
            version = {"Version": "fake", "ApiVersion": "1.41", "MinAPIVersion": "1.12", "Os": "linux"}
            return _send(conn, 200, json.dumps(version).encode(), "application/json")
        if "/images/create" in path or "/logs" in path:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            event = json.dumps({"status": "Pulling fs layer", "id": "abc123"}).encode() + b"\r\n"
            if "/logs" in path:
                event = b"\x01\x00\x00\x00\x00\x00\x00\x06hello\n"
            conn.sendall(b"%x\r\n%s\r\n" % (len(event), event))
            if self.mode == "stall":
                self.stalled.append(conn)
                return False  # keep it open, send nothing more
            conn.sendall(b"400\r\n" + b'{"status": "Downl')  # a chunk cut short, as when the engine dies
            conn.shutdown(socket.SHUT_RDWR)
            conn.close()
            return False
        if path.endswith("/info"):
            info = {"Containers": 1, "ContainersRunning": 1, "Images": 0, "OperatingSystem": "fake"}
            return _send(conn, 200, json.dumps(info).encode(), "application/json")
        if path.split("?")[0].endswith("/containers/json"):
            row = {"Id": _FAKE_CONTAINER["Id"], "Names": ["/fake"], "Image": "fake", "State": "running"}
            return _send(conn, 200, json.dumps([row]).encode(), "application/json")
        if "/containers/" in path and path.split("?")[0].endswith("/json"):
            # a container inspect: enough for the logs page to know it is not a tty
            return _send(conn, 200, json.dumps(_FAKE_CONTAINER).encode(), "application/json")
        return _send(conn, 404, b'{"message": "not in the fake engine"}', "application/json")

    def close(self) -> None:
        self._closed = True
        for conn in self.stalled:
            try:
                conn.close()
            except OSError:
                pass
        self.server.close()
        shutil.rmtree(self.dir, ignore_errors=True)


_FAKE_CONTAINER = {
    "Id": "f" * 64,
    "Name": "/fake",
    "Config": {"Tty": False, "Image": "fake", "Labels": {}},
    "State": {"Status": "running", "Running": True},
}


def _send(conn: socket.socket, status: int, body: bytes, content_type: str) -> bool:
    reason = {200: "OK", 404: "Not Found"}[status]
    conn.sendall(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    return True


class TinyDataFolder:
    """A 2 MB tmpfs to hold the panel's data folder; fill() it up or make_read_only()."""

    def __init__(self, size: str = "4m"):
        self.path = Path(tempfile.mkdtemp(prefix="dp14-data-"))
        _run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "dp14-data", str(self.path))

    def fill(self) -> None:
        """Fill every free block (and a few more tries, as SQLite may free pages)."""
        with open(self.path / "filler", "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass

    def unfill(self) -> None:
        (self.path / "filler").unlink(missing_ok=True)

    def make_read_only(self) -> None:
        _run("mount", "-o", "remount,ro", str(self.path))

    def make_writable(self) -> None:
        _run("mount", "-o", "remount,rw", str(self.path))

    def remove(self) -> None:
        _run("umount", "-l", str(self.path), check=False)
        shutil.rmtree(self.path, ignore_errors=True)
