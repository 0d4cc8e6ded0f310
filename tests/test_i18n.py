"""Korean and English: every template string is marked for translation, every page renders in
Korean, the switcher is remembered per user, and Docker's own words stay as the CLI prints them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType

TEMPLATES = Path(settings.BASE_DIR) / "templates"

# Templates another change is rewriting; they are marked once it is merged. Empty this set then:
# the test below fails for every template outside it that has an unmarked string.
PENDING_TEMPLATES = {"containers/_partial.html", "containers/list.html"}

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
