"""Korean and English: every template string is marked for translation, every page renders in
Korean, the switcher is remembered per user, and Docker's own words stay as the CLI prints them."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType
from django.test import Client

from containers import language
from containers.models import AuditEntry, Preference
from tests.conftest import BUSYBOX, login

TEMPLATES = Path(settings.BASE_DIR) / "templates"

# Templates another change is rewriting; they are marked once it is merged. Empty this set then:
# the test below fails for every template outside it that has an unmarked string.
PENDING_TEMPLATES: set[str] = set()

# Docker's own words, printed as the CLI prints them in every language (column names, states),
# and names that are not words of a language.
DOCKER_WORDS = [
    "CONTAINER ID",
    "IMAGE ID",
    "CREATED BY",
    "REPOSITORY",
    "CONTAINER",
    "IMAGE",
    "COMMAND",
    "CREATED",
    "STATUS",
    "PORTS",
    "NAMES",
    "NAME",
    "TAG",
    "SIZE",
    "COMMENT",
    "VALUE",
    "PID",
    "USER",
    "TIME",
    "CPU",
    "MEM USAGE / LIMIT",
    "MEM",
    "NET I/O",
    "BLOCK I/O",
    "PIDS",
    "DockerPanel",
    "stdout",
    "stderr",
    "DIGEST",
]
# Text inside these elements is a command line, container output or a script: never translated.
VERBATIM = re.compile(r"<(code|pre|kbd|samp|script|style)\b.*?</\1\s*>", re.S | re.I)
COMMENT = re.compile(r"<!--.*?-->", re.S)
TAG = re.compile(r"<[a-zA-Z/!](?:\"[^\"]*\"|'[^']*'|[^'\">])*>")
SHOWN_ATTRIBUTE = re.compile(
    r"\b(title|placeholder|aria-label|alt|label|data-confirm)\s*=\s*(\"[^\"]*\"|'[^']*')", re.I
)
ENTITY = re.compile(r"&#?\w+;")
WORD = re.compile(r"[^\W\d_]{2,}")
# An attribute that shows a command line ("docker stop ...") or an example value ("name:tag").
CLI_EXAMPLE = re.compile(r"^(docker\s.*|[^\s]*[:/.][^\s]*)$", re.S)
HOLE = "\x00"  # where a {{ variable }} or {% tag %} was


def _untranslated_text(source: str) -> str:
    """The template's text with every {% translate %}/{% blocktranslate %} part and every
    {{ variable }} or {% tag %} replaced by a hole."""
    parts, depth = [], 0
    for token in Lexer(source).tokenize():
        first = token.contents.split()[0] if token.contents.strip() else ""
        if token.token_type == TokenType.BLOCK and first in ("blocktranslate", "blocktrans"):
            depth += 1
        elif token.token_type == TokenType.BLOCK and first in ("endblocktranslate", "endblocktrans"):
            depth -= 1
        elif token.token_type == TokenType.TEXT and not depth:
            parts.append(token.contents)
            continue
        parts.append(HOLE)
    return "".join(parts)


def unmarked_strings(source: str) -> list[str]:
    """Words a person reads that a template does not mark for translation."""
    text = VERBATIM.sub(HOLE, COMMENT.sub(HOLE, _untranslated_text(source)))
    shown = [m.group(2)[1:-1] for tag in TAG.findall(text) for m in SHOWN_ATTRIBUTE.finditer(tag)]
    shown = [value for value in shown if not CLI_EXAMPLE.match(value)]
    found = []
    for chunk in [*shown, *TAG.split(text)]:
        chunk = ENTITY.sub(" ", chunk)
        for word in DOCKER_WORDS:
            chunk = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", " ", chunk)
        for piece in chunk.split(HOLE):
            if WORD.search(piece):
                found.append(" ".join(piece.split()))
    return found


def all_templates() -> list[str]:
    return sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html"))


def test_it_finds_unmarked_text_and_attributes():
    assert unmarked_strings("<p>Hello <b>there</b></p>") == ["Hello", "there"]
    assert unmarked_strings('<input placeholder="name or ID">') == ["name or ID"]
    assert unmarked_strings('{% load i18n %}<p>{% translate "Hello" %}</p>') == []
    assert unmarked_strings("{% blocktranslate %}Hi {{ name }}{% endblocktranslate %}") == []
    assert unmarked_strings('<button title="docker rm web">{% translate "Remove" %}</button>') == []
    assert unmarked_strings("<th>CONTAINER ID</th><code>docker run -d nginx</code> {{ x }} · 5") == []


@pytest.mark.parametrize("name", all_templates())
def test_it_marks_every_template_string_for_translation(name):
    found = unmarked_strings((TEMPLATES / name).read_text())
    if name in PENDING_TEMPLATES:
        assert found, f"templates/{name} is marked now: take it out of PENDING_TEMPLATES"
        return
    assert not found, f"templates/{name}: not marked for translation: {found}"


# --- every page in Korean -------------------------------------------------------------------------


@pytest.fixture
def box(make_container):
    """A running container made with -i -t, so its terminal and attach pages are the full ones."""
    return make_container(command="sh", tty=True, stdin_open=True)


def pages(box) -> list[tuple[str, str, str]]:
    """(URL, Korean the page shows, Docker's own words it still shows as the CLI prints them)."""
    return [
        ("/", "대시보드", "docker ps -a"),
        ("/containers/", "컨테이너", "CONTAINER ID"),
        (f"/containers/{box.name}/", "재시작 횟수", f"docker inspect {box.name}"),
        (f"/containers/{box.name}/terminal/", "작업 디렉터리", f"docker exec -it {box.name}"),
        (f"/containers/{box.name}/attach/", "연결을 끊고", f"docker attach {box.name}"),
        (f"/containers/{box.name}/logs/", "타임스탬프", "stdout"),
        (f"/containers/{box.name}/stats/", "리소스 사용량", "CPU"),
        ("/containers/new/", "컨테이너 실행", "(docker run)"),
        ("/images/", "이미지 받아오기", "REPOSITORY"),
        (f"/images/{BUSYBOX}/", "레이어", "CREATED BY"),
        ("/deploy/apache/", "Apache 데모 배포", "-p HOST:80"),
        ("/audit/", "감사 로그", "CSV"),
        ("/users/", "사용자 추가", "admin"),
        ("/account/password/", "비밀번호 변경", "DockerPanel"),
    ]


def check_korean(client, box, **headers) -> None:
    for url, korean, docker_words in pages(box):
        r = client.get(url, **headers)
        html = r.content.decode()
        assert r.status_code == 200, (url, r.status_code)
        assert '<html lang="ko"' in html, url
        assert ">컨테이너</a>" in html, f"{url}: the menu is not in Korean"
        assert korean in html, f"{url}: no {korean!r}"
        assert docker_words in html, f"{url}: Docker's own {docker_words!r} is missing"


def test_it_renders_every_page_in_korean_for_a_korean_browser(admin_client, box):
    check_korean(admin_client, box, HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9,en;q=0.5")


def test_it_renders_every_page_in_korean_for_a_user_who_chose_korean(client, admin_user, box):
    Preference.objects.create(user=admin_user, key=language.PREFERENCE_KEY, value="ko")
    client.force_login(admin_user)
    check_korean(client, box)  # no Accept-Language at all: the preference decides


def test_it_keeps_dockers_own_words_in_korean(admin_client, box):
    html = admin_client.get(f"/containers/{box.name}/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert re.search(r'data-field="status">Up [^<]*</dd>', html), "the CLI's STATUS is not English"
    assert 'data-field="state">running' in html
    html = admin_client.get(f"/images/{BUSYBOX}/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert re.search(r"<th>IMAGE</th><th>CREATED</th><th>CREATED BY</th><th>SIZE</th><th>COMMENT</th>", html)
    assert re.search(r'title="[^"]*">\d+ \w+ ago</td>', html), 'CREATED ("5 minutes ago") is the CLI\'s'


def test_it_localises_dates(admin_client):
    # force_login set the admin's last login: Django's date formats for the active language
    assert re.search(
        r"<td>\d{4}년 \d{1,2}월 \d{1,2}일 ", admin_client.get("/users/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    )
    assert re.search(r"<td>[A-Z][a-z]+\.? \d{1,2}, \d{4}, ", admin_client.get("/users/").content.decode())


def test_it_speaks_english_without_accept_language(admin_client):
    html = admin_client.get("/").content.decode()
    assert '<html lang="en"' in html
    assert ">Containers</a>" in html
    assert "컨테이너" not in html


def test_it_translates_messages_from_python(admin_client, box):
    r = admin_client.post(f"/containers/{box.name}/pause/", HTTP_ACCEPT_LANGUAGE="ko", follow=True)
    assert f"{box.name} 일시 정지함: docker pause {box.name}" in r.content.decode()
    admin_client.post(f"/containers/{box.name}/unpause/")


def test_it_serves_the_javascript_catalog_to_anyone(client, db):
    r = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="ko")
    assert r.status_code == 200
    assert "javascript" in r["Content-Type"]
    assert '"Copied": "\\ubcf5\\uc0ac\\ub428"' in r.content.decode()  # 복사됨, escaped by Django


@pytest.mark.browser
def test_it_speaks_korean_in_a_korean_browser_scripts_included(browser, panel, make_container):
    """Under the panel's own CSP: the catalog script loads, page scripts say their words in Korean,
    and the switcher turns the page English."""
    c = make_container(command=["sh", "-c", "echo hello from the box; sleep 3600"])
    context = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        login(page, panel, "viewer")
        page.goto(f"{panel.url}/containers/{c.name}/logs/")
        page.locator("#logs-output .line", has_text="hello from the box").wait_for()
        page.locator("#logs-status", has_text="계속 보는 중").wait_for()  # logs.js: "Following (live)"
        assert page.locator("h1").inner_text() == f"{c.name} 로그"
        page.click("button[name=language][value=en]")
        page.locator("h1", has_text=f"Logs of {c.name}").wait_for()
        page.locator("#logs-status", has_text="Following").wait_for()
        assert errors == []
    finally:
        context.close()


# --- the switcher -------------------------------------------------------------------------------


def csrf_token(client: Client, url: str = "/accounts/login/") -> str:
    client.get(url)
    return client.cookies[settings.CSRF_COOKIE_NAME].value


def test_it_switches_language_on_the_login_page(admin_user):
    anonymous = Client(enforce_csrf_checks=True)
    assert "로그인" in anonymous.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    token = csrf_token(anonymous)
    r = anonymous.post("/language/", {"language": "en", "next": "/accounts/login/", "csrfmiddlewaretoken": token})
    assert r.status_code == 302
    assert r["Location"] == "/accounts/login/"
    html = anonymous.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert '<html lang="en"' in html
    assert "<h1>Log in</h1>" in html


def test_it_refuses_a_switch_without_csrf(admin_user):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/language/", {"language": "ko", "next": "/"}).status_code == 403


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "http://testserver.evil.example/"])
def test_it_follows_no_next_to_another_site(client, admin_user, target):
    r = client.post("/language/", {"language": "ko", "next": target})
    assert r.status_code == 302
    assert r["Location"] == "/"


def test_it_refuses_an_unknown_language(client, admin_user):
    r = client.post("/language/", {"language": "fr", "next": "/"})
    assert r.status_code == 400
    assert "choose one of en, ko" in r.content.decode()


def test_it_remembers_the_choice_per_user_across_sessions(admin_client, admin_user):
    r = admin_client.post("/language/", {"language": "ko", "next": "/audit/"})
    assert r.status_code == 302
    assert r["Location"] == "/audit/"
    assert Preference.objects.get(user=admin_user, key=language.PREFERENCE_KEY).value == "ko"
    entry = AuditEntry.objects.get(action="preference.language")
    assert entry.username == "admin"
    assert entry.params == {"language": "ko"}
    assert "감사 로그" in admin_client.get("/audit/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    elsewhere = Client()  # another browser: no cookie, an English Accept-Language
    elsewhere.force_login(admin_user)
    html = elsewhere.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="ko"' in html
    assert ">대시보드</a>" in html

    admin_client.post("/language/", {"language": "en", "next": "/"})
    later = Client()
    later.force_login(admin_user)
    assert ">Dashboard</a>" in later.get("/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()


def test_it_offers_the_switcher_with_the_current_language_marked(admin_client):
    html = admin_client.get("/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert 'action="/language/"' in html
    assert re.search(r'value="ko" lang="ko" aria-current="true" disabled>한국어</button>', html)
    assert re.search(r'value="en" lang="en">English</button>', html)


# --- the compiled catalog -------------------------------------------------------------------------

LOCALE = Path(settings.BASE_DIR) / "locale" / "ko" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%(?:\([a-z_]+\))?[sd]|\{\}")


def catalog(entries) -> dict:
    return {(e.msgctxt, e.msgid): (e.msgstr_plural.get(0) if e.msgid_plural else e.msgstr) for e in entries}


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_it_ships_a_compiled_catalog_that_matches_the_po_file(domain):
    po = polib.pofile(str(LOCALE / f"{domain}.po"))
    mo = polib.mofile(str(LOCALE / f"{domain}.mo"))
    assert catalog(e for e in po if not e.obsolete) == catalog(mo), (
        f"locale/ko/LC_MESSAGES/{domain}.mo is stale: run `manage.py compilemessages -l ko` and commit it"
    )


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_it_translates_every_message_into_korean(domain):
    po = polib.pofile(str(LOCALE / f"{domain}.po"))
    assert po.percent_translated() == 100, [e.msgid for e in po.untranslated_entries()]
    assert not po.fuzzy_entries()
    for e in po:
        text = e.msgstr_plural.get(0) if e.msgid_plural else e.msgstr
        wanted = set(PLACEHOLDER.findall(e.msgid_plural or e.msgid))
        assert set(PLACEHOLDER.findall(text)) == wanted, (e.msgid, text)
