"""The -p grammar: the CLI's forms parse, render back the same, reach the SDK right, and bad input is refused."""

import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from containers import ports
from containers.ports import PortBinding, PortError, PortRange

pytestmark = pytest.mark.unit


def r(a: int, b: int | None = None) -> PortRange:
    return PortRange(a, a if b is None else b)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8080:80", [PortBinding(r(80), r(8080))]),
        ("127.0.0.1:8080:80", [PortBinding(r(80), r(8080), "127.0.0.1")]),
        ("80", [PortBinding(r(80))]),
        ("8080:80/udp", [PortBinding(r(80), r(8080), protocol="udp")]),
        ("[::1]:8080:80", [PortBinding(r(80), r(8080), "::1")]),
        ("8000-8002:80-82", [PortBinding(r(80, 82), r(8000, 8002))]),
        ("127.0.0.1::80", [PortBinding(r(80), None, "127.0.0.1")]),
        (
            "-p 3306:3306 -p 192.168.0.100:7777:80",
            [PortBinding(r(3306), r(3306)), PortBinding(r(80), r(7777), "192.168.0.100")],
        ),
        (
            "--publish 80 --publish=8443:443/tcp -p8080:8080",
            [PortBinding(r(80)), PortBinding(r(443), r(8443)), PortBinding(r(8080), r(8080))],
        ),
        ("  8080:80\n 53:53/udp ", [PortBinding(r(80), r(8080)), PortBinding(r(53), r(53), protocol="udp")]),
    ],
)
def test_it_parses_the_clis_forms(text, expected):
    assert ports.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message", "field"),
    [
        ("0:80", "out of range", "host_port"),
        ("8080:65536", "out of range", "container_port"),
        ("300.1.1.1:8080:80", "not a valid IPv4 or IPv6", "host_ip"),
        ("8000-8002:80", "same length", "host_port"),
        ("8000-8001:80-82", "same length", "host_port"),
        ("9000-8000:80-81", "ends before it starts", "host_port"),
        ("http:80", "not a number", "host_port"),
        ("8080:80/icmp", "protocol 'icmp'", "protocol"),
        ("::1:8080:80", "IPv6 addresses in brackets", ""),
        ("[::1]8080:80", "[address]:host_port:container_port", ""),
        (":80", "host port before ':' is missing", "host_port"),
        ("-p", "has no value", ""),
        ("-e FOO=1", "not a -p option", ""),
        ("'8080:80", "cannot read", ""),
        ("8080:", "container port is missing", "container_port"),
    ],
)
def test_it_rejects_bad_values_saying_what_is_wrong(text, message, field):
    with pytest.raises(PortError, match=message.replace("[", r"\[").replace("]", r"\]")) as e:
        ports.parse(text)
    assert e.value.field == field


def test_it_renders_bindings_as_cli_text_that_a_shell_reads_back():
    bindings = ports.parse("-p 127.0.0.1:8080:80 -p [::1]::53/udp -p 8000-8002:80-82 -p 443")
    assert ports.to_cli(bindings) == "-p 127.0.0.1:8080:80 -p '[::1]::53/udp' -p 8000-8002:80-82 -p 443"


def test_it_builds_the_sdk_ports_argument_with_ranges_expanded():
    bindings = ports.parse("-p 127.0.0.1:8080:80 -p 80 -p 8000-8001:90-91/udp -p 127.0.0.1::81")
    assert ports.to_sdk(bindings) == {
        "80/tcp": [("127.0.0.1", 8080), None],
        "90/udp": [8000],
        "91/udp": [8001],
        "81/tcp": [("127.0.0.1",)],
    }


def test_it_finds_a_host_port_bound_twice():
    bindings = ports.parse("-p 8080:80 -p 127.0.0.1:8080:81 -p 8080:80/udp -p 9000-9001:90-91 -p 9001:92 -p 80")
    assert ports.duplicates(bindings) == [
        (1, "host port 127.0.0.1:8080/tcp is bound twice in this form"),
        (4, "host port 0.0.0.0:9001/tcp is bound twice in this form"),
    ]
    assert ports.duplicates(ports.parse("-p 127.0.0.1:8080:80 -p 127.0.0.2:8080:80")) == []


def test_it_sees_a_port_a_host_process_holds():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert not ports.host_port_free("127.0.0.1", port)
        assert not ports.host_port_free("", port)
    assert ports.host_port_free("127.0.0.1", ports.free_host_port())
    with pytest.raises(PortError, match="not an address of this host"):
        ports.host_port_free("192.0.2.77", 8080)


# Property tests: canonical text, written independently of to_text, survives text -> bindings -> text.

protocols = st.sampled_from(ports.PROTOCOLS)


@st.composite
def specs(draw) -> str:
    length = draw(st.integers(1, 4))
    c = draw(st.integers(1, 65536 - length))
    container = str(c) if length == 1 else f"{c}-{c + length - 1}"
    host = ""
    if draw(st.booleans()):
        h = draw(st.integers(1, 65536 - length))
        host = str(h) if length == 1 else f"{h}-{h + length - 1}"
    ip = draw(st.one_of(st.just(""), st.ip_addresses().map(str)))
    proto = draw(protocols)
    text = container
    if ip:
        text = f"[{ip}]:{host}:{container}" if ":" in ip else f"{ip}:{host}:{container}"
    elif host:
        text = f"{host}:{container}"
    return text if proto == "tcp" else f"{text}/{proto}"


@given(st.lists(specs(), min_size=1, max_size=4))
def test_it_round_trips_cli_text(values):
    import shlex

    text = " ".join(f"-p {shlex.quote(v)}" for v in values)
    bindings = ports.parse(text)
    assert ports.to_cli(bindings) == text
    assert ports.parse(ports.to_cli(bindings)) == bindings
    assert [ports.to_text(b) for b in bindings] == values


@given(st.text(max_size=40))
def test_it_refuses_any_bad_text_with_a_message(text):
    try:
        bindings = ports.parse(text)
    except PortError as e:
        message = str(e)
        bindings = []
    else:
        message = "parsed"
    assert message
    for b in bindings:
        assert 1 <= b.container.start <= b.container.end <= 65535
        assert b.host is None or len(b.host) == len(b.container)
        assert b.protocol in ports.PROTOCOLS


@given(
    st.one_of(st.integers(65536, 10**6), st.just(0)),
    st.integers(1, 65535),
    st.booleans(),
)
def test_it_always_refuses_ports_out_of_range(bad, good, bad_is_host):
    text = f"{bad}:{good}" if bad_is_host else f"{good}:{bad}"
    with pytest.raises(PortError, match="out of range"):
        ports.parse(text)


@given(st.integers(1, 1000), st.integers(0, 5), st.integers(0, 5))
def test_it_always_refuses_ranges_of_different_length(start, a, b):
    if a == b:
        b += 1
    with pytest.raises(PortError, match="same length"):
        ports.parse(f"{start}-{start + a}:{start}-{start + b}")


@given(st.text(alphabet="0123456789.:abcdefxyz", min_size=1, max_size=20))
def test_it_refuses_host_ips_that_are_not_addresses(ip):
    import ipaddress

    try:
        ipaddress.ip_address(ip)
        return
    except ValueError:
        pass
    with pytest.raises(PortError):
        ports.parse(f"{ip}:8080:80" if ":" not in ip else f"[{ip}]:8080:80")


def test_a_published_port_opens_where_its_engine_runs():
    from containers.engine import PublishedPort

    assert PublishedPort(80, "tcp", "0.0.0.0", 8080).url == "http://127.0.0.1:8080/"
    assert PublishedPort(80, "tcp", "::", 8080).url == "http://[::1]:8080/"
    # a remote host's wildcard bindings open on that host; a specific address stays as it is
    assert PublishedPort(80, "tcp", "0.0.0.0", 8080).url_on("docker2.lan") == "http://docker2.lan:8080/"
    assert PublishedPort(80, "tcp", "::", 8080).url_on("fd00::5") == "http://[fd00::5]:8080/"
    assert PublishedPort(80, "tcp", "10.0.0.7", 8080).url_on("docker2.lan") == "http://10.0.0.7:8080/"
    assert PublishedPort(80, "tcp", "0.0.0.0", 8080).url_on("") == "http://127.0.0.1:8080/"
