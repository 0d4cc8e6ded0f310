"""The panel prints containers and images exactly as the docker CLI does (real captured engine data).

tests/data/cli_capture.json holds /containers/json, inspect, /images/json and history from a real
engine next to what the current docker CLI (28, in /usr/local/bin on these machines) printed at the
same moment (scripts/capture_cli_data.py makes it).
"""

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from containers import cli

DATA = json.loads((Path(__file__).parent / "data" / "cli_capture.json").read_text())
# the current CLI, as users run it (Debian's 20.10 client is /usr/bin/docker)
DOCKER = "/usr/local/bin/docker" if Path("/usr/local/bin/docker").exists() else shutil.which("docker")
PS = {line[0]: line for line in DATA["ps"]}  # ID -> ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES


def rows():
    for row in DATA["containers_json"]:
        yield row, PS[row["Id"][:12]]


def test_it_prints_the_ps_columns_as_the_cli_did():
    for row, printed in rows():
        assert cli.short_id(row["Id"]) == printed[0]
        assert cli.image(row["Image"], row["ImageID"]) == printed[1]
        assert cli.command(row["Command"]) == printed[2]
        assert cli.ago(row["Created"], DATA["now"]) == printed[3]
        assert cli.ports(row["Ports"]) == printed[5], row["Ports"]
        assert cli.names(row["Names"]) == printed[6]


def test_it_groups_equal_port_ranges_then_lists_mappings_like_the_cli():
    ports_row = next(r for r in DATA["containers_json"] if r["Names"] == ["/dp-capture-ports"])
    text = cli.ports(ports_row["Ports"])
    assert text.startswith("0.0.0.0:")
    assert "->80/tcp, [::]:" in text
    assert text.endswith("->81/udp")
    assert cli.ports([{"PrivatePort": 9000, "Type": "tcp"}]) == "9000/tcp"


def test_it_links_only_published_tcp_ports_to_the_right_host():
    ports_row = next(r for r in DATA["containers_json"] if r["Names"] == ["/dp-capture-ports"])
    groups = cli.port_groups(ports_row["Ports"])
    published = [p for g in groups for p in g.published]
    udp = next(g for g in groups if g.text.endswith("/udp"))
    assert udp.published == ()
    assert len(published) == 6  # 2 range ports + 1 random port, each on 0.0.0.0 and ::
    assert cli.port_url("0.0.0.0", 8080, "panel.example") == "http://panel.example:8080/"
    assert cli.port_url("::", 8080, "panel.example") == "http://panel.example:8080/"
    # an IPv6 binding's loopback link is IPv6 (a random port may differ from the IPv4 one)
    assert cli.port_url("::", 8080, "127.0.0.1") == "http://[::1]:8080/"
    assert cli.port_url("::", 8080, "localhost", panel_host="127.0.0.1") == "http://[::1]:8080/"
    assert cli.port_url("::", 8080, "localhost", panel_host="::1") == "http://localhost:8080/"
    assert cli.port_url("127.0.0.1", 8080, "panel.example") == "http://127.0.0.1:8080/"
    assert cli.port_url("0.0.0.0", 8080, "::1") == "http://[::1]:8080/"


def test_it_words_status_from_inspect_as_the_engine_does():
    for info in DATA["inspect"]:
        printed = PS[info["Id"][:12]]
        assert cli.status(info["State"], DATA["now"]) == printed[4]


def test_it_words_status_later_in_a_containers_life():
    by_name = {i["Name"]: i["State"] for i in DATA["inspect"]}
    exited = by_name["/dp-capture-exited"]
    finished = cli.parse_time(exited["FinishedAt"])
    assert cli.status(exited, finished + 2 * 3600) == "Exited (3) 2 hours ago"
    paused = by_name["/dp-capture-paused"]
    started = cli.parse_time(paused["StartedAt"])
    assert cli.status(paused, started + 61) == "Up About a minute (Paused)"
    running = by_name["/dp-capture-ports"]
    assert cli.status(running, cli.parse_time(running["StartedAt"]) + 3 * 60 + 5) == "Up 3 minutes"
    assert cli.status(by_name["/dp-capture-created"]) == "Created"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0.5, "Less than a second"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "About a minute"),
        (119, "About a minute"),
        (120, "2 minutes"),
        (3599, "59 minutes"),
        (3600, "About an hour"),
        (5400, "2 hours"),
        (47 * 3600, "47 hours"),
        (3 * 86400, "3 days"),
        (15 * 86400, "2 weeks"),
        (70 * 86400, "2 months"),
        (800 * 86400, "2 years"),
    ],
)
def test_it_counts_durations_like_go_units(seconds, words):
    assert cli.human_duration(seconds) == words


def test_it_quotes_and_cuts_commands_like_the_cli():
    assert cli.command("sleep 3600") == '"sleep 3600"'
    assert cli.command("docker-entrypoint.sh mysqld") == '"docker-entrypoint.s…"'
    assert cli.command('echo "hi"\n') == '"echo \\"hi\\"\\n"'
    assert cli.command("docker-entrypoint.sh mysqld", trunc=False) == '"docker-entrypoint.sh mysqld"'


def test_it_prints_images_as_docker_images_did():
    ids = {cli.short_id(i["Id"]): i for i in DATA["images_json"]}
    for repository, tag, image_id, size in DATA["images_cli"]:
        if image_id not in ids:
            continue
        image = ids[image_id]
        assert (repository, tag) in cli.image_rows(image)
        assert cli.size(image["Size"]) == size


def test_it_prints_history_as_docker_history_did():
    for layer, (image_id, created_by, size) in zip(DATA["history_debian"], DATA["history_debian_cli"], strict=True):
        assert cli.short_id(layer["Id"]) == image_id or layer["Id"] == "<missing>"
        assert cli.created_by(layer["CreatedBy"]) == created_by
        assert cli.size(layer["Size"]) == size


def test_it_names_dangling_images_none():
    assert cli.image_rows({"RepoTags": ["<none>:<none>"], "RepoDigests": []}) == [("<none>", "<none>")]
    assert cli.image_rows({"RepoTags": None, "RepoDigests": ["reg/app@sha256:ab"]}) == [("reg/app", "<none>")]
    assert [cli.size(n) for n in (999, 1_980_000, 117_300_000)] == ["999B", "1.98MB", "117MB"]


def test_it_prints_size_as_docker_ps_s_did():
    """tests/data/cli_capture_size.json: containers that wrote nothing, bytes, kB and MB, next to
    `docker ps -a -s` (scripts/capture_cli_data.py --size)."""
    sized = json.loads((Path(__file__).parent / "data" / "cli_capture_size.json").read_text())
    printed = dict(sized["ps"])  # short ID -> SIZE
    assert len(printed) == len(sized["containers_json"]) == 6
    for row in sized["containers_json"]:
        # the engine leaves out a size of 0 (SizeRw of a container that wrote nothing)
        shown = cli.container_size(row.get("SizeRw") or 0, row.get("SizeRootFs") or 0)
        assert shown == printed[row["Id"][:12]], row["Names"]
    assert {"0B (virtual 1.98MB)", "5B (virtual 1.98MB)", "12kB (virtual 2MB)", "1.53MB (virtual 3.52MB)"} <= set(
        printed.values()
    )
    assert sized["header"].split()[-1] == "SIZE"  # the last column of docker ps -s
    # without a total from the engine, the CLI prints the writable layer alone
    assert cli.container_size(0, 0) == "0B"
    assert cli.container_size(999_999, 0) == "1e+03kB"  # Go's %.3g, as go-units HumanSizeWithPrecision
    assert cli.format_template(["names", "size"]) == "table {{.Names}}\\t{{.Size}}"


def test_it_matches_the_cli_on_a_live_container(dk, make_container):
    c = make_container(ports={"80/tcp": None, "81/tcp": ("127.0.0.1", None)})
    row = dk.api.containers(all=True, filters={"id": c.id})[0]
    before = time.time()
    printed = subprocess.run(
        [DOCKER, "ps", "-a", "--filter", f"id={c.id}", "--format", "{{.Ports}}\t{{.Status}}\t{{.Command}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    after = time.time()
    state = dk.api.inspect_container(c.id)["State"]
    ports, status, command = printed.split("\t")
    assert cli.ports(row["Ports"]) == ports
    assert cli.command(row["Command"]) == command
    # The CLI asked the engine somewhere between before and after: a second may tick over.
    assert status in (cli.status(state, before), cli.status(state, after))


def test_it_brackets_ipv6_host_addresses_as_cli_28_does():
    ports = [
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"IP": "::1", "PrivatePort": 80, "PublicPort": 9000, "Type": "tcp"},
    ]
    assert cli.ports(ports) == "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp, [::1]:9000->80/tcp"
    ranges = [{"IP": "::", "PrivatePort": p, "PublicPort": p, "Type": "tcp"} for p in (7000, 7001)]
    assert cli.ports(ranges) == "[::]:7000-7001->7000-7001/tcp"


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("library/ubuntu", "ubuntu"),
        ("docker.io/library/ubuntu:22.04", "ubuntu:22.04"),
        ("index.docker.io/library/ubuntu", "ubuntu"),
        ("docker.io/team/app:v1", "team/app:v1"),
        ("team/app", "team/app"),
        # a different repository from team/app: never renamed to it
        ("docker.io/library/team/app", "library/team/app"),
        ("localhost/library/ubuntu", "localhost/library/ubuntu"),
        ("127.0.0.1:5000/library/app:1", "127.0.0.1:5000/library/app:1"),
        ("ubuntu:22.04@sha256:" + "a" * 64, "ubuntu:22.04"),
        ("docker.io/library/ubuntu@sha256:" + "a" * 64, "ubuntu"),
        ("Team/App", "Team/App"),  # not a reference: shown as stored
    ],
)
def test_it_shows_familiar_image_names_as_the_cli_does(stored, shown):
    assert cli.image(stored, "sha256:" + "b" * 64) == shown


def test_it_cuts_by_display_width_where_the_cli_does():
    # CJK and emoji take two cells: the CLI cuts "안녕하세요" in 6 cells to two characters and "…"
    assert cli.ellipsis("안녕하세요", 6) == "안녕…"
    assert cli.ellipsis("안녕하", 6) == "안녕하"
    assert cli.command("echo 😀😀😀😀😀😀😀😀😀😀") == '"echo 😀😀😀😀😀😀😀…"'
    assert cli.command("echo 한국어 명령어 테스트입니다") == '"echo 한국어 명령어 …"'
    assert (
        cli.created_by("RUN echo 도커 이미지 레이어를 만드는 명령입니다 정말 길어요")
        == "RUN echo 도커 이미지 레이어를 만드는 명령입…"
    )
    assert cli.ellipsis("abcdefghijklmnopqrstuvwxyz", 20) == "abcdefghijklmnopqrs…"


def test_it_shows_a_zero_creation_time_as_na():
    assert cli.created(-62135596800) == "N/A"  # Go's zero time
    assert cli.created(0) == "N/A"
    assert cli.created("0001-01-01T00:00:00Z") == "N/A"
    assert cli.created(DATA["now"] - 300, DATA["now"]) == "5 minutes ago"


def test_the_cli_itself_cuts_wide_characters_as_the_panel(dk, make_container):
    command = ["sh", "-c", "echo 안녕하세요 세계 😀😀 도커"]
    c = make_container(command=command)
    row = dk.api.containers(all=True, filters={"id": c.id})[0]
    printed = subprocess.run(
        [DOCKER, "ps", "-a", "--filter", f"id={c.id}", "--format", "{{.Command}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert cli.command(row["Command"]) == printed


@pytest.mark.django_db
def test_every_port_link_on_the_list_opens(viewer_client, make_container, dk):
    """A random port is published on 0.0.0.0 and on :: (the engine may pick two different ports):
    each link reaches the container, the IPv6 one included."""
    import re

    import requests

    c = make_container(command=["httpd", "-f", "-p", "80"], ports={"80/tcp": None})
    html = viewer_client.get("/containers/?all=1", HTTP_HOST="localhost:8000").content.decode()
    row = re.search(rf'<tr data-id="[0-9a-f]+" data-name="{c.name}">(.*?)</tr>', html, re.S).group(1)
    links = re.findall(r'<a href="(http://[^"]+)"', row)
    bindings = dk.api.inspect_container(c.id)["NetworkSettings"]["Ports"]["80/tcp"]
    assert len(links) == len(bindings) == 2, row
    for url in links:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = requests.get(url, timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, f"{url} does not open"
                time.sleep(0.2)
        assert answer.status_code in (200, 404), url  # busybox httpd answers; nothing refused it
