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
    ],
)
def test_it_rejects_bad_references_with_a_reason(text, message):
    with pytest.raises(ValueError, match=message):
        parse_image_reference(text)


def test_it_pulls_from_the_local_registry_with_layer_progress(registry_image):
    pushed = registry_image("pull")

    events = list(engine.pull(parse_image_reference(pushed)))
    statuses = [e["status"] for e in events]
    assert any(s.startswith("Pulling from") for s in statuses), statuses
    assert any(e["id"] and e["total"] for e in events), "no per-layer byte progress"
    assert any("Downloaded newer image" in s for s in statuses), statuses
    assert engine.image_exists(pushed)


def test_it_explains_an_unknown_image():
    ref = parse_image_reference(f"127.0.0.1:5000/{TEMP_IMAGE_PREFIX}missing:v1")
    with pytest.raises(engine.EngineError, match="was not found in its registry"):
        list(engine.pull(ref))


def test_it_explains_an_unreachable_registry():
    ref = parse_image_reference(f"127.0.0.1:1/{TEMP_IMAGE_PREFIX}nothing:v1")
    with pytest.raises(engine.EngineError, match="cannot be reached"):
        list(engine.pull(ref))
