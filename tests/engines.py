"""Extra Docker engines for the several-hosts tests (issue 10), started once and reused.

- e2: a second dockerd on unix:///run/dockerpanel-e2/docker.sock (bridge dp-e2, 10.231.102.1/24);
- e3: a third dockerd on tcp://127.0.0.1:<port> with TLS verified both ways (--tlsverify; a CA,
  server and client certificates made with openssl on first start), plus its own unix socket for
  arranging tests (bridge dp-e3, 10.231.103.1/24);
- e2 over SSH: an sshd of our own on 127.0.0.1:<port> (own config and ed25519 host key, root by
  key only, a client key made on first start) whose only command is `docker system dial-stdio`
  to e2's socket.
Each dockerd has its own bridge, data root, exec root (so its own containerd), pidfile and socket,
vfs storage and no iptables rules; the main engine and its docker0 are never touched. They keep
running after the tests (like the main engine), so the next run reuses them; a file lock keeps
parallel runs from starting them twice. `python -m tests.engines up` starts them (make engine),
`down [--purge]` stops them (and forgets their data, keys and certificates).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

STATE = Path(os.environ.get("DOCKERPANEL_ENGINES_STATE", "/var/lib/dockerpanel-engines"))
BUSYBOX = "dockerpanel-test/busybox:latest"
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Daemon:
    name: str
    bridge: str
    cidr: str

    @property
    def run_dir(self) -> Path:
        return Path(f"/run/dockerpanel-{self.name}")

    @property
    def sock(self) -> str:
        return f"unix://{self.run_dir}/docker.sock"


E2 = Daemon("e2", "dp-e2", "10.231.102.1/24")
E3 = Daemon("e3", "dp-e3", "10.231.103.1/24")


@dataclass(frozen=True)
class Engines:
    """Where the extra engines answer and the files to reach them."""

    e2_url: str
    e3_url: str  # tcp://127.0.0.1:port (TLS)
    e3_sock: str  # unix socket of e3, for arranging tests
    ssh_url: str  # ssh://root@127.0.0.1:port -> e2
    tls: dict[str, str]  # ca, cert, key (right); rogue_ca, rogue_cert, rogue_key (another CA's)
    ssh_key: str = field(repr=False)  # the client's private key (OpenSSH)

    def read(self, what: str) -> str:
        return Path(self.tls[what]).read_text()


def _run(*argv: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, **kw)
    if check and done.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.2)


@contextmanager
def _locked():
    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ports() -> dict[str, int]:
    """Loopback ports chosen on first start and kept (e3's TLS port, sshd's port); a new one when
    ours is down and something else took its port meanwhile."""
    path = STATE / "ports.json"
    ports = json.loads(path.read_text()) if path.exists() else {}
    ours = {"e3": lambda port: _answers(E3.sock), "ssh": lambda port: _listens(port, b"SSH-")}
    changed = False
    for name, running in ours.items():
        if name not in ports or (not running(ports[name]) and _listens(ports[name])):
            ports[name] = _free_port()
            changed = True
    if changed:
        path.write_text(json.dumps(ports))
    return ports


def _answers(sock_url: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(3)
            s.connect(sock_url.removeprefix("unix://"))
            s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b"200 OK" in s.recv(256)
    except OSError:
        return False


def _listens(port: int, banner: bytes = b"") -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            return not banner or s.recv(64).startswith(banner)
    except OSError:
        return False


def _bridge(daemon: Daemon) -> None:
    if _run("ip", "link", "show", daemon.bridge, check=False).returncode:
        _run("ip", "link", "add", daemon.bridge, "type", "bridge")
    if daemon.cidr.split("/")[0] not in _run("ip", "-br", "addr", "show", daemon.bridge).stdout:
        _run("ip", "addr", "add", daemon.cidr, "dev", daemon.bridge)
    _run("ip", "link", "set", daemon.bridge, "up")


def _end_stale(daemon: Daemon) -> None:
    """A dockerd that died leaves its containerd (and pidfile) behind: end them before a new start."""
    for pidfile in (daemon.run_dir / "exec" / "containerd" / "containerd.pid", daemon.run_dir / "dockerd.pid"):
        try:
            pid = int(pidfile.read_text().strip())
            os.kill(pid, signal.SIGKILL)
            _wait(lambda p=pid: not Path(f"/proc/{p}").exists(), 30, f"process {pid} to end")
        except (OSError, ValueError):
            pass


def _flag(name: str) -> str:
    return name if name in _run("dockerd", "--help", check=False).stdout else ""


def _start_dockerd(daemon: Daemon, extra: list[str]) -> None:
    if _answers(daemon.sock) and all(_listens(int(a.rsplit(":", 1)[1])) for a in extra if a.startswith("tcp://")):
        return
    _end_stale(daemon)
    _bridge(daemon)
    daemon.run_dir.mkdir(parents=True, exist_ok=True)
    data = STATE / daemon.name
    data.mkdir(parents=True, exist_ok=True)
    argv = [
        "dockerd",
        f"--host={daemon.sock}",
        f"--data-root={data / 'root'}",
        f"--exec-root={daemon.run_dir / 'exec'}",
        f"--pidfile={daemon.run_dir / 'dockerd.pid'}",
        f"--bridge={daemon.bridge}",
        "--iptables=false",
        "--ip-masq=false",
        "--ip6tables=false" if _flag("--ip6tables") else "--ipv6=false",
        "--storage-driver=vfs",
        *extra,
    ]
    log = open(data / "dockerd.log", "ab")
    # its own session: it outlives this test run, as the main engine does
    subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait(lambda: _answers(daemon.sock), 90, f"dockerd {daemon.name}")
    except RuntimeError:
        raise RuntimeError(f"dockerd {daemon.name} did not start:\n{(data / 'dockerd.log').read_text()[-3000:]}")


def _load_busybox(daemon: Daemon) -> None:
    if _run("docker", "-H", daemon.sock, "image", "inspect", BUSYBOX, check=False).returncode == 0:
        return
    save = subprocess.Popen(["docker", "save", BUSYBOX], stdout=subprocess.PIPE)
    loaded = subprocess.run(["docker", "-H", daemon.sock, "load", "-q"], stdin=save.stdout, capture_output=True)
    save.wait(120)
    if loaded.returncode or save.returncode:
        raise RuntimeError(f"could not load {BUSYBOX} into {daemon.name}: {loaded.stderr.decode()[-500:]}")


def _openssl_cert(folder: Path, name: str, ca: str, subject: str, extensions: str) -> None:
    key, csr, ext = folder / f"{name}-key.pem", folder / f"{name}.csr", folder / f"{name}.ext"
    ext.write_text(extensions)
    _run(
        "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(csr), "-subj", subject,
    )  # fmt: skip
    _run(
        "openssl", "x509", "-req", "-in", str(csr), "-CA", str(folder / f"{ca}.pem"),
        "-CAkey", str(folder / f"{ca}-key.pem"), "-CAcreateserial", "-days", "3650",
        "-out", str(folder / f"{name}.pem"), "-extfile", str(ext),
    )  # fmt: skip
    csr.unlink()
    ext.unlink()


def _tls_files() -> dict[str, str]:
    """A CA with server and client certificates for e3, and another CA with its own client
    certificate (the wrong ones), made with openssl on first start."""
    folder = STATE / "tls"
    names = {
        "ca": "ca.pem", "cert": "client.pem", "key": "client-key.pem", "server_cert": "server.pem",
        "server_key": "server-key.pem", "rogue_ca": "rogue.pem", "rogue_cert": "rogue-client.pem",
        "rogue_key": "rogue-client-key.pem",
    }  # fmt: skip
    files = {what: str(folder / name) for what, name in names.items()}
    if all(Path(f).exists() for f in files.values()):
        return files
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700, parents=True)
    for ca, subject in (("ca", "/CN=dockerpanel test CA"), ("rogue", "/CN=dockerpanel rogue CA")):
        _run(
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(folder / f"{ca}-key.pem"), "-out", str(folder / f"{ca}.pem"), "-days", "3650",
            "-subj", subject,
        )  # fmt: skip
    server = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
    _openssl_cert(folder, "server", "ca", "/CN=127.0.0.1", server)
    _openssl_cert(folder, "client", "ca", "/CN=dockerpanel", "extendedKeyUsage=clientAuth\n")
    _openssl_cert(folder, "rogue-client", "rogue", "/CN=dockerpanel", "extendedKeyUsage=clientAuth\n")
    return files


def _sshd(port: int) -> str:
    """Our sshd on 127.0.0.1:port, root by key only, forwarding to e2's socket; the client key."""
    folder = STATE / "ssh"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    host_key, client_key = folder / "ssh_host_ed25519_key", folder / "client_ed25519"
    for key in (host_key, client_key):
        if not key.exists():
            _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dockerpanel-test", "-f", str(key))
    docker_cli = shutil.which("docker") or "/usr/bin/docker"
    command = f"{docker_cli} -H {E2.sock} system dial-stdio"
    authorized = folder / "authorized_keys"
    authorized.write_text(f'command="{command}",restrict {(folder / "client_ed25519.pub").read_text()}')
    authorized.chmod(0o600)
    pidfile = Path("/run/dockerpanel-sshd.pid")
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {pidfile}\n"
        f"AuthorizedKeysFile {authorized}\nPermitRootLogin prohibit-password\nAllowUsers root\n"
        "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "UsePAM no\nStrictModes yes\nMaxSessions 100\nMaxStartups 100:30:200\nX11Forwarding no\n"
        "AllowTcpForwarding no\nPrintMotd no\nLogLevel INFO\n"
    )
    if not _listens(port, b"SSH-"):
        try:
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # its privilege separation folder
        _run(sshd, "-t", "-f", str(config))
        _run(sshd, "-f", str(config), "-E", str(folder / "sshd.log"))  # forks into the background
        _wait(lambda: _listens(port, b"SSH-"), 30, "the test sshd")
    return client_key.read_text()


def _need(command: str, package: str) -> None:
    """Install a missing command's Debian package (make engine does it first; this is for a plain
    pytest run on a clean machine)."""
    if not shutil.which(command) and not Path(f"/usr/sbin/{command}").exists():
        _run("bash", str(REPO / "scripts" / "apt.sh"), package)


def up() -> Engines:
    """Start whatever of e2, e3 and the sshd is not running (reused otherwise); where they are."""
    for command, package in (("openssl", "openssl"), ("ssh-keygen", "openssh-client"), ("sshd", "openssh-server")):
        _need(command, package)
    with _locked():
        ports = _ports()
        tls = _tls_files()
        _start_dockerd(E2, [])
        tls_flags = [
            f"--host=tcp://127.0.0.1:{ports['e3']}", "--tlsverify", f"--tlscacert={tls['ca']}",
            f"--tlscert={tls['server_cert']}", f"--tlskey={tls['server_key']}",
        ]  # fmt: skip
        _start_dockerd(E3, tls_flags)
        _load_busybox(E2)
        _load_busybox(E3)
        ssh_key = _sshd(ports["ssh"])
    return Engines(
        e2_url=E2.sock,
        e3_url=f"tcp://127.0.0.1:{ports['e3']}",
        e3_sock=E3.sock,
        ssh_url=f"ssh://root@127.0.0.1:{ports['ssh']}",
        tls=tls,
        ssh_key=ssh_key,
    )


def ssh_host_key_line(engines: Engines) -> str:
    """The sshd's host key as a known_hosts line (read from its file, not from the network)."""
    port = engines.ssh_url.rsplit(":", 1)[1]
    public = (STATE / "ssh" / "ssh_host_ed25519_key.pub").read_text().split()
    return f"[127.0.0.1]:{port} {public[0]} {public[1]}"


def down(purge: bool = False) -> None:
    """Stop the sshd, e2 and e3 (their containers with them) and remove their bridges; with
    purge, their data, keys and certificates too (the next up() starts from nothing)."""
    from tests.faults import kill_tree_of, unmount_under

    with _locked():
        _stop(Path("/run/dockerpanel-sshd.pid"))
        for daemon in (E2, E3):
            _stop(daemon.run_dir / "dockerd.pid")
            _end_stale(daemon)
            kill_tree_of(str(daemon.run_dir))  # container shims
            unmount_under(str(daemon.run_dir))
            unmount_under(str(STATE / daemon.name))
            _run("ip", "link", "del", daemon.bridge, check=False)
            shutil.rmtree(daemon.run_dir, ignore_errors=True)
        if purge:
            for name in ("e2", "e3", "tls", "ssh", "ports.json"):
                path = STATE / name
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def _stop(pidfile: Path) -> None:
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        return
    try:
        _wait(lambda: not Path(f"/proc/{pid}").exists(), 30, f"process {pid} to end")
    except RuntimeError:
        os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    command = sys.argv[1:]
    if command == ["up"]:
        found = up()
        print(f"[engines] e2 {found.e2_url}, e3 {found.e3_url} (TLS), e2 over SSH {found.ssh_url}")
    elif command in (["down"], ["down", "--purge"]):
        down(purge="--purge" in command)
    else:
        sys.exit("usage: python -m tests.engines up | down [--purge]")
