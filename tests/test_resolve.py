"""A container is named by name, full ID or a unique ID prefix of 3+ characters, as in the CLI."""

from collections import defaultdict

import docker.errors
import pytest

from containers import engine
from containers.engine import match_container
from tests.conftest import BUSYBOX, RUN_ID, RUN_LABEL, TEST_LABEL

ROWS = [
    {"Id": "abc123" + "0" * 58, "Names": ["/web"]},
    {"Id": "abd456" + "1" * 58, "Names": ["/db"]},
    {"Id": "abd789" + "2" * 58, "Names": ["/cache"]},
    {"Id": "fff000" + "3" * 58, "Names": ["/abd456"]},  # a name that looks like another's prefix
]


def test_it_resolves_names_full_ids_and_unique_prefixes():
    assert match_container(ROWS, "web").name == "web"
    assert match_container(ROWS, "/web").name == "web"
    assert match_container(ROWS, ROWS[1]["Id"]).name == "db"
    assert match_container(ROWS, "abc").name == "web"
    assert match_container(ROWS, "abd7").name == "cache"


def test_it_prefers_an_exact_name_over_an_id_prefix():
    assert match_container(ROWS, "abd456").name == "abd456"


def test_it_lists_the_matches_of_an_ambiguous_prefix():
    with pytest.raises(engine.Ambiguous) as err:
        match_container(ROWS, "abd")
    assert err.value.matches == [("abd456111111", "db"), ("abd789222222", "cache")]
    assert "matches 2 containers" in str(err.value)


def test_it_needs_three_characters_for_a_prefix():
    with pytest.raises(engine.NotFound, match="at least 3 characters"):
        match_container(ROWS, "ab")


def test_it_names_an_unknown_container():
    with pytest.raises(engine.NotFound, match="No such container: nope"):
        match_container(ROWS, "nope")


def test_it_resolves_a_real_container_by_prefix(make_container):
    c = make_container()
    assert engine.default_engine().resolve_container(c.id[:12]).name == c.name
    assert engine.default_engine().resolve_container(c.name).id == c.id


def test_it_rejects_refs_with_characters_no_container_can_have():
    with pytest.raises(engine.NotFound, match="not a valid container name or ID"):
        engine.default_engine().resolve_container("../etc")


# --- on the real engine: one inspect call resolves, the panel's rules stay ---


def test_it_resolves_a_full_id_a_name_with_a_slash_and_carries_the_inspect_answer(make_container):
    c = make_container(start=False)
    for ref in (c.id, c.name, f"/{c.name}", c.id[:12]):
        found = engine.default_engine().resolve_container(ref)
        assert (found.id, found.name) == (c.id, c.name)
        assert found.info["Id"] == c.id
        assert found.tty is False


def test_it_prefers_an_exact_name_over_an_id_prefix_on_the_engine(make_container):
    first = make_container(start=False)
    named_like_a_prefix = make_container(start=False, name=first.id[:12])
    try:
        assert engine.default_engine().resolve_container(first.id[:12]).id == named_like_a_prefix.id
        assert engine.default_engine().resolve_container(first.id).id == first.id  # a full ID wins over everything
    finally:
        named_like_a_prefix.remove(force=True)


def test_it_refuses_one_or_two_characters_as_an_id_prefix_although_the_engine_takes_them(make_container):
    c = make_container(start=False)
    for ref in (c.id[:1], c.id[:2]):
        # the engine answers with some container (or "multiple IDs found"); the panel wants 3 characters
        with pytest.raises(engine.NotFound, match=f"No such container: {ref} \\(an ID prefix needs at least 3"):
            engine.default_engine().resolve_container(ref)


def test_it_resolves_a_two_character_name(make_container, dk):
    name = None
    for letters in ("q7", "z9", "x8", "w6", "v5", "k4"):  # another run may hold one of them
        try:
            c = make_container(start=False, name=letters)
        except docker.errors.APIError:
            continue
        name = letters
        break
    assert name, "all the two-character names were taken"
    try:
        assert engine.default_engine().resolve_container(name).id == c.id
    finally:
        c.remove(force=True)


def test_it_names_an_unknown_container_on_the_engine():
    with pytest.raises(engine.NotFound, match=f"No such container: dp-test-{RUN_ID}-nobody$"):
        engine.default_engine().resolve_container(f"dp-test-{RUN_ID}-nobody")


def test_it_names_the_containers_an_ambiguous_prefix_matches_on_the_engine(dk):
    """Create containers (not started) until two of ours share a 3-character ID prefix: about 80
    on average, and 600 make a miss practically impossible (about e^-40)."""
    labels = {TEST_LABEL: "1", RUN_LABEL: RUN_ID}
    by_prefix: dict[str, list[str]] = defaultdict(list)
    made: list[str] = []
    try:
        while len(made) < 600:
            cid = dk.api.create_container(BUSYBOX, "true", labels=labels)["Id"]
            made.append(cid)
            by_prefix[cid[:3]].append(cid)
            if len(by_prefix[cid[:3]]) == 2:
                break
        prefix = made[-1][:3]
        assert len(by_prefix[prefix]) == 2, "no shared prefix among 600 containers"
        with pytest.raises(engine.Ambiguous) as err:
            engine.default_engine().resolve_container(prefix)
        # another run's containers may share the prefix too: ours are among the matches
        listed = dict(err.value.matches)
        assert {cid[:12] for cid in by_prefix[prefix]} <= set(listed)
        assert "Give more characters of the ID" in str(err.value)
    finally:
        for cid in made:
            dk.api.remove_container(cid, force=True)
