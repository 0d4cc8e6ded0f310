"""The engine errors: one project type (EngineError) and its kinds, and `translate` from SDK errors."""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Callable

import docker
import docker.errors
import requests.exceptions
import urllib3.exceptions
from django.utils.translation import gettext


class EngineError(Exception):
    """An engine call failed; str() is a message for the user."""


class EngineUnavailable(EngineError):
    """The engine cannot be reached at all."""

    kind = "unreachable"

    def __init__(self, address: str, detail: str):
        self.address = address
        self.detail = detail
        super().__init__(
            gettext("The Docker engine at %(address)s cannot be reached: %(detail)s")
            % {"address": address, "detail": detail}
        )


class EngineLost(EngineUnavailable):
    """The connection broke in the middle of an answer (engine killed or restarted, stream cut)."""

    kind = "lost"

    def __init__(self, address: str, detail: str):
        self.address = address
        self.detail = detail
        EngineError.__init__(
            self,
            gettext("The connection to the Docker engine at %(address)s was lost: %(detail)s")
            % {"address": address, "detail": detail},
        )


class EngineTimeout(EngineUnavailable):
    """The engine accepted the connection but did not answer in time (hung or overloaded)."""

    kind = "timeout"

    def __init__(self, address: str, seconds: float | None):
        self.address = address
        self.detail = (
            gettext("no answer within %(seconds)s s") % {"seconds": f"{seconds:g}"}
            if seconds
            else gettext("no answer within the timeout")
        )
        EngineError.__init__(
            self,
            gettext("The Docker engine at %(address)s is not answering (%(detail)s).")
            % {"address": address, "detail": self.detail},
        )


class NotFound(EngineError):
    pass


class Conflict(EngineError):
    pass


class Ambiguous(EngineError):
    """A short ID prefix matches several containers."""

    def __init__(self, ref: str, matches: list[tuple[str, str]]):
        self.ref = ref
        self.matches = matches  # (short id, name)
        listed = ", ".join(f"{cid} ({name})" for cid, name in matches)
        super().__init__(
            gettext("'%(ref)s' matches %(count)d containers: %(listed)s. Give more characters of the ID.")
            % {"ref": ref, "count": len(matches), "listed": listed}
        )


def _reason(e: Exception) -> str:
    text = str(e)
    if "Permission denied" in text:
        return gettext("permission denied on the engine socket (%(error)s)") % {"error": text}
    if "No such file or directory" in text or "FileNotFoundError" in text:
        return gettext("no engine socket there; is the Docker daemon running? (%(error)s)") % {"error": text}
    if "Connection refused" in text:
        return gettext("connection refused; is the Docker daemon running? (%(error)s)") % {"error": text}
    return text


# A connection that broke in the middle of an answer, at whichever layer noticed it first.
_LOST = (
    urllib3.exceptions.ProtocolError,  # IncompleteRead and "Connection broken" included
    urllib3.exceptions.DecodeError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    http.client.HTTPException,  # IncompleteRead, RemoteDisconnected, BadStatusLine
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    EOFError,
)
_TIMEOUT = (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, socket.timeout, TimeoutError)
_TLS = (ssl.SSLError, requests.exceptions.SSLError, urllib3.exceptions.SSLError, docker.errors.TLSParameterError)


def translate(
    e: BaseException, what: str = "", address: str = "", forget: Callable[[], None] | None = None
) -> EngineError:
    """Turn any SDK or transport exception into an EngineError with a readable message.

    `address` names the engine in the message; `forget` drops its cached clients when the connection
    itself broke, so the next call connects afresh.
    Never raises: whatever broke while talking to the engine becomes an EngineError, so streamed
    answers can always end with an error event instead of an exception after the response started.
    """
    if isinstance(e, EngineError):
        return e
    prefix = f"{what}: " if what else ""
    if isinstance(e, docker.errors.NotFound):
        return NotFound(prefix + _explanation(e))
    if isinstance(e, docker.errors.APIError):
        if e.status_code == 409:
            return Conflict(prefix + _explanation(e))
        return EngineError(prefix + _explanation(e))
    chain = _chain(e)
    if any(isinstance(c, _TLS) for c in chain):
        if forget:
            forget()
        return EngineUnavailable(address, f"TLS handshake or certificate failed ({_first(chain, _TLS)})")
    if any(type(c).__module__.split(".")[0] == "paramiko" for c in chain):
        if forget:
            forget()
        return EngineUnavailable(address, f"the SSH connection failed ({type(chain[-1]).__name__}: {chain[-1]})")
    if isinstance(chain[-1], _REFUSED):  # nobody listens: not started, wrong address, no permission
        if forget:
            forget()
        return EngineUnavailable(address, _reason(e))
    if any(isinstance(c, _TIMEOUT) for c in chain):
        return EngineTimeout(address, None)
    if any(isinstance(c, _LOST) for c in chain):
        if forget:
            forget()
        lost = chain[-1]
        return EngineLost(address, f"{type(lost).__name__}: {lost}" if str(lost) else type(lost).__name__)
    if isinstance(e, (requests.exceptions.ConnectionError, ConnectionError)):
        if forget:
            forget()
        return EngineUnavailable(address, _reason(e))
    if any(isinstance(c, (OSError, requests.exceptions.RequestException, urllib3.exceptions.HTTPError)) for c in chain):
        if forget:
            forget()
        return EngineLost(address, f"{type(chain[-1]).__name__}: {chain[-1]}")
    if isinstance(e, docker.errors.DockerException):
        return EngineError(prefix + str(e))
    return EngineError(f"{prefix}unexpected error talking to the engine ({type(e).__name__}: {e})")


_REFUSED = (FileNotFoundError, ConnectionRefusedError, PermissionError, socket.gaierror)


def _chain(e: BaseException) -> list[BaseException]:
    """e and what it wraps, outermost first: requests wraps urllib3's error, which wraps the socket's."""
    chain = [e]
    while len(chain) < 8:
        seen = chain[-1]
        inner = next((a for a in seen.args if isinstance(a, BaseException)), None)
        inner = inner or getattr(seen, "reason", None) or seen.__cause__ or seen.__context__
        if not isinstance(inner, BaseException) or inner in chain:
            break
        chain.append(inner)
    return chain


def _first(chain: list[BaseException], kinds: tuple) -> BaseException:
    return next(c for c in chain if isinstance(c, kinds))


def _explanation(e: docker.errors.APIError) -> str:
    text = e.explanation if isinstance(e.explanation, str) else str(e)
    return text or str(e)
