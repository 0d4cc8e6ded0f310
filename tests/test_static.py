"""Static files are served by whitenoise with DEBUG off, with hashed names."""

import re

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


@override_settings(DEBUG=False)
def test_it_serves_styles_and_scripts_with_debug_off(admin_client):
    html = admin_client.get("/").content.decode()
    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert any(u.startswith("/static/css/panel.") and u.endswith(".css") for u in urls), urls
    assert any(u.startswith("/static/vendor/htmx.min.") for u in urls), urls
    for url in urls:
        r = admin_client.get(url)
        assert r.status_code == 200, url
        body = b"".join(r.streaming_content) if r.streaming else r.content
        assert len(body) > 100, url
