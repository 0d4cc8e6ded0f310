"""A Host's configuration to a Docker client: a unix socket, tcp with verified TLS, or ssh with a
pinned host key; and the probe the /hosts/ page shows.

The SDK's own TLS set-up keeps key files on disk, and its SSH set-up reads the user's ~/.ssh (config,
known_hosts, keys). Here a client is made with a placeholder API version, its transport adapter is
replaced by one of ours (TLS: an SSLContext loaded once, the key file gone at once; SSH: paramiko
with this host's key only and only the accepted host key, an unknown or changed one refused), then
the API version is negotiated: the private-SDK shims are `_adopt` and the two adapters below.
Every failure leaves as an EngineUnavailable (or subclass) whose message says what to do.
"""

from __future__ import annotations

import copy
import io
import os
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass

import docker
import docker.constants
import paramiko
import requests.adapters
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from docker.transport.sshconn import SSHHTTPAdapter

from containers.engine import EngineError, EngineTimeout, EngineUnavailable
from hosts.address import Address, parse_url
from hosts.vault import SecretUnreadable

# sshd allows 10 sessions per connection by default (MaxSessions), and each pooled engine
# connection over SSH is one session: more would be refused ("administratively prohibited").
SSH_MAX_POOL = 8


class TLSFailed(EngineUnavailable):
    """The TLS handshake failed: a certificate not verified, or refused by the engine."""

    kind = "tls"


class HostKeyUnknown(EngineUnavailable):
    """The SSH server's host key is not the accepted one because none is accepted yet."""

    kind = "host-key-unknown"

    def __init__(self, address: Address, key: paramiko.PKey):
        self.address = f"ssh://{address.where}"
        self.line = f"{address.known_hosts_name} {key.get_name()} {key.get_base64()}"
        self.fingerprint = f"{key.get_name()} {key.fingerprint}"
        self.detail = f"host key not known: {self.fingerprint}"
        EngineError.__init__(
            self,
            f"The SSH host key of {address.where} is not known: {self.fingerprint} — "
            "accept it on the host's page if it is right.",
        )


class HostKeyChanged(EngineUnavailable):
    """The SSH server offers another host key than the accepted one: refused."""

    kind = "host-key-changed"

    def __init__(self, address: Address, got: paramiko.PKey, expected: paramiko.PKey):
        self.address = f"ssh://{address.where}"
        self.fingerprint = f"{got.get_name()} {got.fingerprint}"
        self.detail = f"host key changed: {self.fingerprint}"
        EngineError.__init__(
            self,
            f"The SSH host key of {address.where} has changed: it offers {self.fingerprint}, not the accepted "
            f"{expected.get_name()} {expected.fingerprint}. Refused: someone may be intercepting the connection. "
            "If the host was reinstalled, accept its new key on the host's page.",
        )


@dataclass(frozen=True)
class HostState:
    """What /hosts/ shows of one host."""

    up: bool
    error: str = ""
    kind: str = ""  # the error's kind: unreachable, timeout, tls, host-key-unknown, ...
    version: str = ""
    api_version: str = ""
    os: str = ""
    running: int = 0
    containers: int = 0
    images: int = 0


def client_factory(host) -> Callable[[float, int], docker.DockerClient]:
    """make_client for a copy of `host` taken now, as an Engine's client factory (timeout, pool
    size): its threads never touch the database, and an edited host makes a new Engine."""
    frozen = copy.copy(host)
    return lambda timeout, pool_size: make_client(frozen, timeout=timeout, pool_size=pool_size)


def make_client(host, *, timeout: float, pool_size: int) -> docker.DockerClient:
    """A connected client for `host` (a hosts.models.Host), API version negotiated.

    Raises EngineUnavailable (TLSFailed, HostKeyUnknown, HostKeyChanged, EngineTimeout) with a
    message naming the host and what to do."""
    try:
        address = parse_url(host.address)
    except ValueError as e:
        raise EngineUnavailable(host.address, str(e)) from None
    try:
        if address.scheme == "unix":
            return docker.DockerClient(base_url=host.address, version="auto", timeout=timeout, max_pool_size=pool_size)
        if address.scheme == "tcp" and not host.uses_tls:
            return docker.DockerClient(base_url=host.address, version="auto", timeout=timeout, max_pool_size=pool_size)
        if address.scheme == "tcp":
            adapter = _TLSAdapter(tls_context(host), pool_maxsize=pool_size)
            client = docker.DockerClient(base_url=host.address, tls=True, version=_PLACEHOLDER, timeout=timeout)
            return _adopt(client, "https://", adapter)
        adapter = _PinnedSSHAdapter(host, address, timeout=timeout, max_pool_size=min(pool_size, SSH_MAX_POOL))
        client = docker.DockerClient(base_url=host.address, use_ssh_client=True, version=_PLACEHOLDER, timeout=timeout)
        return _adopt(client, "http+docker://ssh", adapter)
    except EngineUnavailable:
        raise
    except Exception as e:
        raise _explain(host.address, e, timeout) from e


_PLACEHOLDER = docker.constants.MINIMUM_DOCKER_API_VERSION


def _adopt(client: docker.DockerClient, prefix: str, adapter: requests.adapters.BaseAdapter) -> docker.DockerClient:
    """Put our adapter in the SDK client's place, then negotiate the API version through it."""
    api = client.api
    api.trust_env = False  # REQUESTS_CA_BUNDLE and proxies from the environment must not apply
    api._custom_adapter.close()
    api._custom_adapter = adapter
    api.mount(prefix, adapter)
    try:
        api._version = api._retrieve_server_version()
    except BaseException:
        client.close()  # the adapter with it
        raise
    return client


def tls_context(host) -> ssl.SSLContext:
    """An SSLContext trusting only the host's CA, holding its client certificate and key.

    The key goes through a private (0700) temp folder for the moment ssl needs a file; the context
    keeps it in memory after that."""
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=host.tls_ca)
    except (ssl.SSLError, ValueError) as e:
        raise TLSFailed(host.address, f"the CA certificate is not a valid PEM certificate ({e})") from None
    try:
        key = host.secret("tls_key")
    except SecretUnreadable as e:
        raise TLSFailed(host.address, f"the stored TLS key cannot be read ({e}); enter it again on the host's page")
    with tempfile.TemporaryDirectory(prefix="dp-tls-") as folder:
        cert_file, key_file = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        for path, text in ((cert_file, host.tls_cert), (key_file, key)):
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
                f.write(text)
        try:
            context.load_cert_chain(cert_file, key_file)
        except ssl.SSLError as e:
            raise TLSFailed(
                host.address, f"the client certificate and key do not load or do not match ({e.reason or e})"
            ) from None
    return context


class _TLSAdapter(requests.adapters.HTTPAdapter):
    def __init__(self, context: ssl.SSLContext, **kwargs):
        self._context = context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


def load_private_key(text: str) -> paramiko.PKey:
    """An SSH private key (OpenSSH or PEM, RSA, ECDSA or Ed25519, no passphrase); ValueError if not."""
    data = text.strip().encode() + b"\n"
    try:
        try:
            loaded = serialization.load_ssh_private_key(data, password=None)
        except ValueError:
            loaded = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ValueError("the SSH key is protected by a passphrase; store a key without one") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError("this is not an SSH private key (OpenSSH or PEM format)") from None
    classes = {rsa.RSAPrivateKey: paramiko.RSAKey, ed25519.Ed25519PrivateKey: paramiko.Ed25519Key}
    classes[ec.EllipticCurvePrivateKey] = paramiko.ECDSAKey
    for kind, key_class in classes.items():
        if isinstance(loaded, kind):
            return key_class.from_private_key(io.StringIO(text.strip() + "\n"))
    raise ValueError("this SSH key type is not supported; use Ed25519, ECDSA or RSA")


def parse_host_key(line: str) -> paramiko.hostkeys.HostKeyEntry:
    """A known_hosts line ("[127.0.0.1]:2222 ssh-ed25519 AAAA..."); ValueError if it is not one."""
    try:
        entry = paramiko.hostkeys.HostKeyEntry.from_line(line.strip())
    except (paramiko.hostkeys.InvalidHostKey, paramiko.SSHException, ValueError, TypeError):
        entry = None
    if entry is None or entry.key is None:
        raise ValueError("not a known_hosts line (host key-type base64-key)")
    return entry


class _RefuseUnknown(paramiko.MissingHostKeyPolicy):
    def __init__(self, address: Address):
        self.address = address

    def missing_host_key(self, client, hostname, key):
        raise HostKeyUnknown(self.address, key)


class _PinnedSSHAdapter(SSHHTTPAdapter):
    """The SDK's paramiko adapter, with this host's key and accepted host key only (no ~/.ssh),
    reconnecting when the SSH connection died (a host that comes back is used again)."""

    def __init__(self, host, address: Address, *, timeout: float, max_pool_size: int):
        self._host = host
        self._address = address
        self._timeout = timeout
        self._reconnecting = threading.Lock()
        super().__init__(host.address, timeout=timeout, max_pool_size=max_pool_size, shell_out=False)

    def _create_paramiko_client(self, base_url):
        host, address = self._host, self._address
        try:
            private = host.secret("ssh_key")
        except SecretUnreadable as e:
            raise EngineUnavailable(host.address, f"the stored SSH key cannot be read ({e}); enter it again") from None
        if not private:
            raise EngineUnavailable(host.address, "no SSH private key is stored for this host; add one on its page")
        self.ssh_client = paramiko.SSHClient()
        if host.ssh_host_key:
            entry = parse_host_key(host.ssh_host_key)
            for name in entry.hostnames:
                self.ssh_client.get_host_keys().add(name, entry.key.get_name(), entry.key)
        self.ssh_client.set_missing_host_key_policy(_RefuseUnknown(address))
        self.ssh_params = {
            "hostname": address.host,
            "port": address.port,
            "username": address.user,
            "pkey": load_private_key(private),
            "look_for_keys": False,
            "allow_agent": False,
            "timeout": self._timeout,
            "banner_timeout": self._timeout,
            "auth_timeout": self._timeout,
            "channel_timeout": self._timeout,
        }

    def _connect(self):
        try:
            self.ssh_client.connect(**self.ssh_params)
        except BaseException as e:
            self.ssh_client.close()
            if isinstance(e, paramiko.BadHostKeyException):
                raise HostKeyChanged(self._address, e.key, e.expected_key) from None
            if isinstance(e, paramiko.AuthenticationException):
                raise EngineUnavailable(
                    self._host.address, f"the SSH server refused the stored key for {self._address.user} ({e})"
                ) from None
            raise

    def get_connection(self, url, proxies=None):
        with self._reconnecting:  # one new SSH connection, not one per waiting thread
            transport = self.ssh_client.get_transport()
            if transport is None or not transport.is_active():
                with self.pools.lock:
                    self.pools.clear()
                self._connect()
        return super().get_connection(url, proxies)


def close_stream(stream) -> None:
    """End a streamed answer (events, followed logs, stats) on any transport: the SDK's own
    CancellableStream.close() refuses SSH ("Cancellable streams not supported"); closing the
    paramiko channel under it ends it the same way."""
    response = getattr(stream, "_response", None)
    fp = getattr(getattr(getattr(response, "raw", None), "_fp", None), "fp", None)
    channel = getattr(fp, "channel", None)
    if channel is not None:
        channel.close()
        response.close()
        return
    stream.close()


def fetch_host_key(url: str, timeout: float = 10) -> tuple[str, str]:
    """The SSH host key a server offers, as (known_hosts line, "type SHA256:fingerprint"), for an
    administrator to compare and accept; EngineUnavailable if it cannot be fetched."""
    try:
        address = parse_url(url)
    except ValueError as e:
        raise EngineUnavailable(url, str(e)) from None
    if address.scheme != "ssh":
        raise EngineUnavailable(url, "only ssh:// hosts have a host key")
    try:
        with socket.create_connection((address.host, address.port), timeout=timeout) as sock:
            transport = paramiko.Transport(sock)
            try:
                transport.banner_timeout = timeout
                transport.start_client(timeout=timeout)
                key = transport.get_remote_server_key()
            finally:
                transport.close()
    except Exception as e:
        raise _explain(url, e, timeout) from e
    return f"{address.known_hosts_name} {key.get_name()} {key.get_base64()}", f"{key.get_name()} {key.fingerprint}"


def _chain(e: BaseException) -> list[BaseException]:
    """e and what caused it, also through the wrappers of urllib3 (reason) and requests (args)."""
    seen: list[BaseException] = []
    while e is not None and e not in seen:
        seen.append(e)
        wrapped = getattr(e, "reason", None)
        if not isinstance(wrapped, BaseException):
            wrapped = next((a for a in e.args if isinstance(a, BaseException)), None)
        e = e.__cause__ or wrapped or e.__context__
    return seen


def _explain(url: str, e: BaseException, timeout: float) -> EngineError:
    """Any failure while connecting, as an EngineUnavailable a person can act on."""
    chain = _chain(e)
    for c in chain:
        if isinstance(c, EngineError):
            return c
    for c in chain:
        if isinstance(c, ssl.SSLCertVerificationError):
            return TLSFailed(
                url, f"TLS certificate verify failed: {c.verify_message} (is the CA right for this engine?)"
            )
    refused_cert = "(did it refuse the client certificate? is that signed by the CA the engine trusts?)"
    for c in chain:
        if isinstance(c, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
            return TLSFailed(url, f"TLS handshake failed: the engine closed the connection {refused_cert}")
        if isinstance(c, ssl.SSLError):
            reason = c.reason or str(c)
            hint = f" {refused_cert}" if "CERTIFICATE" in reason.upper() or "UNKNOWN_CA" in reason.upper() else ""
            return TLSFailed(url, f"TLS handshake failed: {reason}{hint}")
    if url.startswith("tcp://") and any(isinstance(c, (ConnectionResetError, BrokenPipeError)) for c in chain):
        return TLSFailed(url, f"TLS handshake failed: the engine reset the connection {refused_cert}")
    for c in chain:
        if isinstance(c, paramiko.ssh_exception.NoValidConnectionsError):
            return EngineUnavailable(url, "connection refused; is sshd running there?")
        if isinstance(c, paramiko.SSHException):
            return EngineUnavailable(url, f"the SSH connection failed ({c})")
    for c in chain:
        if isinstance(c, (socket.timeout, TimeoutError)) or "timed out" in str(c).lower():
            return EngineTimeout(url, timeout)
    for c in chain:
        if isinstance(c, ConnectionRefusedError):
            return EngineUnavailable(url, "connection refused; is the Docker daemon running?")
        if isinstance(c, FileNotFoundError):
            return EngineUnavailable(url, "no engine socket there; is the Docker daemon running?")
        if isinstance(c, PermissionError):
            return EngineUnavailable(url, "permission denied on the engine socket")
    if isinstance(e, docker.errors.APIError):
        return EngineUnavailable(url, f"the engine answered with an error: {e.explanation or e}")
    last = chain[-1]
    return EngineUnavailable(url, f"{type(last).__name__}: {last}")


def probe(host, timeout: float) -> HostState:
    """Connect to `host` and read its version and counts, within about `timeout` seconds."""
    try:
        client = make_client(host, timeout=timeout, pool_size=2)
    except EngineUnavailable as e:
        return HostState(up=False, error=str(e), kind=getattr(e, "kind", "unreachable"))
    try:
        version = client.version()
        info = client.info()
    except Exception as e:
        error = _explain(host.address, e, timeout)
        return HostState(up=False, error=str(error), kind=getattr(error, "kind", "error"))
    finally:
        client.close()
    return HostState(
        up=True,
        version=version.get("Version", ""),
        api_version=version.get("ApiVersion", ""),
        os=info.get("OperatingSystem") or version.get("Os", ""),
        running=info.get("ContainersRunning", 0),
        containers=info.get("Containers", 0),
        images=info.get("Images", 0),
    )


def probe_all(hosts: list, timeout: float) -> list[HostState]:
    """probe() every host at once; a host without an answer within `timeout` (plus a margin for
    the SSH handshake) is down, and never holds up the others' answers."""
    if not hosts:
        return []
    pool = ThreadPoolExecutor(max_workers=min(len(hosts), 16), thread_name_prefix="host-probe")
    try:
        futures = [pool.submit(probe, host, timeout) for host in hosts]
        started = time.monotonic()
        wait_futures(futures, timeout=timeout + 1)
        waited = time.monotonic() - started
        return [
            f.result()
            if f.done()
            else HostState(up=False, error=str(EngineTimeout(h.address, round(waited, 1))), kind="timeout")
            for h, f in zip(hosts, futures, strict=True)
        ]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
