"""The run form: docker run/create with -p rows, its live preview, validation, pull first, and clean failure."""

import json
import socket

import pytest
from asgiref.sync import async_to_sync

from containers.models import AuditEntry
from containers.ports import free_host_port
from tests.conftest import BUSYBOX, TEMP_IMAGE_PREFIX, unique

pytestmark = pytest.mark.django_db

HTTPD = "sh -c 'mkdir -p /www && echo It works > /www/index.html && httpd -f -p 80 -h /www'"


def row(container_port="", host_port="", host_ip="", protocol="tcp") -> dict:
    return {"host_ip": host_ip, "host_port": host_port, "container_port": container_port, "protocol": protocol}


def form_data(
    image=BUSYBOX,
    name="",
    command="",
    mode="run",
    flags="d",
    restart="no",
    publish="",
    rows=(),
    env=(),
    **extra,
) -> dict:
    data = {"mode": mode, "image": image, "name": name, "command": command, "restart": restart, "publish": publish}
    for flag, field in (("i", "interactive"), ("t", "tty"), ("d", "detach")):
        if flag in flags:
            data[field] = "on"
    data.update({"ports-TOTAL_FORMS": str(len(rows)), "ports-INITIAL_FORMS": "0"})
    for i, r in enumerate(rows):
        data.update({f"ports-{i}-{k}": v for k, v in r.items()})
    data.update({"env-TOTAL_FORMS": str(len(env)), "env-INITIAL_FORMS": "0"})
    for i, (k, v) in enumerate(env):
        data.update({f"env-{i}-key": k, f"env-{i}-value": v})
    data.update(extra)
    return data


def preview(client, **kw) -> str:
    r = client.post("/containers/new/preview/", form_data(**kw))
    assert r.status_code == 200
    html = r.content.decode()
    if 'id="run-command"' not in html:
        return html
    return html.split('id="run-command">')[1].split("</pre>")[0].replace("&#x27;", "'").replace("&quot;", '"')


def names(dk) -> set[str]:
    return {n.lstrip("/") for c in dk.api.containers(all=True) for n in c["Names"]}


def test_it_shows_the_form_with_local_images_to_an_admin(admin_client):
    r = admin_client.get("/containers/new/")
    assert r.status_code == 200
    html = r.content.decode()
    assert f'<option value="{BUSYBOX}">' in html
    for field in ("image", "name", "command", "interactive", "tty", "detach", "restart", "publish", "mode"):
        assert f'name="{field}"' in html, field
    assert 'name="ports-0-container_port"' in html
    assert 'id="ports-row-template"' in html


@pytest.mark.parametrize("who", ["operator_client", "viewer_client", "outsider_client"])
def test_it_is_for_admins_only(request, who, dk):
    client = request.getfixturevalue(who)
    assert client.get("/containers/new/").status_code == 403
    name = unique("forbidden")
    r = client.post("/containers/new/", form_data(name=name, command="sleep 30"))
    assert r.status_code == 403
    assert name not in names(dk)
    assert client.post("/containers/new/preview/", form_data()).status_code == 403


def test_it_refuses_get_on_the_fragments(admin_client):
    for url in ("/containers/new/preview/", "/containers/new/ports/", "/containers/new/pull/"):
        assert admin_client.get(url).status_code == 405


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        (
            {"image": "debian:bookworm", "name": "web", "flags": "dit", "publish": "-p 8080:80"},
            "docker run -d -i -t --name web -p 8080:80 debian:bookworm",
        ),
        (
            {"image": "debian:bookworm", "mode": "create", "name": "box", "flags": "dit"},
            "docker create -i -t --name box debian:bookworm",
        ),
        (
            {
                "image": "ubuntu:14.04",
                "flags": "it",
                "rows": [row("3306", "3306"), row("80", "7777", "192.168.0.100")],
            },
            "docker run -i -t -p 3306:3306 -p 192.168.0.100:7777:80 ubuntu:14.04",
        ),
        (
            {
                "image": BUSYBOX,
                "command": "sh -c 'echo \"$HOME\" it'\"'\"'s'",
                "env": [("GREETING", "hello world"), ("EMPTY", "")],
                "restart": "unless-stopped",
                "rows": [row("53", "", "::1", "udp"), row("80-82", "8000-8002")],
                "publish": "80",
            },
            "docker run -d -e 'GREETING=hello world' -e EMPTY= --restart unless-stopped "
            "-p '[::1]::53/udp' -p 8000-8002:80-82 -p 80 "
            f"{BUSYBOX} sh -c 'echo \"$HOME\" it'\"'\"'s'",
        ),
    ],
)
def test_it_previews_the_exact_command(admin_client, kw, expected):
    assert preview(admin_client, **kw) == expected


def test_it_previews_a_command_a_shell_reads_back_the_same(admin_client):
    import shlex

    cli = preview(admin_client, command="sh -c 'echo $((1+1)); ls \"/a b\"'", env=[("A", "x'y")], publish="-p 1:2")
    argv = shlex.split(cli)
    assert argv[argv.index("-e") + 1] == "A=x'y"
    assert argv[-3:] == ["sh", "-c", 'echo $((1+1)); ls "/a b"']


def test_it_lists_the_errors_instead_of_a_preview(admin_client):
    html = preview(admin_client, publish="-p 70000:80")
    assert "out of range" in html
    assert 'id="run-command"' not in html


def test_it_fills_rows_from_the_p_text(admin_client):
    data = form_data(rows=[row("22", "2222"), row()], publish="-p 3306:3306 -p 192.168.0.100:7777:80 -p [::1]::53/udp")
    r = admin_client.post("/containers/new/ports/", data)
    html = r.content.decode()
    assert 'name="ports-TOTAL_FORMS" value="4"' in html
    assert 'name="ports-0-host_port" value="2222"' in html
    assert 'name="ports-1-container_port" value="3306"' in html
    assert 'name="ports-2-host_ip" value="192.168.0.100"' in html
    assert 'name="ports-3-host_ip" value="::1"' in html
    assert '<option value="udp" selected>' in html
    assert 'name="publish" value=""' in html or 'name="publish" autocomplete' in html
    assert "ports-4-" not in html


def test_it_keeps_the_rows_and_text_when_the_p_text_is_wrong(admin_client):
    r = admin_client.post("/containers/new/ports/", form_data(rows=[row("22")], publish="-p 8000-8001:80"))
    html = r.content.decode()
    assert "same length" in html
    assert 'value="-p 8000-8001:80"' in html
    assert 'name="ports-0-container_port" value="22"' in html


def test_it_runs_with_two_bindings_and_a_random_host_port(admin_client, dk):
    name = unique("run")
    fixed_tcp, fixed_udp = free_host_port(), free_host_port()
    r = admin_client.post(
        "/containers/new/",
        form_data(
            name=name,
            command=HTTPD,
            flags="dit",
            rows=[row("80", str(fixed_tcp), "127.0.0.1"), row("5353", str(fixed_udp), "127.0.0.1", "udp")],
            publish="-p 127.0.0.1::8080",
            env=[("MODE", "demo")],
            restart="unless-stopped",
        ),
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    assert r["Location"] == f"/containers/{name}/"
    c = dk.containers.get(name)
    assert c.status == "running"
    assert c.attrs["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(fixed_tcp)}],
        "5353/udp": [{"HostIp": "127.0.0.1", "HostPort": str(fixed_udp)}],
        "8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
    }
    published = c.attrs["NetworkSettings"]["Ports"]
    assert published["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(fixed_tcp)}]
    assert published["5353/udp"] == [{"HostIp": "127.0.0.1", "HostPort": str(fixed_udp)}]
    random_port = int(published["8080/tcp"][0]["HostPort"])
    assert random_port > 0
    assert set(published) == {"80/tcp", "5353/udp", "8080/tcp"}
    assert c.attrs["Config"]["Tty"]
    assert c.attrs["Config"]["OpenStdin"]
    assert "MODE=demo" in c.attrs["Config"]["Env"]
    assert c.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    # the success message links every published port, the engine's pick included
    page = admin_client.get("/").content.decode()
    assert f'href="http://127.0.0.1:{random_port}/"' in page
    assert f'href="http://127.0.0.1:{fixed_tcp}/"' in page
    entry = AuditEntry.objects.get(action="container.run", target_name=name)
    assert entry.ok
    assert entry.params["ports"] == [f"127.0.0.1:{fixed_tcp}:80", f"127.0.0.1:{fixed_udp}:5353/udp", "127.0.0.1::8080"]
    assert entry.params["environment"] == ["MODE=***"]
    assert f"http://127.0.0.1:{random_port}/ -> 8080/tcp" in entry.params["published"]


def test_it_creates_without_starting(admin_client, dk):
    name = unique("create")
    r = admin_client.post(
        "/containers/new/", form_data(name=name, mode="create", flags="it", command="sh", publish="-p 80")
    )
    assert r.status_code == 302
    c = dk.containers.get(name)
    assert c.status == "created"
    assert c.attrs["Config"]["Cmd"] == ["sh"]
    assert c.attrs["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": ""}]}
    assert AuditEntry.objects.get(action="container.create", target_name=name).params["mode"] == "create"


def test_run_it_without_d_lands_in_the_attached_terminal_as_the_cli_does(admin_client, dk):
    name = unique("it")
    r = admin_client.post("/containers/new/", form_data(name=name, flags="it", command="sh"))
    assert r.status_code == 302
    assert r.url == f"/containers/{name}/attach/"
    assert dk.containers.get(name).status == "running"
    # with -d it stays on the container's page, as `docker run -d -i -t` returns at once
    detached = unique("itd")
    r = admin_client.post("/containers/new/", form_data(name=detached, flags="itd", command="sh"))
    assert r.url == f"/containers/{detached}/"


def test_it_creates_from_a_full_image_id_as_the_cli_does(admin_client, dk):
    image_id = dk.images.get(BUSYBOX).id  # sha256:<64 hex>
    for i, image in enumerate((image_id, image_id.split(":", 1)[1])):
        name = unique(f"byid{i}")
        r = admin_client.post("/containers/new/", form_data(image=image, name=name, mode="create", command="true"))
        assert r.status_code == 302, r.content.decode()[:2000]
        assert dk.containers.get(name).image.id == image_id


def test_it_removes_a_container_that_cannot_start(admin_client, dk):
    name = unique("nostart")
    r = admin_client.post("/containers/new/", form_data(name=name, command="/no/such/program"))
    assert r.status_code == 200
    html = r.content.decode()
    assert "could not start, so it was removed again" in html
    assert "/no/such/program" in html  # the engine's own message
    assert name not in names(dk)
    entry = AuditEntry.objects.get(action="container.run", target_name=name)
    assert not entry.ok
    assert "/no/such/program" in entry.result


@pytest.mark.parametrize(
    ("kw", "field_html", "message"),
    [
        ({"rows": [row("0")]}, 'name="ports-0-container_port"', "out of range: ports are 1-65535"),
        ({"rows": [row("80", "65536")]}, 'name="ports-0-host_port"', "out of range"),
        ({"rows": [row("80", "8080", "10.0.0.300")]}, 'name="ports-0-host_ip"', "not a valid IPv4 or IPv6"),
        ({"rows": [row("80-81", "8080-8082")]}, 'name="ports-0-host_port"', "must be ranges of the same length"),
        ({"publish": "-p 8000-8002:80"}, 'name="publish"', "same length"),
        ({"image": "Debian:Bookworm"}, 'name="image"', "must be lowercase"),
        ({"image": "debian bookworm"}, 'name="image"', "contains spaces"),
        ({"name": "bad name!"}, 'name="name"', "is not a valid name"),
        ({"name": "-leading"}, 'name="name"', "is not a valid name"),
        ({"command": "sh -c 'unclosed"}, 'name="command"', "cannot read the command"),
        ({"env": [("BAD KEY", "1")]}, 'name="env-0-key"', "is not a variable name"),
    ],
)
def test_it_shows_each_error_on_its_field(admin_client, dk, kw, field_html, message):
    name = kw.pop("name", unique("invalid"))
    r = admin_client.post("/containers/new/", form_data(name=name, command=kw.pop("command", "sleep 30"), **kw))
    assert r.status_code == 200
    html = r.content.decode()
    assert message in html
    # the message sits in the same block (row cell or field) as the input
    cell = html[html.index(field_html) :][:1500]
    assert message.split(":")[0] in cell, cell
    assert name not in names(dk)


def test_it_refuses_the_same_host_port_twice(admin_client, dk):
    name = unique("twice")
    port = str(free_host_port())
    r = admin_client.post(
        "/containers/new/",
        form_data(name=name, command="sleep 30", rows=[row("80", port, "127.0.0.1"), row("81", port)]),
    )
    html = r.content.decode()
    assert f"host port 0.0.0.0:{port}/tcp is bound twice in this form" in html
    cell = html[html.index('name="ports-1-host_port"') :][:600]
    assert "bound twice" in cell
    assert name not in names(dk)


def test_it_refuses_a_port_another_container_publishes(admin_client, dk, make_container):
    port = free_host_port()
    other = make_container(ports={"80/tcp": ("127.0.0.1", port)})
    name = unique("taken-port")
    r = admin_client.post(
        "/containers/new/", form_data(name=name, command="sleep 30", publish=f"-p 127.0.0.1:{port}:80")
    )
    html = r.content.decode()
    assert f"host port {port}/tcp is already published by container {other.name}" in html
    assert name not in names(dk)


def test_it_refuses_a_port_a_host_process_holds(admin_client, dk):
    name = unique("busy-port")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = admin_client.post(
            "/containers/new/", form_data(name=name, command="sleep 30", rows=[row("80", str(port), "127.0.0.1")])
        )
    html = r.content.decode()
    assert f"host port 127.0.0.1:{port}/tcp is already in use by a process on this host" in html
    assert name not in names(dk)


def test_it_refuses_a_name_already_taken(admin_client, dk, make_container):
    other = make_container()
    r = admin_client.post("/containers/new/", form_data(name=other.name, command="sleep 30"))
    html = r.content.decode()
    assert f"The name &#x27;{other.name}&#x27; is already used by another container." in html
    assert other.name in names(dk)
    assert dk.containers.get(other.name).id == other.id


def ndjson(response) -> list[dict]:
    """The events of an NDJSON response (its body is an async generator, as served under ASGI)."""

    async def collect() -> list:
        return [chunk async for chunk in response.streaming_content]

    body = b"".join(async_to_sync(collect)()).decode()
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def test_it_pulls_a_missing_image_first_with_progress(admin_client, dk, registry_image):
    pushed = registry_image("run")

    name = unique("pulled")
    data = form_data(image=pushed, name=name, command="sleep 30")
    r = admin_client.post("/containers/new/", data)
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="pull"' in html
    assert f'data-image="{pushed}"' in html
    assert f'name="name" value="{name}"' in html  # the form travels along, to be submitted again
    assert name not in names(dk)

    events = ndjson(admin_client.post("/containers/new/pull/", {"image": pushed}))
    assert any(e["type"] == "progress" and e["total"] for e in events), events
    assert events[-1] == {"type": "done", "image": pushed}
    assert AuditEntry.objects.get(action="image.pull", target_name=pushed).ok

    r = admin_client.post("/containers/new/", {**data, "pulled": "1"})
    assert r.status_code == 302
    assert dk.containers.get(name).status == "running"


def test_it_streams_a_failed_pull_as_an_error(admin_client):
    missing = f"127.0.0.1:5000/{TEMP_IMAGE_PREFIX}missing:v1"
    events = ndjson(admin_client.post("/containers/new/pull/", {"image": missing}))
    assert events[-1]["type"] == "error"
    assert "was not found in its registry" in events[-1]["message"]
    assert not AuditEntry.objects.get(action="image.pull", target_name=missing).ok


def test_it_goes_back_from_the_pull_page_with_the_form_as_it_was(admin_client, dk):
    name = unique("back")
    r = admin_client.post(
        "/containers/new/", form_data(image="127.0.0.1:5000/nothing:v1", name=name, publish="-p 80", edit="1")
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="run-form"' in html
    assert f'value="{name}"' in html
    assert 'value="-p 80"' in html
    assert name not in names(dk)
