"""Korean beyond the templates: the team's live toasts in each page's own language, and the panel's
port and engine messages (Docker's own words and command lines stay as they are)."""

import asyncio
import time
from html import unescape

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.utils import translation

from containers import audit, engine, events, language, ports
from dockerpanel.asgi import application
from tests.conftest import make_user
from tests.test_run_form import form_data

WAIT = 30  # generous: the machine is shared


@pytest.fixture(autouse=True)
async def _stop_listener():
    yield
    await events.stop_listener()


@database_sync_to_async
def _session_cookie(username: str, chosen: str = "", role: str = "viewer") -> str:
    """A logged-in user's Cookie header; `chosen` is the language picked with the switcher."""
    user = User.objects.filter(username=username).first() or make_user(username, role)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if chosen:
        session[language.SESSION_KEY] = chosen
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


async def _page(cookie: str, accept_language: str = "") -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", cookie.encode())]
    if accept_language:
        headers.append((b"accept-language", accept_language.encode()))
    ws = WebsocketCommunicator(application, "/ws/events/", headers=headers)
    ok, _ = await ws.connect()
    assert ok
    return ws


async def _toast(ws: WebsocketCommunicator) -> dict:
    """The next panel message (engine events of other tests on the shared engine are skipped)."""
    deadline = time.monotonic() + WAIT
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "no toast came"
        assert not await ws.receive_nothing(timeout=left, interval=0.01), "no toast came"
        message = await ws.receive_json_from()
        if message.get("kind") == "panel":
            return message


@pytest.mark.django_db(transaction=True)
async def test_a_toast_speaks_each_pages_language():
    korean_browser = await _page(await _session_cookie("minji"), "ko-KR,ko;q=0.9")
    chose_korean = await _page(await _session_cookie("jisoo", chosen="ko"), "en")
    english = await _page(await _session_cookie("emma"), "en")
    try:
        alice = await database_sync_to_async(lambda: User.objects.create_user("alice"))()
        await database_sync_to_async(audit.record)(None, "container.stop", user=alice, target_name="web")
        await database_sync_to_async(audit.record)(
            None, "user.role", user=alice, target_name="frank", params={"role": "operator"}
        )
        assert (await _toast(korean_browser))["text"] == "alice 님이 web을(를) 중지했습니다"
        assert (await _toast(chose_korean))["text"] == "alice 님이 web을(를) 중지했습니다"
        assert (await _toast(english))["text"] == "alice stopped web"
        # a whole sentence per role: the article goes with it in English, the role's name in Korean
        assert (await _toast(korean_browser))["text"] == "alice 님이 frank을(를) 운영자로 지정했습니다"
        assert (await _toast(english))["text"] == "alice made frank an operator"
    finally:
        for ws in (korean_browser, chose_korean, english):
            await ws.disconnect()


@pytest.mark.unit
def test_sentences_are_whole_in_every_language():
    with translation.override("ko"):
        assert events.sentence("alice", "image.remove", "debian:bookworm") == (
            "alice 님이 이미지 debian:bookworm을(를) 삭제했습니다"
        )
        assert events.sentence("bob", "user.create", "frank", {"role": "admin"}) == (
            "bob 님이 사용자 frank을(를) 추가했습니다 (관리자)"
        )
        # an action without a sentence of its own is named as the audit log names it
        assert events.sentence("bob", "network.create", "net1") == "bob: network.create net1"
    with translation.override("en"):
        assert events.sentence("bob", "user.create", "frank", {"role": "admin"}) == "bob added user frank (admin)"


@pytest.mark.unit
def test_port_errors_speak_korean_and_keep_the_cli_text():
    with translation.override("ko"):
        with pytest.raises(ports.PortError) as bad:
            ports.parse("-p 70000:80")
        assert str(bad.value) == "'70000:80': 호스트 포트 70000은(는) 범위를 벗어났습니다: 포트는 1-65535입니다"
        with pytest.raises(ports.PortError) as bad:
            ports.parse("--rm")
        assert str(bad.value) == "'--rm'은(는) -p 옵션이 아닙니다. 여기에는 포트 바인딩만 씁니다"
        assert ports.duplicates(ports.parse("-p 8080:80 -p 8080:81")) == [
            (1, "호스트 포트 0.0.0.0:8080/tcp이(가) 이 양식에서 두 번 바인딩되었습니다")
        ]
    with translation.override("en"), pytest.raises(ports.PortError) as bad:
        ports.parse("-p 70000:80")
    assert str(bad.value) == "'70000:80': host port 70000 is out of range: ports are 1-65535"


@pytest.mark.django_db
def test_a_korean_user_reads_port_errors_of_the_run_form_in_korean(admin_client, make_container, dk):
    html = unescape(
        admin_client.post(
            "/containers/new/preview/", form_data(publish="-p 8080:80 -p 8080:80"), HTTP_ACCEPT_LANGUAGE="ko"
        ).content.decode()
    )
    assert "호스트 포트 0.0.0.0:8080/tcp이(가) 이 양식에서 두 번 바인딩되었습니다" in html
    # a host port another container publishes: named with the container, in Korean
    other = make_container(ports={"80/tcp": ("127.0.0.1", None)})
    taken = int(dk.api.inspect_container(other.id)["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"])
    html = unescape(
        admin_client.post(
            "/containers/new/", form_data(publish=f"-p 127.0.0.1:{taken}:80"), HTTP_ACCEPT_LANGUAGE="ko"
        ).content.decode()
    )
    assert f"호스트 포트 {taken}/tcp은(는) 이미 컨테이너 {other.name}이(가) 게시하고 있습니다" in html


@pytest.mark.unit
def test_engine_messages_speak_korean():
    with translation.override("ko"):
        with pytest.raises(ValueError, match="소문자") as bad:
            engine.parse_image_reference("Debian:bookworm")
        assert str(bad.value) == (
            "'Debian:bookworm'은(는) 올바른 이미지 참조가 아닙니다: 저장소 이름은 소문자여야 합니다 ('debian:bookworm')"
        )
        down = engine.EngineUnavailable("unix:///nowhere.sock", "connection refused")
        assert str(down) == "unix:///nowhere.sock의 Docker 엔진에 연결할 수 없습니다: connection refused"
        with pytest.raises(engine.NotFound) as missing:
            engine.match_container([], "ab")
        # the engine's own words stay; the panel's hint is Korean
        assert str(missing.value) == "No such container: ab (ID 앞부분은 3자 이상이어야 합니다)"


@pytest.mark.django_db(transaction=True)
async def test_a_korean_bulk_stop_streams_korean_lines(make_container):
    """The streamed bulk report speaks the page's language, the docker command as the CLI has it."""
    from tests.asgi import request

    box = await asyncio.to_thread(make_container)
    cookie = await _session_cookie("olga", role="operator")
    r = await request(
        "POST",
        "/containers/bulk/",
        cookie=cookie,
        data={"action": "stop", "confirm": "yes", "timeout": "0", "ids": [box.id]},
        headers=[("accept", "application/x-ndjson"), ("accept-language", "ko")],
    )
    assert r.status == 200
    assert f'"outcome": "{_json("중지됨")}"' in r.body
    assert f'"command": "docker stop {box.name}"' in r.body
    assert _json(f"중지: 1개 중 1개 완료. docker stop {box.name}") in r.body


def _json(text: str) -> str:
    import json

    return json.dumps(text)[1:-1]
