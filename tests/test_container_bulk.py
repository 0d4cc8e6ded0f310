"""Bulk stop/remove, "stop all" and "remove all stopped": confirmation listing exactly what, per-item report."""

import re

import pytest
from asgiref.sync import async_to_sync

from containers.models import AuditEntry

pytestmark = pytest.mark.django_db


def confirmed_ids(html: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="ids" value="([0-9a-f]{64})">', html)


def test_it_confirms_then_stops_the_selected_containers(operator_client, make_container, dk):
    a, b, other = make_container(), make_container(), make_container()
    r = operator_client.post("/containers/bulk/", {"action": "stop", "ids": [a.name, b.id[:12]]})
    assert r.status_code == 200
    html = r.content.decode()
    assert sorted(confirmed_ids(html)) == sorted([a.id, b.id])
    assert f"docker stop {a.name} {b.name}" in html
    assert dk.api.inspect_container(a.id)["State"]["Running"]  # nothing done yet
    r = operator_client.post(
        "/containers/bulk/",
        {
            "action": "stop",
            "confirm": "yes",
            "timeout": "1",
            "ids": [a.id, b.id],
            f"name-{a.id}": a.name,
            f"name-{b.id}": b.name,
        },
    )
    assert r.status_code == 200
    assert "2 done" in r.content.decode()
    assert dk.api.inspect_container(a.id)["State"]["Status"] == "exited"
    assert dk.api.inspect_container(b.id)["State"]["Status"] == "exited"
    assert dk.api.inspect_container(other.id)["State"]["Running"]
    assert AuditEntry.objects.filter(action="container.stop", ok=True).count() == 2


def test_it_stops_the_selected_containers_at_once_as_the_cli_does(operator_client, make_container, dk, monkeypatch):
    """Three containers whose PID 1 ignores SIGTERM each take the whole timeout to stop: one after
    another that was three timeouts; the engine calls now overlap (each still a real stop)."""
    from containers import engine

    boxes = [make_container(command="sleep 3600") for _ in range(3)]
    spans: dict[str, tuple[float, float]] = {}
    real_stop = engine.default_engine().stop_container

    def timed_stop(cid, timeout):
        import time

        began = time.monotonic()
        try:
            return real_stop(cid, timeout)
        finally:
            spans[cid] = (began, time.monotonic())

    monkeypatch.setattr(engine.default_engine(), "stop_container", timed_stop)
    r = operator_client.post(
        "/containers/bulk/",
        {"action": "stop", "confirm": "yes", "timeout": "2", "ids": [b.id for b in boxes]},
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert "3 done" in html
    # the report keeps the order of the selection
    assert [html.index(b.name) for b in boxes] == sorted(html.index(b.name) for b in boxes)
    assert all(dk.api.inspect_container(b.id)["State"]["Status"] == "exited" for b in boxes)
    # every stop began before any ended: they ran together
    assert max(start for start, _ in spans.values()) < min(end for _, end in spans.values())
    entries = AuditEntry.objects.filter(action="container.stop", target_id__in=[b.id for b in boxes])
    assert sorted(e.state for e in entries) == ["done"] * 3
    assert all(e.ok for e in entries)


def test_bulk_buttons_act_on_what_a_filtered_list_shows(admin_client, make_container, dk):
    from tests.conftest import unique

    prefix = unique("shown")
    a = make_container(name=f"{prefix}-a")
    b = make_container(name=f"{prefix}-b")
    gone = make_container(name=f"{prefix}-c", start=False)
    other = make_container()  # not in the filter: never touched
    page = admin_client.get(f"/containers/?all=1&name={prefix}").content.decode()
    assert ">Stop the 2 shown</button>" in page
    assert ">Remove the 1 stopped shown</button>" in page
    assert ">Stop all</button>" not in page
    query = re.search(r'name="filter" value="([^"]+)"', page).group(1).replace("&amp;", "&")
    # the confirmation lists exactly the shown ones, and offers everything only as another choice
    html = admin_client.post("/containers/bulk/", {"action": "stop-all", "filter": query}).content.decode()
    assert sorted(confirmed_ids(html)) == sorted([a.id, b.id])
    assert "Stop the 2 running containers shown" in html
    assert "Stop every running container instead" in html
    assert dk.api.inspect_container(other.id)["State"]["Running"]
    html = admin_client.post("/containers/bulk/", {"action": "remove-stopped", "filter": query}).content.decode()
    assert confirmed_ids(html) == [gone.id]
    assert "Remove every stopped container instead" in html
    # unfiltered, the buttons are the CLI's "all" as before
    page = admin_client.get("/containers/?all=1").content.decode()
    assert ">Stop all</button>" in page
    assert 'name="filter"' not in page


def test_it_reports_each_item_when_one_fails(admin_client, make_container, dk):
    stopped = make_container(start=False)
    running = make_container()
    r = admin_client.post(
        "/containers/bulk/",
        {
            "action": "remove",
            "confirm": "yes",
            "ids": [stopped.id, running.id],
            f"name-{stopped.id}": stopped.name,
            f"name-{running.id}": running.name,
        },
    )
    html = r.content.decode()
    assert "1 done, 1 failed" in html
    ok_row = re.search(rf'<tr class="ok" data-id="{stopped.id}">.*?</tr>', html, re.S)
    failed_row = re.search(rf'<tr class="failed" data-id="{running.id}">.*?</tr>', html, re.S)
    assert ok_row
    assert failed_row
    assert "cannot remove a running container" in failed_row.group(0)
    assert not dk.api.containers(all=True, filters={"id": stopped.id})
    assert dk.api.inspect_container(running.id)["State"]["Running"]
    assert AuditEntry.objects.filter(action="container.remove", ok=False, target_id=running.id).exists()


def test_stop_all_lists_exactly_the_running_containers(operator_client, make_container, dk):
    running = make_container()
    stopped = make_container(start=False)
    r = operator_client.post("/containers/bulk/", {"action": "stop-all"})
    html = r.content.decode()
    ids = confirmed_ids(html)
    assert running.id in ids
    assert stopped.id not in ids
    assert "docker stop $(docker ps -q)" in html


def test_remove_all_stopped_lists_exactly_the_stopped_containers(admin_client, make_container):
    running = make_container()
    stopped = make_container(start=False)
    html = admin_client.post("/containers/bulk/", {"action": "remove-stopped"}).content.decode()
    ids = confirmed_ids(html)
    assert stopped.id in ids
    assert running.id not in ids
    assert "cannot be undone" in html


def test_it_keeps_operators_from_bulk_removal(operator_client, make_container, dk):
    c = make_container(start=False)
    r = operator_client.post("/containers/bulk/", {"action": "remove", "confirm": "yes", "ids": [c.id]})
    assert r.status_code == 403
    assert dk.api.inspect_container(c.id)


def test_it_keeps_viewers_from_bulk_stop(viewer_client, make_container, dk):
    c = make_container()
    r = viewer_client.post("/containers/bulk/", {"action": "stop", "confirm": "yes", "ids": [c.id]})
    assert r.status_code == 403
    assert dk.api.inspect_container(c.id)["State"]["Running"]


def test_it_refuses_get(admin_client):
    assert admin_client.get("/containers/bulk/").status_code == 405


# Transactional: closing the streamed response ends the "request" (request_finished), whose
# close_old_connections closes this thread's connection, which a test transaction would still need
# on PostgreSQL (make pgtest; SQLite's in-memory test database is never closed).
@pytest.mark.django_db(transaction=True)
def test_it_streams_each_outcome_as_it_finishes(operator_client, make_container, dk):
    """With Accept: application/x-ndjson (static/js/bulk.js) the report comes a line per container
    in the order they finish: one that stops at once (its shell traps SIGTERM) is reported while
    one whose PID 1 ignores SIGTERM is still running out its timeout; a vanished one is an error
    with the engine's message. Then the summary, and every outcome on record."""
    import asyncio
    import json
    import time

    slow = make_container(command="sleep 3600")
    fast = make_container(command=["sh", "-c", "trap 'exit 0' TERM; echo ready; while :; do sleep 0.1; done"])
    gone = make_container(start=False)
    gone_id = gone.id
    gone.remove()
    deadline = time.monotonic() + 60
    while b"ready" not in fast.logs():  # the trap is set: SIGTERM ends it at once
        assert time.monotonic() < deadline, "the fast container never got ready"
        time.sleep(0.1)
    r = operator_client.post(
        "/containers/bulk/",
        {"action": "stop", "confirm": "yes", "timeout": "10", "ids": [slow.id, fast.id, gone_id]},
        HTTP_ACCEPT="application/x-ndjson",
    )
    assert r["Content-Type"] == "application/x-ndjson"
    slow_when_fast_came: list[bool] = []

    async def read() -> list[dict]:
        events = []
        async for chunk in r.streaming_content:
            for line in chunk.decode().splitlines():
                event = json.loads(line)
                if event.get("id") == fast.id:
                    info = await asyncio.to_thread(dk.api.inspect_container, slow.id)
                    slow_when_fast_came.append(info["State"]["Running"])
                events.append(event)
        return events

    try:
        events = async_to_sync(read)()
    finally:
        r.close()  # as a server does once the stream ends
    assert events[0] == {"type": "start", "command": f"docker stop {slow.name} {fast.name} {gone_id[:12]}", "total": 3}
    items = [e for e in events if e["type"] == "item"]
    assert [e["id"] for e in items].index(fast.id) < [e["id"] for e in items].index(slow.id)
    assert items[-1]["id"] == slow.id  # last: it ran out its timeout
    assert slow_when_fast_came == [True]  # fast's line came while slow was still stopping: streamed
    by_id = {e["id"]: e for e in items}
    assert by_id[fast.id] == {
        "type": "item",
        "id": fast.id,
        "name": fast.name,
        "ok": True,
        "outcome": "stopped",
        "message": "",
        "command": f"docker stop {fast.name}",
    }
    assert by_id[slow.id]["outcome"] == "stopped"
    assert by_id[gone_id]["ok"] is False
    assert by_id[gone_id]["outcome"] == "error"
    assert "No such container" in by_id[gone_id]["message"]
    assert by_id[gone_id]["command"] == f"docker stop {gone_id[:12]}"
    assert events[-1] == {
        "type": "done",
        "ok": False,
        "message": f"Stop: 2 of 3 done, 1 failed (see below). docker stop {slow.name} {fast.name} {gone_id[:12]}",
    }
    assert dk.api.inspect_container(slow.id)["State"]["Status"] == "exited"
    entries = {e.target_id: e for e in AuditEntry.objects.filter(action="container.stop")}
    assert entries[fast.id].ok
    assert entries[slow.id].ok
    assert entries[fast.id].state == entries[slow.id].state == entries[gone_id].state == "done"
    assert not entries[gone_id].ok
