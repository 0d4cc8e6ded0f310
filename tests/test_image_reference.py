"""Image references are checked before any request, with a message that says what is wrong."""

import pytest

from containers import engine
from containers.engine import ImageReference, parse_image_reference
from tests.conftest import TEMP_IMAGE_PREFIX


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("debian", ImageReference("debian", "latest")),
        ("debian:bookworm", ImageReference("debian", "bookworm")),
        ("127.0.0.1:5000/team/app:v1.2", ImageReference("127.0.0.1:5000/team/app", "v1.2")),
        ("localhost:5000/app", ImageReference("localhost:5000/app", "latest")),
        ("dockerpanel-test/busybox", ImageReference("dockerpanel-test/busybox", "latest")),
        ("library/httpd:2.4", ImageReference("library/httpd", "2.4")),
    ],
)
def test_it_parses_name_and_tag_with_latest_as_default(text, expected):
    assert parse_image_reference(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Give an image name"),
        ("Debian:bookworm", "must be lowercase"),
        ("debian bookworm", "contains spaces"),
        ("debian:", "not a valid image reference"),
        ("debian:book:worm", "not a valid image reference"),
        ("-debian", "not a valid image reference"),
        ("debian:" + "x" * 200, "not a valid image reference"),
        # uppercase anywhere in the repository path, with the lowercase name as a hint
        ("Team/app:v1", "must be lowercase \\('team/app:v1'\\)"),
        ("127.0.0.1:5000/team/App", "must be lowercase \\('127.0.0.1:5000/team/app'\\)"),
        # a 64-hex name is an image ID, not something to pull
        ("a" * 64, "reads as an image ID"),
        ("0123456789abcdef" * 4 + ":v1", "reads as an image ID"),
        # the repository name is 255 characters at most
        ("team/" + "a" * 251, "256 characters long, 255 at most"),
        # digests: a known algorithm and its exact length, lowercase hex
        ("debian@sha256:" + "a" * 63, "sha256 digest is 64 lowercase hexadecimal characters, this one has 63"),
        ("debian@sha256:" + "A" * 64, "sha256 digest is 64 lowercase"),
        ("debian@sha512:" + "a" * 64, "sha512 digest is 128 lowercase"),
        ("debian@md5:" + "a" * 32, "unsupported digest algorithm 'md5'"),
    ],
)
def test_it_rejects_bad_references_with_a_reason(text, message):
    with pytest.raises(ValueError, match=message):
        parse_image_reference(text)


@pytest.mark.parametrize(
    "text",
    [
        "debian:Bookworm",  # tags may have capitals
        "Registry.Example:5000/team/app",  # so may registry host names
        "team/" + "a" * 250,  # 255 characters
        "debian@sha256:" + "a" * 64,
        "debian:12@sha512:" + "0" * 128,
        "a" * 63,
    ],
)
def test_it_accepts_what_the_reference_grammar_accepts(text):
    parse_image_reference(text)


def test_it_pulls_from_the_local_registry_with_layer_progress(registry_image):
    pushed = registry_image("pull")

    events = list(engine.default_engine().pull(parse_image_reference(pushed)))
    statuses = [e["status"] for e in events]
    assert any(s.startswith("Pulling from") for s in statuses), statuses
    assert any(e["id"] and e["total"] for e in events), "no per-layer byte progress"
    assert any("Downloaded newer image" in s for s in statuses), statuses
    assert engine.default_engine().image_exists(pushed)


def test_it_explains_an_unknown_image():
    ref = parse_image_reference(f"127.0.0.1:5000/{TEMP_IMAGE_PREFIX}missing:v1")
    with pytest.raises(engine.EngineError, match="was not found in its registry"):
        list(engine.default_engine().pull(ref))


def test_it_explains_an_unreachable_registry():
    ref = parse_image_reference(f"127.0.0.1:1/{TEMP_IMAGE_PREFIX}nothing:v1")
    with pytest.raises(engine.EngineError, match="cannot be reached"):
        list(engine.default_engine().pull(ref))
