"""/images/: docker images, pull with progress, history, rmi (in use explained), tag and prune."""

import json
import re

import docker
import pytest
from asgiref.sync import async_to_sync
from django.contrib.messages import get_messages

from containers.models import AuditEntry
from tests.conftest import TEMP_IMAGE_PREFIX

pytestmark = pytest.mark.django_db


def events_of(response) -> list[dict]:
    """The NDJSON events, read as daphne would send them (the body is an async generator)."""

    async def collect():
        return [chunk async for chunk in response.streaming_content]

    body = b"".join(async_to_sync(collect)()).decode()
    return [json.loads(line) for line in body.splitlines()]


def said(response) -> str:
    return [str(m) for m in get_messages(response.wsgi_request)][-1]


@pytest.fixture
def temp_image(dk, make_container):
    """A small image of our own, tagged under the run's temporary prefix: (repo:tag, id)."""
    made = []

    def make(tag: str = "v1") -> tuple[str, str]:
        c = make_container(command=f"sh -c 'echo {tag} > /marker'")
        c.wait(timeout=30)
        repo = f"{TEMP_IMAGE_PREFIX}img"
        image = c.commit(repository=repo, tag=tag)
        made.append(image.id)
        return f"{repo}:{tag}", image.id

    yield make
    for image_id in made:
        try:
            dk.images.remove(image_id, force=True)
        except docker.errors.APIError:
            pass


def test_it_lists_images_with_the_cli_columns(viewer_client):
    html = viewer_client.get("/images/").content.decode()
    headers = re.findall(r'<th data-col="\w+"><a [^>]*>([A-Z ]+?)(?: [▲▼])?</a>', html)
    assert headers == ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
    row = re.search(r'<tr data-id="[^"]+" data-ref="dockerpanel-test/busybox:latest">(.*?)</tr>', html, re.S).group(1)
    assert "<td>latest</td>" in row
    assert re.search(r'<td class="mono">[0-9a-f]{12}</td>', row)
    assert re.search(r"<td>\d[\d.]*[kMG]?B</td>", row)


def test_it_hides_dangling_images_unless_asked(viewer_client, temp_image):
    ref, first = temp_image("dangle")
    temp_image("dangle")  # takes the tag: the first image is now <none>:<none>
    assert f'data-id="{first}"' not in viewer_client.get("/images/").content.decode()
    html = viewer_client.get("/images/?dangling=1").content.decode()
    row = re.search(rf'<tr data-id="{first}".*?</tr>', html, re.S).group(0)
    assert "&lt;none&gt;</a></td><td>&lt;none&gt;</td>" in row


def test_it_filters_and_sorts_images(viewer_client, temp_image):
    ref, _ = temp_image("filtered")
    html = viewer_client.get(f"/images/?q={TEMP_IMAGE_PREFIX}img").content.decode()
    assert f'data-ref="{ref}"' in html
    assert 'data-ref="debian:bookworm"' not in html
    html = viewer_client.get("/images/?sort=size&dir=asc").content.decode()
    assert html.index('data-ref="dockerpanel-test/busybox:latest"') < html.index('data-ref="debian:bookworm"')


def test_it_shows_layers_inspect_and_the_containers_using_an_image(viewer_client, make_container, dk):
    c = make_container(image="debian:bookworm", command="sleep 3600")
    html = viewer_client.get("/images/debian:bookworm/").content.decode()
    assert "stack of read-only layers" in html
    history = dk.api.history("debian:bookworm")
    layers = re.findall(r"<tr(?: class=\"muted\")?><td class=\"mono\">", html[html.index('class="list history"') :])
    assert len(layers) == len(history)
    assert f'href="/containers/{c.name}/"' in html
    assert '"RepoTags": [' in html.replace("&quot;", '"')


def test_it_pulls_from_the_local_registry_with_progress(admin_client, dk, registry_image):
    pushed = registry_image("viewpull")

    r = admin_client.post("/images/pull/", {"reference": pushed}, HTTP_ACCEPT="application/x-ndjson")
    assert r.status_code == 200
    assert r["Content-Type"] == "application/x-ndjson"
    events = events_of(r)
    assert events[0] == {"type": "start", "command": f"docker pull {pushed}"}
    assert any(e["type"] == "progress" and e["id"] and e["total"] for e in events), "no per-layer bytes"
    assert events[-1]["type"] == "done"
    assert events[-1]["message"] == f"Pulled {pushed}: docker pull {pushed}"
    assert dk.images.get(pushed)
    assert AuditEntry.objects.get(action="image.pull").ok


def test_it_rejects_a_bad_reference_before_any_request(admin_client):
    r = admin_client.post("/images/pull/", {"reference": "Debian:bookworm"}, HTTP_ACCEPT="application/x-ndjson")
    assert r.status_code == 400
    assert "must be lowercase" in r.content.decode()


def test_it_streams_a_clear_error_for_an_unknown_image(admin_client):
    r = admin_client.post(
        "/images/pull/",
        {"reference": f"127.0.0.1:5000/{TEMP_IMAGE_PREFIX}missing:v1"},
        HTTP_ACCEPT="application/x-ndjson",
    )
    events = events_of(r)
    assert events[-1]["type"] == "error"
    assert "was not found in its registry" in events[-1]["message"]
    assert not AuditEntry.objects.get(action="image.pull").ok


def test_it_pulls_without_javascript_too(admin_client, dk, registry_image):
    pushed = registry_image("formpull")
    r = admin_client.post("/images/pull/", {"reference": pushed})
    assert r.status_code == 302
    assert said(r) == f"Pulled {pushed}: docker pull {pushed}"
    assert dk.images.get(pushed)
    r = admin_client.post("/images/pull/", {"reference": "Bad Name"})
    assert said(r).startswith("Not pulled: 'Bad Name' is not a valid image reference")


def test_it_explains_an_image_in_use(admin_client, temp_image, make_container, dk):
    ref, image_id = temp_image("inuse")
    c = make_container(image=ref, command="sleep 3600")
    html = admin_client.post(f"/images/{ref}/remove/").content.decode()
    assert "In use:" in html
    assert c.name in html
    r = admin_client.post(f"/images/{ref}/remove/", {"confirm": "yes"})
    message = said(r)
    assert f"docker rmi {ref} failed" in message
    assert f"in use by container {c.name}" in message
    assert dk.images.get(image_id)
    assert not AuditEntry.objects.get(action="image.remove").ok


def test_it_removes_an_image(admin_client, temp_image, dk):
    ref, image_id = temp_image("gone")
    r = admin_client.post(f"/images/{ref}/remove/", {"confirm": "yes"})
    message = said(r)
    assert message.startswith(f"Removed {ref}: docker rmi {ref}")
    assert f"Deleted: {image_id}" in message
    with pytest.raises(docker.errors.ImageNotFound):
        dk.images.get(image_id)


def test_it_tags_an_image(admin_client, temp_image, dk):
    ref, image_id = temp_image("src")
    target = f"{TEMP_IMAGE_PREFIX}img:copy"
    r = admin_client.post(f"/images/{ref}/tag/", {"target": target})
    assert said(r) == f"Tagged {ref} as {target}: docker tag {ref} {target}"
    assert dk.images.get(target).id == image_id
    r = admin_client.post(f"/images/{ref}/tag/", {"target": "Bad Name"})
    assert "Tag not added" in said(r)


def test_it_prunes_exactly_the_confirmed_dangling_images(admin_client, temp_image, dk):
    _, dangling = temp_image("prune")
    _, kept = temp_image("prune")
    html = admin_client.post("/images/prune/").content.decode()
    assert f'name="ids" value="{dangling}"' in html
    assert f'value="{kept}"' not in html
    # Confirm only ours: other runs' dangling images on this shared engine are not ours to remove.
    r = admin_client.post("/images/prune/", {"confirm": "yes", "ids": [dangling]})
    assert "1 done" in r.content.decode()
    with pytest.raises(docker.errors.ImageNotFound):
        dk.images.get(dangling)
    assert dk.images.get(kept)


@pytest.mark.parametrize(
    "url", ["/images/pull/", "/images/prune/", "/images/debian:bookworm/remove/", "/images/debian:bookworm/tag/"]
)
def test_it_refuses_get_on_image_mutations(admin_client, url):
    assert admin_client.get(url).status_code == 405


@pytest.mark.parametrize(
    "url", ["/images/pull/", "/images/prune/", "/images/debian:bookworm/remove/", "/images/debian:bookworm/tag/"]
)
def test_it_keeps_operators_from_image_mutations(operator_client, url, dk):
    assert (
        operator_client.post(url, {"reference": "debian:bookworm", "confirm": "yes", "target": "x:y"}).status_code
        == 403
    )
    assert dk.images.get("debian:bookworm")


def test_it_names_an_unknown_image_in_a_404(viewer_client):
    r = viewer_client.get(f"/images/{TEMP_IMAGE_PREFIX}nothing:v9/")
    assert r.status_code == 404
    assert "No such image" in r.content.decode()


def test_the_dashboard_and_the_images_page_count_the_same_images(viewer_client, dk):
    """The dashboard counted `docker info`'s images (intermediate ones too), the images page its rows
    (one per tag): now both count the images `docker images` lists."""
    import re

    def counts():
        dashboard = viewer_client.get("/").content.decode()
        images = viewer_client.get("/images/").content.decode()
        on_dashboard = int(re.search(r'data-count="images">([\d,]+)<', dashboard).group(1).replace(",", ""))
        on_images = int(re.search(r'data-count="images">([\d,]+) image', images).group(1).replace(",", ""))
        return on_dashboard, on_images, len(dk.api.images())

    for _ in range(5):  # another run's image may come or go in between: agree on one moment
        on_dashboard, on_images, listed = counts()
        if on_dashboard == on_images == listed:
            break
    assert on_dashboard == on_images == listed
