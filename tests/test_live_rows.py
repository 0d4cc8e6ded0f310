"""Rows pushed over /ws/events/: a list page that said what it shows gets the rows of the containers
events name, filtered and rendered as the list view does, from one shared engine call per burst."""

import asyncio
import json
import re
import time
import uuid

import pytest

from containers import engine, events
from tests.websockets import communicator, session_cookie_for

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 60  # generous: the engine and the machine are shared


@pytest.fixture(autouse=True)
async def _stop_listener():
    yield
    await events.stop_listener()


async def next_message(ws, deadline: float) -> dict:
    """The next message before `deadline` (a communicator's own receive timeout would kill the consumer)."""
    left = deadline - time.monotonic()
    assert left > 0, "nothing came in time"
    assert not await ws.receive_nothing(timeout=left, interval=0.01), "nothing came in time"
    return await ws.receive_json_from()


async def watching(query: str, username: str = "viewer", role: str = "viewer", **extra):
    ws = communicator("/ws/events/", await session_cookie_for(username, role))
    ok, _ = await ws.connect()
    assert ok
    await ws.send_json_to({"watch": "containers", "query": query, **extra})
    deadline = time.monotonic() + WAIT
    while (message := await next_message(ws, deadline)).get("kind") != "watching":
        pass
    assert message["query"] == query
    return ws


async def row_of(ws, container_id: str, seen: list[dict] | None = None) -> str | None:
    """The row pushed next for `container_id` (its <tr>, or None to remove it); every rows message
    read on the way goes to `seen`."""
    deadline = time.monotonic() + WAIT
    while True:
        message = await next_message(ws, deadline)
        if message.get("kind") != "rows":
            continue
        if seen is not None:
            seen.append(message)
        if container_id in message["rows"]:
            return message["rows"][container_id]


def labelled(tag: str) -> dict:
    return {"labels": {"dp-rows": tag}}


async def test_a_watching_page_gets_its_filters_rows_and_nothing_else(make_container):
    tag = uuid.uuid4().hex[:8]
    mine = await asyncio.to_thread(make_container, **labelled(tag))
    other = await asyncio.to_thread(make_container)
    every = await watching(f"all=1&label=dp-rows%3D{tag}")  # docker ps -a --filter label=dp-rows=TAG
    running = await watching(f"label=dp-rows%3D{tag}", "bob")  # docker ps --filter label=...
    try:
        await asyncio.to_thread(other.kill)
        await asyncio.to_thread(other.wait)
        await asyncio.to_thread(mine.kill)
        seen: list[dict] = []
        row = await row_of(every, mine.id, seen)
        while "Exited" not in (row or ""):  # a row may come for the kill before the die
            row = await row_of(every, mine.id, seen)
        assert row.startswith(f'<tr data-id="{mine.id}" data-name="{mine.name}">')
        assert f'href="/containers/{mine.name}/"' in row
        assert 'name="ids"' not in row  # a viewer's row: no checkbox, as on the viewer's page
        assert all(other.id not in m["rows"] for m in seen), "a row for a container outside the filter"
        # stopped, it no longer matches `docker ps` without -a: removed from that page
        while (gone := await row_of(running, mine.id)) is not None:
            assert "Exited" not in gone
        await asyncio.to_thread(mine.remove, force=True)
        assert await row_of(every, mine.id) is None
    finally:
        await every.disconnect()
        await running.disconnect()
        for c in (mine, other):
            await asyncio.to_thread(lambda c=c: c.remove(force=True) if _exists(c) else None)


def _exists(container) -> bool:
    try:
        container.reload()
        return True
    except Exception:
        return False


async def test_an_operators_row_has_its_checkbox_and_the_users_columns(make_container):
    tag = uuid.uuid4().hex[:8]
    mine = await asyncio.to_thread(make_container, **labelled(tag))
    ws = await watching(f"all=1&label=dp-rows%3D{tag}", "olga", "operator")
    try:
        await asyncio.to_thread(mine.rename, mine.name + "-r")
        row = await row_of(ws, mine.id)
        assert f'value="{mine.id[:12]}"' in row
        assert f'data-name="{mine.name}-r"' in row
    finally:
        await ws.disconnect()


async def test_pages_watching_the_same_containers_share_one_engine_call_per_burst(make_container, monkeypatch):
    tag = uuid.uuid4().hex[:8]
    mine = await asyncio.to_thread(make_container, **labelled(tag))
    calls: list[list[str]] = []
    real = engine.default_engine().list_containers

    def counted(*args, **kwargs):  # the real engine call, counted: not a mock
        ids = (kwargs.get("filters") or {}).get("id") or []
        if mine.id in ids:
            calls.append(list(ids))
        return real(*args, **kwargs)

    monkeypatch.setattr(engine.default_engine(), "list_containers", counted)
    pages = [await watching(f"all=1&label=dp-rows%3D{tag}", f"user{i}") for i in range(6)]
    try:
        await asyncio.to_thread(mine.rename, mine.name + "-shared")  # one event
        for ws in pages:
            row = await row_of(ws, mine.id)
            assert f'data-name="{mine.name}-shared"' in row
        # Each burst's containers are listed once for all six pages. (Another run's events on the
        # shared engine may end one page's burst a little apart from another's: still never one
        # call per page.)
        assert calls, "no engine call"
        assert len(calls) == len({frozenset(c) for c in calls}), f"the same burst listed twice: {calls}"
        assert len(calls) < len(pages), calls
    finally:
        for ws in pages:
            await ws.disconnect()


async def test_bad_watch_messages_are_ignored_and_the_socket_goes_on(make_container):
    tag = uuid.uuid4().hex[:8]
    mine = await asyncio.to_thread(make_container, **labelled(tag))
    ws = communicator("/ws/events/", await session_cookie_for("viewer", "viewer"))
    ok, _ = await ws.connect()
    assert ok
    try:
        for bad in [
            "not json",
            "[1, 2]",
            json.dumps({"watch": "images", "query": "all=1"}),
            json.dumps({"watch": "containers", "query": 5}),
            json.dumps({"watch": "containers", "query": "all=1&name=" + "x" * 5000}),
            "{" * 100_000,
        ]:
            await ws.send_to(text_data=bad)
        query = f"all=1&label=dp-rows%3D{tag}"
        await ws.send_json_to({"watch": "containers", "query": query, "unknown": [1, 2, 3]})
        deadline = time.monotonic() + WAIT
        while (message := await next_message(ws, deadline)).get("kind") != "watching":
            pass
        assert message["query"] == query  # the first answer is the good message's: the others had none
        await asyncio.to_thread(mine.rename, mine.name + "-after")
        assert f'data-name="{mine.name}-after"' in await row_of(ws, mine.id)
    finally:
        await ws.disconnect()


async def test_a_pushed_row_speaks_the_pages_language(make_container):
    from channels.testing import WebsocketCommunicator

    from dockerpanel.asgi import application

    tag = uuid.uuid4().hex[:8]
    mine = await asyncio.to_thread(make_container, **labelled(tag))
    cookie = await session_cookie_for("olga", "operator")
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", cookie.encode())]
    ws = WebsocketCommunicator(application, "/ws/events/", headers=[*headers, (b"accept-language", b"ko")])
    ok, _ = await ws.connect()
    assert ok
    try:
        query = f"all=1&label=dp-rows%3D{tag}"
        await ws.send_json_to({"watch": "containers", "query": query})
        deadline = time.monotonic() + WAIT
        while (await next_message(ws, deadline)).get("kind") != "watching":
            pass
        await asyncio.to_thread(mine.rename, mine.name + "-ko")
        row = await row_of(ws, mine.id)
        assert f'aria-label="선택 {mine.name}-ko"' in row  # as the Korean page renders it
    finally:
        await ws.disconnect()


async def test_a_pushed_row_keeps_the_size_column_when_the_user_chose_it(make_container, dk):
    """SIZE (`docker ps -s`) is asked of the engine only for pages that show it: a pushed row of such
    a page has it, with the size of what the container wrote; another page's rows do not."""
    from channels.db import database_sync_to_async

    from containers import cli
    from containers.models import Preference
    from tests.conftest import make_user

    tag = uuid.uuid4().hex[:8]
    script = "dd if=/dev/zero of=/written bs=1000 count=1534 && sleep 3600"
    mine = await asyncio.to_thread(make_container, command=["sh", "-c", script], **labelled(tag))
    deadline = time.monotonic() + WAIT
    while (await asyncio.to_thread(dk.api.containers, all=True, size=True, filters={"id": mine.id}))[0].get(
        "SizeRw", 0
    ) < 1_534_000:
        assert time.monotonic() < deadline, "the file was not written"
        await asyncio.sleep(0.2)

    def sizer() -> None:
        user = make_user("sizer", "viewer")
        Preference.objects.create(user=user, key="containers.columns", value=["names", "size"])

    await database_sync_to_async(sizer)()
    sized = await watching(f"all=1&label=dp-rows%3D{tag}", "sizer")
    plain = await watching(f"all=1&label=dp-rows%3D{tag}", "vera")
    try:
        await asyncio.to_thread(mine.rename, mine.name + "-sized")
        row = await row_of(sized, mine.id)
        assert f'data-name="{mine.name}-sized"' in row
        cell = re.search(r'<td class="mono" data-col="size">([^<]*)</td>', row).group(1)
        engine_row = (await asyncio.to_thread(dk.api.containers, all=True, size=True, filters={"id": mine.id}))[0]
        assert cell == cli.container_size(engine_row["SizeRw"], engine_row["SizeRootFs"])
        assert cell.startswith("1.53MB (virtual ")
        assert re.findall(r'data-col="(\w+)"', row) == ["names", "size"]
        other = await row_of(plain, mine.id)
        assert f'data-name="{mine.name}-sized"' in other
        assert 'data-col="size"' not in other
    finally:
        await sized.disconnect()
        await plain.disconnect()
