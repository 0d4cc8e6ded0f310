"""A container is named by name, full ID or a unique ID prefix of 3+ characters, as in the CLI."""

import pytest

from containers import engine
from containers.engine import match_container

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
    assert engine.resolve_container(c.id[:12]).name == c.name
    assert engine.resolve_container(c.name).id == c.id


def test_it_rejects_refs_with_characters_no_container_can_have():
    with pytest.raises(engine.NotFound, match="not a valid container name or ID"):
        engine.resolve_container("../etc")
