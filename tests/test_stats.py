"""Container stats: the live socket and panel, and the list's CPU/memory endpoint, checked against
`docker stats --no-stream` on real containers."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import threading
import time

import pytest
from asgiref.sync import sync_to_async

from containers import engine, sampler
from tests.websockets import communicator, session_cookie_for

pytestmark = pytest.mark.django_db(transaction=True)

BURN = ["sh", "-c", "while :; do :; done"]
UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4}


def docker_stats(name: str) -> dict:
    """What the docker CLI says, as {"cpu": float, "mem": bytes, "limit": text, "pids": text}."""
    out = subprocess.run(
        ["docker", "stats", "--no-stream", "--format", "{{json .}}", name],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    row = json.loads(out)
    used, limit = (part.strip() for part in row["MemUsage"].split("/"))
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", used).groups()
    return {
        "cpu": float(row["CPUPerc"].rstrip("%")),
        "mem": float(number) * UNITS[unit],
        "limit": limit,
        "pids": row["PIDs"],
    }


async def open_stats(name: str, user: str = "viewer", role: str | None = "viewer"):
    ws = communicator(f"/ws/containers/{name}/stats/", await session_cookie_for(user, role))
    connected, _ = await ws.connect()
    assert connected
    return ws


async def samples(ws, count: int) -> list[dict]:
    got = []
    while len(got) < count:
        message = await ws.receive_json_from(timeout=10)
        if message["type"] == "sample":
            got.append(message)
    return got


async def test_it_closes_an_anonymous_stats_socket_with_4401(make_container):
    c = await sync_to_async(make_container)()
    ws = communicator(f"/ws/containers/{c.name}/stats/")
    connected, _ = await ws.connect()
    assert connected
    assert await ws.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}
    await ws.disconnect()


async def test_it_closes_the_stats_socket_of_a_user_without_a_role_with_4403(make_container):
    c = await sync_to_async(make_container)()
    ws = await open_stats(c.name, user="outsider", role=None)
    assert await ws.receive_output(timeout=2) == {"type": "websocket.close", "code": 4403}
    await ws.disconnect()


async def test_it_streams_the_numbers_docker_stats_shows_for_a_busy_container(make_container):
    c = await sync_to_async(make_container)(command=BURN)
    ws = await open_stats(c.name)
    assert await ws.receive_json_from(timeout=10) == {"type": "start", "name": c.name}
    first = (await samples(ws, 1))[0]
    # the CLI samples while we do, so both see the same share of a busy machine
    cli_running = asyncio.create_task(asyncio.to_thread(docker_stats, c.name))
    later = await samples(ws, 3)
    cli = await cli_running
    await ws.disconnect()
    # the first sample has no previous one to take a CPU delta from
    assert first["usage"]["cpu_percent"] is None
    assert first["text"]["cpu"] == "--"
    ours = sum(s["usage"]["cpu_percent"] for s in later) / len(later)
    assert cli["cpu"] > 5, cli  # the container burns CPU (one CPU on an idle machine)
    assert abs(ours - cli["cpu"]) < 25, (ours, cli)
    last = later[-1]
    assert abs(last["usage"]["mem_usage"] - cli["mem"]) < max(cli["mem"] * 0.1, 1024**2), (last, cli)
    assert last["text"]["mem"].split(" / ")[1] == cli["limit"]
    assert last["text"]["pids"] == cli["pids"]
    assert last["usage"]["mem_limit"] > 0
    assert last["text"]["cpu"].endswith("%")


async def test_it_says_when_the_container_is_not_running(make_container):
    c = await sync_to_async(make_container)(command="true", start=False)
    ws = await open_stats(c.name)
    assert (await ws.receive_json_from(timeout=10))["type"] == "start"
    assert await ws.receive_json_from(timeout=10) == {"type": "stopped"}
    await ws.disconnect()


async def test_it_explains_an_unknown_container_on_the_stats_socket():
    ws = await open_stats("dp-test-nothing-here")
    assert (await ws.receive_json_from(timeout=5))["type"] == "error"
    assert await ws.receive_output(timeout=2) == {"type": "websocket.close", "code": 4404}
    await ws.disconnect()


def test_it_requires_login_for_the_stats_pages(client, viewer_user, make_container):
    c = make_container()
    for path in (f"/containers/{c.name}/stats/", "/containers/stats.json"):
        r = client.get(path)
        assert r.status_code == 302, path
        assert r["Location"].startswith("/accounts/login/")


def test_it_refuses_stats_to_a_user_without_a_role(outsider_client, make_container):
    c = make_container()
    assert outsider_client.get(f"/containers/{c.name}/stats/").status_code == 403
    assert outsider_client.get("/containers/stats.json").status_code == 403


def test_it_shows_the_stats_page_and_the_embeddable_panel(viewer_client, make_container):
    c = make_container()
    page = viewer_client.get(f"/containers/{c.name}/stats/").content.decode()
    assert "<html" in page
    assert f'data-stats-ref="{c.name}"' in page
    assert "js/stats." in page
    panel = viewer_client.get(f"/containers/{c.name}/stats/?embed=1").content.decode()
    assert "<html" not in panel
    assert '<section class="card stats-panel"' in panel
    assert "js/stats." in panel  # the fragment brings its script and styles along
    assert f'data-stats-ref="{c.name}"' in panel
    from_htmx = viewer_client.get(f"/containers/{c.name}/stats/", headers={"HX-Request": "true"})
    assert from_htmx.content.decode() == panel


def test_a_stopped_container_has_no_connecting_charts(viewer_client, make_container):
    c = make_container(start=False)
    for url in (f"/containers/{c.name}/stats/", f"/containers/{c.name}/stats/?embed=1"):
        html = viewer_client.get(url).content.decode()
        assert f"{c.name} is not running: it uses no CPU or memory." in html
        assert "connecting…" not in html
        assert "<svg" not in html
        assert "js/stats." not in html


def test_it_lists_cpu_and_memory_of_running_containers_from_the_background_sampler(viewer_client, make_container):
    busy = make_container(command=BURN)
    idle = make_container()
    stopped = make_container(start=False)
    url = "/containers/stats.json?ids=" + ",".join([busy.id, idle.id, stopped.id])
    deadline = time.monotonic() + 30
    while True:
        body = viewer_client.get(url).json()
        numbers = body["containers"]
        if numbers.get(busy.id, {}).get("cpu_percent") and idle.id in numbers:
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.5)
    assert numbers[busy.id]["name"] == busy.name
    assert numbers[busy.id]["cpu_percent"] > 5
    assert (numbers[idle.id]["cpu_percent"] or 0) < numbers[busy.id]["cpu_percent"]
    assert numbers[busy.id]["mem_usage"] > 0
    assert numbers[busy.id]["mem_limit"] > 0
    assert numbers[busy.id]["text"]["cpu"].endswith("%")
    assert stopped.id not in numbers
    assert stopped.id not in body["pending"] + body["not_sampled"]  # not running: nothing to show
    # a container that stops leaves the list
    busy.kill()
    deadline = time.monotonic() + 15
    while busy.id in viewer_client.get(url).json()["containers"]:
        assert time.monotonic() < deadline
        time.sleep(0.5)


async def test_it_releases_the_stats_stream_when_the_panel_goes_away(make_container):
    c = await sync_to_async(make_container)()
    before = sum(1 for t in threading.enumerate() if t.name == "engine-stream")
    ws = await open_stats(c.name)
    await samples(ws, 1)
    assert sum(1 for t in threading.enumerate() if t.name == "engine-stream") == before + 1
    await ws.disconnect()
    deadline = time.monotonic() + 5
    while sum(1 for t in threading.enumerate() if t.name == "engine-stream") > before:
        assert time.monotonic() < deadline, "the reader thread still holds the stats stream"
        await asyncio.sleep(0.05)


def test_it_answers_405_to_a_post_and_404_for_an_unknown_container(viewer_client, make_container):
    c = make_container()
    assert viewer_client.post(f"/containers/{c.name}/stats/").status_code == 405
    assert viewer_client.post("/containers/stats.json").status_code == 405
    assert viewer_client.get("/containers/dp-test-no-such-container/stats/").status_code == 404


def test_one_container_whose_stats_do_not_answer_holds_up_no_other(make_container, monkeypatch):
    stuck = make_container()
    asked, release = threading.Event(), threading.Event()
    real_stats_stream = engine.default_engine().stats_stream

    def stats_stream(cid):
        if cid == stuck.id:
            asked.set()
            release.wait(60)  # as a stats request the engine never answers
        return real_stats_stream(cid)

    monkeypatch.setattr(engine.default_engine(), "stats_stream", stats_stream)
    own = sampler.Sampler(idle=5)
    try:
        own.snapshot([stuck.id])
        assert asked.wait(30)  # the sampler is waiting on the stuck container...
        fine = make_container()  # ...when another one starts
        deadline = time.monotonic() + 30
        while fine.id not in own.snapshot([stuck.id, fine.id])["containers"]:
            assert time.monotonic() < deadline, "the stuck container held up the others' numbers"
            time.sleep(0.2)
        assert stuck.id not in own.snapshot([stuck.id, fine.id])["containers"]
    finally:
        release.set()
        own.stop()


def stream_threads(*containers) -> set[str]:
    """The containers (of those given) that a sampler thread is streaming, opening ones included."""
    names = {t.name for t in threading.enumerate()}
    return {c.id for c in containers if f"stats-stream {c.id[:12]}" in names}


def wait_for(check, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return result


def test_it_samples_only_the_containers_a_page_asks_for(make_container):
    asked, other = make_container(), make_container()
    own = sampler.Sampler(idle=30)
    try:
        key = asked.id[:12]  # a page sends short IDs; the answer is keyed by what it sent
        body = wait_for(lambda: (b := own.snapshot([key]))["containers"].get(key) and b, "no numbers")
        assert body["containers"][key]["name"] == asked.name
        assert own.streaming() == {asked.id}
        assert stream_threads(asked, other) == {asked.id}
        assert other.id not in own.snapshot([key])["containers"]
    finally:
        own.stop()
    wait_for(lambda: not stream_threads(asked, other), "the streams outlived the sampler")


def test_it_samples_at_most_max_streams_containers_and_says_which_are_not_sampled(make_container, settings):
    settings.STATS_MAX_STREAMS = 2
    made = [make_container() for _ in range(4)]
    ids = [c.id for c in made]
    own = sampler.Sampler(idle=60, linger=60)

    def settled():
        body = own.snapshot(ids)
        assert len(stream_threads(*made)) <= 2, body  # never more threads (and connections) than the bound
        assert len(own.streaming()) <= 2, body
        return len(body["containers"]) == 2 and len(body["not_sampled"]) == 2 and body

    try:
        body = wait_for(settled, "two sampled, two reported as not sampled")
        assert body["max_streams"] == 2
        assert set(body["containers"]) | set(body["not_sampled"]) == set(ids)
        assert own.streaming() == set(body["containers"])
        assert stream_threads(*made) == set(body["containers"])
    finally:
        own.stop()


def test_it_closes_the_stream_of_a_container_no_longer_asked_for(make_container):
    first, second = make_container(), make_container()
    # one stream at most: the second container gets its numbers only once the first one's stream closed
    own = sampler.Sampler(idle=60, linger=1, max_streams=1)
    try:
        wait_for(lambda: first.id in own.snapshot([first.id])["containers"], "no numbers for the first")
        wait_for(lambda: second.id in own.snapshot([second.id])["containers"], "no numbers for the second")
        wait_for(lambda: stream_threads(first, second) == {second.id}, "the first one's stream is still open")
        assert own.streaming() == {second.id}
        assert own.snapshot([first.id])["containers"] == {}
    finally:
        own.stop()


def test_it_answers_400_to_a_bad_ids_parameter(viewer_client, make_container):
    c = make_container()
    for ids, message in [
        ("xyz", "'xyz' is not a container ID"),
        (c.id[:11], f"'{c.id[:11]}' is not a container ID (12 to 64 lowercase hex digits)"),
        (c.id.upper(), "is not a container ID"),
        (c.name, "is not a container ID"),
        (",".join([c.id[:12]] * 201), "at most 200 container IDs at a time, got 201"),
    ]:
        r = viewer_client.get("/containers/stats.json", {"ids": ids})
        assert r.status_code == 400, ids
        assert message in r.json()["error"], r.json()
    empty = viewer_client.get("/containers/stats.json?ids=")
    assert empty.status_code == 200
    assert empty.json()["containers"] == {}


def test_without_ids_it_asks_for_every_running_container_within_the_bound(make_container):
    c = make_container()
    own = sampler.Sampler(idle=30, max_streams=1)  # other runs' containers may share this engine

    def answered():
        body = own.snapshot()
        assert len(body["containers"]) <= 1, body
        assert len(own.streaming()) <= 1, body
        return (c.id in body["containers"] or c.id in body["not_sampled"]) and body

    try:
        body = wait_for(answered, "the container is neither sampled nor reported as over the bound")
        assert body["max_streams"] == 1
    finally:
        own.stop()
