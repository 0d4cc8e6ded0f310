"""The Apache demo: both presets deployed through the streamed steps, and opened from the host."""

import asyncio
import json
import socket
import urllib.request

import pytest
from asgiref.sync import async_to_sync

from containers import engine
from containers.models import AuditEntry
from containers.ports import free_host_port
from tests.conftest import BUSYBOX, DEBIAN, TEMP_IMAGE_PREFIX, unique

pytestmark = pytest.mark.django_db


def deploy(client, preset: str, image: str, name: str, port: int, host_ip: str = "127.0.0.1") -> list[dict]:
    r = client.post(
        "/deploy/apache/run/",
        {"preset": preset, "image": image, "name": name, "host_ip": host_ip, "host_port": str(port)},
    )
    assert r.status_code == 200
    assert r["Content-Type"] == "application/x-ndjson"

    async def collect() -> list:
        return [chunk async for chunk in r.streaming_content]

    body = b"".join(async_to_sync(collect)()).decode()
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def steps(events: list[dict]) -> dict[str, str]:
    """The last status of each step, in order."""
    found: dict[str, str] = {}
    for e in events:
        if e["type"] == "step":
            found[e["step"]] = e["status"]
    return found


def fetch(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
        return r.read().decode("utf-8", "replace")


@pytest.fixture
def httpd_stand_in(dk, make_container):
    """An image standing in for httpd:2.4: busybox whose command serves "It works!" on port 80."""
    builder = make_container(command="sh -c 'mkdir -p /www && echo \"<h1>It works!</h1>\" > /www/index.html'")
    builder.wait(timeout=30)
    repository = f"{TEMP_IMAGE_PREFIX}httpd"
    builder.commit(repository=repository, tag="2.4", changes=['CMD ["httpd", "-f", "-p", "80", "-h", "/www"]'])
    return f"{repository}:2.4"


def test_it_offers_both_presets_with_a_free_port(admin_client):
    r = admin_client.get("/deploy/apache/")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'value="debian:bookworm"' in html
    assert 'value="httpd:2.4"' in html
    assert 'name="host_ip" value="127.0.0.1"' in html
    port = int(html.split('name="host_port" value="')[1].split('"')[0])
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # free indeed


@pytest.mark.parametrize("who", ["operator_client", "viewer_client"])
def test_it_is_for_admins_only(request, who, dk):
    client = request.getfixturevalue(who)
    assert client.get("/deploy/apache/").status_code == 403
    name = unique("apache-forbidden")
    r = client.post(
        "/deploy/apache/run/",
        {"preset": "official", "image": BUSYBOX, "name": name, "host_ip": "127.0.0.1", "host_port": "8080"},
    )
    assert r.status_code == 403
    assert client.post("/deploy/apache/remove/", {"container": name}).status_code == 403


def test_it_deploys_the_official_preset_pulling_it_first(admin_client, dk, httpd_stand_in):
    pushed = f"127.0.0.1:5000/{httpd_stand_in}"
    dk.images.get(httpd_stand_in).tag(pushed)
    for line in dk.images.push(pushed, stream=True, decode=True):
        assert "error" not in line, line
    dk.images.remove(pushed)

    name, port = unique("apache-official"), free_host_port()
    events = deploy(admin_client, "official", pushed, name, port)
    assert steps(events) == {"check": "ok", "pull": "ok", "run": "ok", "open": "ok"}, events
    assert any(e["type"] == "progress" and e["step"] == "pull" for e in events)
    run_title = next(e["title"] for e in events if e["type"] == "step" and e["step"] == "run")
    assert run_title == f"docker run -d --name {name} -p 127.0.0.1:{port}:80 {pushed}"
    assert events[-1] == {"type": "done", "url": f"http://127.0.0.1:{port}/", "container": name}
    assert "It works!" in fetch(port)
    c = dk.containers.get(name)
    assert c.attrs["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    entry = AuditEntry.objects.get(action="deploy.apache", target_name=name)
    assert entry.ok
    assert entry.params["ports"] == [f"127.0.0.1:{port}:80"]


@pytest.mark.slow
def test_it_deploys_the_seed_preset_installing_apache_from_debian(admin_client, dk):
    name, port = unique("apache-seed"), free_host_port()
    events = deploy(admin_client, "seed", DEBIAN, name, port)
    assert steps(events) == {
        "check": "ok",
        "pull": "ok",
        "run": "ok",
        "update": "ok",
        "install": "ok",
        "service": "ok",
        "open": "ok",
    }, [e for e in events if e["type"] != "output"][-5:]
    titles = {e["step"]: e["title"] for e in events if e["type"] == "step" and e["title"]}
    assert titles["run"] == f"docker run -d -i -t --name {name} -p 127.0.0.1:{port}:80 debian:bookworm"
    assert titles["install"] == f"docker exec {name} apt-get install -y apache2"
    install_output = "".join(e["text"] for e in events if e["type"] == "output" and e["step"] == "install")
    assert "Setting up apache2" in install_output
    assert events[-1]["type"] == "done"
    assert "It works" in fetch(port)


def test_it_stops_at_the_failing_step_and_leaves_the_container_to_remove(admin_client, dk):
    # busybox has no apt-get: the seed preset fails at the first exec, with the container kept
    name, port = unique("apache-broken"), free_host_port()
    events = deploy(admin_client, "seed", BUSYBOX, name, port)
    assert steps(events) == {"check": "ok", "pull": "ok", "run": "ok", "update": "failed"}
    failed = events[-1]
    assert failed["type"] == "error"
    assert failed["step"] == "update"
    assert failed["container"] == name
    assert "apt-get update exited with code" in failed["message"]
    assert dk.containers.get(name).status == "running"
    assert not AuditEntry.objects.get(action="deploy.apache", target_name=name).ok

    r = admin_client.post("/deploy/apache/remove/", {"container": name})
    assert r.status_code == 302
    with pytest.raises(Exception, match="No such container"):
        dk.containers.get(name)
    assert AuditEntry.objects.get(action="container.remove", target_name=name).ok


def test_it_reports_a_taken_port_at_the_check_step(admin_client, dk):
    name = unique("apache-busy")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        events = deploy(admin_client, "official", BUSYBOX, name, port)
    assert steps(events) == {"check": "failed"}
    assert f"127.0.0.1:{port}/tcp is already in use by a process on this host" in events[-1]["message"]
    assert events[-1]["container"] == ""
    assert name not in {n.lstrip("/") for c in dk.api.containers(all=True) for n in c["Names"]}


def test_it_reports_an_image_that_cannot_be_pulled_at_the_pull_step(admin_client):
    name = unique("apache-noimage")
    events = deploy(admin_client, "official", f"127.0.0.1:5000/{TEMP_IMAGE_PREFIX}nothing:2.4", name, free_host_port())
    assert steps(events) == {"check": "ok", "pull": "failed"}
    assert "was not found in its registry" in events[-1]["message"]


def test_it_removes_only_demo_containers(admin_client, make_container, dk):
    other = make_container()
    r = admin_client.post("/deploy/apache/remove/", {"container": other.name})
    assert r.status_code == 302
    assert dk.containers.get(other.name).status == "running"
    assert not AuditEntry.objects.get(action="container.remove", target_name=other.name).ok


def test_it_streams_exec_output_with_the_exit_code(make_container):
    c = make_container()
    events = list(
        engine.default_engine().exec_stream(c.id, ["sh", "-c", "echo out; echo err >&2; echo ünïcode; exit 3"])
    )
    # stdout and stderr are separate pipes: their relative order is not fixed
    lines = "".join(e.get("output", "") for e in events).splitlines()
    assert sorted(lines) == sorted(["out", "err", "ünïcode"])
    assert events[-1] == {"exit_code": 3}


async def test_it_streams_exec_output_without_blocking_the_event_loop(make_container):
    c = await asyncio.to_thread(make_container)
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    ticker = asyncio.create_task(tick())
    argv = ["sh", "-c", "sleep 1; echo a; sleep 1; echo b"]
    outputs = [
        e
        async for e in engine.default_engine().iterate_in_thread(
            lambda: engine.default_engine().exec_stream(c.id, argv)
        )
    ]
    ticker.cancel()
    assert [e.get("output") for e in outputs if "output" in e] == ["a\n", "b\n"]
    # a blocking read would have let the ticker run only between the two lines
    assert ticks >= 10
