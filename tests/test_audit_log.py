"""/audit/: newest first, filtered by user, action, target and date, paginated, exported as a streamed
CSV; entries cannot be edited or deleted (no view, no Django admin, and the model refuses)."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from containers import audit
from containers.models import AuditEntry
from containers.views.audit_log import PAGE_SIZE
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def write(action: str, username: str = "alice", target: str = "web", **kw) -> AuditEntry:
    user = User.objects.filter(username=username).first() or make_user(username, "operator")
    return audit.record(None, action, user=user, target_name=target, target_id=kw.pop("target_id", ""), **kw)


def actions_shown(response) -> list[str]:
    return [e.action for e in response.context["page"]]


def test_it_lists_newest_first(viewer_client):
    write("container.stop")
    write("container.start")
    r = viewer_client.get("/audit/")
    assert r.status_code == 200
    assert actions_shown(r) == ["container.start", "container.stop"]
    assert b"container.start" in r.content


def test_it_shows_who_what_and_how_it_ended(viewer_client):
    write("container.kill", target_id="abc123def4567890", params={"signal": "KILL"}, ok=False, result="is not running")
    text = viewer_client.get("/audit/").content.decode()
    assert "alice" in text
    assert "container.kill" in text
    assert "abc123def456" in text
    assert "is not running" in text
    assert "KILL" in text


def test_it_shows_parameters_as_text_and_dates_on_one_line(viewer_client):
    write("container.run", params={"ports": ["8080:80", "127.0.0.1::443"], "detach": True, "timeout": 10, "env": {}})
    text = viewer_client.get("/audit/").content.decode()
    # one "key: value" per parameter, separated by "; " (PostgreSQL's jsonb keeps its own key order)
    shown = re.search(r'<span class="params">([^<]*)</span>', text).group(1)
    assert sorted(shown.split("; ")) == ["detach: yes", "env: —", "ports: 8080:80, 127.0.0.1::443", "timeout: 10"]
    assert "{&#x27;" not in text  # not a Python dict
    assert "[&#x27;" not in text
    assert '<td class="mono nowrap"><time' in text


def test_it_filters_by_user_action_target_and_result(viewer_client):
    write("container.stop", "alice", "web")
    write("container.stop", "bob", "db", target_id="0123456789ab")
    write("image.pull", "bob", "debian:bookworm")
    write("container.start", "alice", "web", ok=False, result="boom")
    assert actions_shown(viewer_client.get("/audit/?user=bob")) == ["image.pull", "container.stop"]
    assert len(actions_shown(viewer_client.get("/audit/?action=container.stop"))) == 2
    assert [e.target_name for e in viewer_client.get("/audit/?target=DEB").context["page"]] == ["debian:bookworm"]
    assert [e.target_name for e in viewer_client.get("/audit/?target=0123").context["page"]] == ["db"]
    assert actions_shown(viewer_client.get("/audit/?result=failed")) == ["container.start"]
    assert actions_shown(viewer_client.get("/audit/?user=alice&action=container.stop")) == ["container.stop"]


def test_it_filters_by_date(viewer_client):
    old = write("container.stop", target="old")
    AuditEntry.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=3))
    write("container.stop", target="new")
    today = timezone.localdate().isoformat()
    two_days_ago = (timezone.localdate() - timedelta(days=2)).isoformat()
    assert [e.target_name for e in viewer_client.get(f"/audit/?since={today}").context["page"]] == ["new"]
    assert [e.target_name for e in viewer_client.get(f"/audit/?until={two_days_ago}").context["page"]] == ["old"]


def test_it_explains_a_bad_date(viewer_client):
    write("container.stop")
    r = viewer_client.get("/audit/?since=yesterday")
    assert r.status_code == 200
    assert b"Enter a valid date" in r.content


def test_it_paginates_and_keeps_the_filters(viewer_client):
    for i in range(PAGE_SIZE + 5):
        write("container.stop", target=f"c{i}")
    first = viewer_client.get("/audit/?action=container.stop")
    assert len(first.context["page"]) == PAGE_SIZE
    assert b"page=2" in first.content
    assert b"action=container.stop&amp;page=2" in first.content
    second = viewer_client.get("/audit/?action=container.stop&page=2")
    assert [e.target_name for e in second.context["page"]] == [f"c{i}" for i in range(4, -1, -1)]


def test_it_has_no_way_to_edit_or_delete_entries(admin_client):
    entry = write("container.stop")
    for method in ("post", "put", "delete", "patch"):
        assert getattr(admin_client, method)("/audit/").status_code == 405
    assert admin_client.get("/admin/").status_code == 404
    assert admin_client.get("/admin/containers/auditentry/").status_code == 404
    with pytest.raises(PermissionError):
        entry.delete()
    entry.result = "tampered"
    with pytest.raises(PermissionError):
        entry.save()
    assert AuditEntry.objects.get(pk=entry.pk).result == ""


def test_it_records_a_refused_page_with_the_role_needed(viewer_client):
    assert viewer_client.get("/users/").status_code == 403
    denied = AuditEntry.objects.get(action="permission.denied")
    assert (denied.username, denied.ok, denied.params["needed"]) == ("viewer", False, "admin")
    assert denied.params["action"] == "/users/"
    assert "lacks the admin role" in denied.result


@pytest.mark.django_db(transaction=True)
async def test_it_exports_the_filtered_entries_as_streamed_csv(async_client):
    from channels.db import database_sync_to_async

    def arrange():
        write("container.stop", "alice", "web", params={"ports": ["8080:80"]})
        write("container.start", "alice", "=cmd|' /C calc'!A0", ok=False, result="No such container")
        write("image.pull", "bob", "debian:bookworm")
        return make_user("viewer", "viewer")

    viewer = await database_sync_to_async(arrange)()
    await async_client.aforce_login(viewer)
    r = await async_client.get("/audit/export.csv?user=alice")
    assert r.status_code == 200
    assert r.streaming
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    assert r["Content-Disposition"].startswith('attachment; filename="audit-')
    body = b"".join([chunk async for chunk in r.streaming_content]).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["action"] for row in rows] == ["container.start", "container.stop"]
    assert rows[1]["params"] == '{"ports": ["8080:80"]}'
    assert rows[1]["ok"] == "ok"
    assert rows[0]["ok"] == "failed"
    assert rows[0]["result"] == "No such container"
    # a formula is not run by a spreadsheet
    assert rows[0]["target_name"] == "'=cmd|' /C calc'!A0"


def test_it_records_a_failed_engine_call_even_when_the_engine_is_down(rf, admin_user):
    from containers import audit, engine

    request = rf.post("/containers/web/stop/", REMOTE_ADDR="127.0.0.9")
    request.user = admin_user
    states = []

    def engine_call():
        states.append(AuditEntry.objects.get(action="container.stop").state)  # written before the call
        raise engine.EngineUnavailable("unix:///nonexistent.sock", "connection refused")

    with (
        pytest.raises(engine.EngineUnavailable),
        audit.attempt(request, "container.stop", target_id="abc", target_name="web", params={"t": 1}),
    ):
        engine_call()
    assert states == ["in progress"]
    entry = AuditEntry.objects.get(action="container.stop")
    assert (entry.ok, entry.target_name, entry.params, entry.client_ip) == (False, "web", {"t": 1}, "127.0.0.9")
    assert entry.state == "done"
    assert "cannot be reached" in entry.result


def test_it_completes_an_attempt_once_with_its_outcome(rf, admin_user):
    from containers import audit

    request = rf.post("/containers/web/stop/")
    request.user = admin_user
    with audit.attempt(request, "container.rename", target_id="abc", target_name="old") as entry:
        entry.target_name, entry.result = "new", "docker rename old new"
    done = AuditEntry.objects.get(action="container.rename")
    assert (done.state, done.ok, done.target_name, done.result) == ("done", True, "new", "docker rename old new")
    audit.finish(done, ok=False, result="again")  # a finished entry is not changed again
    done.refresh_from_db()
    assert (done.ok, done.result) == (True, "docker rename old new")
