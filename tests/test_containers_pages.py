"""/containers/ at scale: server-side pages and sorting, the rows a live update asks for (`?id=`),
lean rows, and compressed responses (streaming ones left to stream)."""

import gzip
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client

from tests.conftest import RUN_ID

pytestmark = pytest.mark.django_db

PREFIX = f"dp-test-{RUN_ID}-page-"


@pytest.fixture(scope="module")
def twenty_seven(dk):
    """27 stopped containers named PREFIX00..PREFIX26, removed at the end of the module."""
    from tests.conftest import RUN_LABEL, TEST_LABEL

    def create(i: int):
        return dk.containers.create(
            "dockerpanel-test/busybox:latest",
            "true",
            name=f"{PREFIX}{i:02d}",
            labels={TEST_LABEL: "1", RUN_LABEL: RUN_ID},
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        made = list(pool.map(create, range(27)))
    yield made
    for c in made:
        c.remove(force=True)


def names_in(html: str) -> list[str]:
    return re.findall(r'<tr data-id="[0-9a-f]{64}" data-name="([^"]+)">', html)


def get(client, query: str, **headers) -> str:
    r = client.get(f"/containers/?all=1&name={PREFIX}&sort=names{query}", **headers)
    assert r.status_code == 200
    return r.content.decode()


def test_it_shows_pages_of_the_chosen_size_with_navigation_that_keeps_the_filters(viewer_client, twenty_seven):
    html = get(viewer_client, "&size=25")
    assert names_in(html) == [f"{PREFIX}{i:02d}" for i in range(25)]
    assert "1–25 of 27 containers" in html
    assert "page 1 of 2" in html
    next_link = re.search(r'<a href="\?([^"]+)" rel="next">', html).group(1).replace("&amp;", "&")
    assert "all=1" in next_link
    assert f"name={PREFIX}" in next_link
    assert "sort=names" in next_link
    assert "page=2" in next_link
    assert "size=25" in next_link
    html = viewer_client.get("/containers/?" + next_link).content.decode()
    assert names_in(html) == [f"{PREFIX}25", f"{PREFIX}26"]
    assert "26–27 of 27 containers" in html
    assert 'rel="prev"' in html
    assert 'rel="next"' not in html


def test_it_shows_100_rows_by_default_and_all_on_request(viewer_client, twenty_seven):
    assert len(names_in(get(viewer_client, ""))) == 27
    html = get(viewer_client, "&size=all")
    assert len(names_in(html)) == 27
    assert "1–27 of 27 containers" in html
    assert "<strong>all</strong>" in html  # the chosen size is marked, the others are links keeping the filters
    sizes = re.findall(r'<a href="\?([^"]+)">(25|50|100|500)</a>', html)
    assert [s for _, s in sizes] == ["25", "50", "100", "500"]
    assert all(f"name={PREFIX}" in q.replace("&amp;", "&") for q, _ in sizes)


def test_it_sorts_the_whole_list_before_cutting_pages(viewer_client, twenty_seven):
    html = get(viewer_client, "&dir=desc&size=25")
    assert names_in(html)[:2] == [f"{PREFIX}26", f"{PREFIX}25"]
    # headers link to the other direction and keep the filters and page size
    header = re.search(r'<th data-col="names"><a href="\?([^"]+)">NAMES ▼</a>', html).group(1).replace("&amp;", "&")
    assert "dir=" not in header
    assert "sort=names" in header
    assert "size=25" in header
    assert f"name={PREFIX}" in header


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("&page=99&size=25", "There is no page 99: showing the last page, 2."),
        ("&page=0", "Page &quot;0&quot; is not a page number: showing page 1."),
        ("&page=abc", "Page &quot;abc&quot; is not a page number: showing page 1."),
        ("&size=7", "Page size &quot;7&quot; is not offered: showing 100."),
        ("&dir=sideways", "Unknown sort direction &quot;sideways&quot;: use asc or desc."),
        ("&id=not-an-id", "id= takes up to 100 container IDs (12 to 64 hex digits): showing the list."),
    ],
)
def test_it_falls_back_visibly_on_bad_parameters(viewer_client, twenty_seven, query, message):
    html = get(viewer_client, query)
    assert message in html
    assert names_in(html)  # still a list, never a 500


def test_it_says_which_sort_column_it_did_not_know(viewer_client, twenty_seven):
    r = viewer_client.get(f"/containers/?all=1&name={PREFIX}&sort=bogus")
    assert r.status_code == 200
    assert "Unknown sort column &quot;bogus&quot;: sorted by created." in r.content.decode()


def test_it_answers_id_with_just_those_rows_rendered_like_the_list(viewer_client, make_container):
    c = make_container(start=False)
    other = make_container(start=False)
    r = viewer_client.get(f"/containers/?all=1&id={c.id}", HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert r.status_code == 200
    assert names_in(html) == [c.name]
    assert other.name not in html
    assert "<table" not in html
    assert "<html" not in html
    assert 'data-col="status"' in html
    assert 'data-col="names"' in html


def test_it_answers_id_for_a_container_that_no_longer_matches_or_is_gone_with_no_row(viewer_client, make_container):
    c = make_container(start=False)
    assert names_in(viewer_client.get(f"/containers/?id={c.id}").content.decode()) == []  # not running, no -a
    c.remove()
    r = viewer_client.get(f"/containers/?all=1&id={c.id}")
    assert r.status_code == 200
    assert names_in(r.content.decode()) == []


def test_it_refuses_rows_to_the_anonymous_and_to_users_without_a_role(outsider_client, make_container):
    c = make_container(start=False)
    r = Client().get(f"/containers/?all=1&id={c.id}")
    assert r.status_code == 302
    assert "/accounts/login/" in r["Location"]
    r = outsider_client.get(f"/containers/?all=1&id={c.id}")
    assert r.status_code == 403
    assert c.name not in r.content.decode()


def test_it_keeps_rows_lean(operator_client, make_container):
    c = make_container(start=False)
    row = re.search(rf'<tr data-id="{c.id}".*?</tr>', get_all(operator_client), re.S).group(0)
    assert row.count(c.id) == 1  # once, in data-id; the checkbox carries the short ID
    assert f'value="{c.id[:12]}"' in row
    assert f">{c.id[:12]}</a>" in row


def get_all(client) -> str:
    return client.get(f"/containers/?all=1&size=all&name={RUN_ID}").content.decode()


def test_it_compresses_pages_for_browsers_that_accept_gzip(viewer_client, make_container):
    c = make_container(start=False)
    r = viewer_client.get(f"/containers/?all=1&name={c.name}", HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert r["Content-Encoding"] == "gzip"
    assert c.name in gzip.decompress(r.content).decode()
    plain = viewer_client.get(f"/containers/?all=1&name={c.name}")
    assert not plain.has_header("Content-Encoding")


def test_it_leaves_streaming_responses_uncompressed_so_they_flush(viewer_client, make_container):
    c = make_container(command=["sh", "-c", "echo hello-stream; sleep 3600"])
    r = viewer_client.get(f"/containers/{c.name}/logs/download/", HTTP_ACCEPT_ENCODING="gzip")
    assert r.status_code == 200
    assert r.streaming
    assert not r.has_header("Content-Encoding")
    r = viewer_client.get("/audit/export.csv", HTTP_ACCEPT_ENCODING="gzip")
    assert r.streaming
    assert not r.has_header("Content-Encoding")


def test_the_streaming_pull_answer_is_not_compressed():
    from django.http import HttpResponse, StreamingHttpResponse
    from django.test import RequestFactory

    from containers.middleware import GZipMiddleware

    request = RequestFactory().get("/", HTTP_ACCEPT_ENCODING="gzip")
    streamed = StreamingHttpResponse(iter([b'{"status": "Pulling"}\n']), content_type="application/x-ndjson")
    middleware = GZipMiddleware(lambda r: streamed)
    assert not middleware(request).has_header("Content-Encoding")
    page = HttpResponse(b"x" * 1000, content_type="application/json")
    assert GZipMiddleware(lambda r: page)(request)["Content-Encoding"] == "gzip"
