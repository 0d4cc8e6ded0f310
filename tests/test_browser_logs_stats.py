"""In Debian's chromium: the logs page follows a container live, renders colours safely and
searches; the stats panel updates its numbers and charts."""

from __future__ import annotations

import pytest

from tests.conftest import login

pytestmark = pytest.mark.browser

WAIT_FOR_GO = "while [ ! -f /tmp/go ]; do sleep 0.1; done"


def test_it_shows_a_line_printed_after_the_page_opened(page, panel, make_container):
    script = (
        "echo first line; echo oops >&2; printf '\\033[1;32mgreen\\033[0m <b>not bold</b>\\n'; "
        f"{WAIT_FOR_GO}; echo printed after the page opened; sleep 3600"
    )
    c = make_container(command=["sh", "-c", script])
    login(page, panel, "viewer")
    page.goto(f"{panel.url}/containers/{c.name}/logs/")
    out = page.locator("#logs-output")
    out.locator(".line", has_text="first line").wait_for()
    assert page.locator("#logs-status").inner_text().startswith("Following")
    # stderr is told apart
    assert out.locator(".line.stderr").inner_text() == "oops"
    # colours become styled spans, and markup in the log stays text
    green = out.locator(".line", has_text="green").locator("span[style]").first
    assert green.inner_text() == "green"
    assert green.evaluate("e => getComputedStyle(e).color") == "rgb(78, 154, 6)"
    assert out.locator("b").count() == 0
    assert "<b>not bold</b>" in out.inner_text()
    c.exec_run(["touch", "/tmp/go"])
    out.locator(".line", has_text="printed after the page opened").wait_for()
    # search highlights matches in the shown lines
    page.fill("#logs-search", "LINE")
    page.locator("#logs-matches", has_text="1 match").wait_for()
    assert out.locator("mark").inner_text() == "line"
    # wrap on/off
    page.uncheck("#logs-wrap")
    assert out.evaluate("e => getComputedStyle(e).whiteSpace") == "pre"
    page.check("#logs-wrap")
    assert out.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"


def test_it_keeps_a_bounded_number_of_lines_and_says_so(page, panel, make_container):
    c = make_container(
        command=["sh", "-c", "seq 1 120000; sleep 3600"],
        log_config={"type": "json-file", "config": {"max-size": "20m", "max-file": "1"}},
    )
    login(page, panel, "viewer")
    page.goto(f"{panel.url}/containers/{c.name}/logs/?tail=all")
    out = page.locator("#logs-output")
    out.locator(".line", has_text="120000").wait_for(timeout=60_000)
    max_lines = page.evaluate("DockerPanelLogs.MAX_LINES")
    assert out.locator(".line").count() <= max_lines
    notice = page.locator("#logs-notice")
    assert notice.is_visible()
    assert "older lines were removed from the page" in notice.inner_text()
    # the page is still responsive
    page.fill("#logs-search", "119999")
    page.locator("#logs-matches", has_text="1 match").wait_for()


def test_it_updates_the_stats_panel(page, panel, make_container):
    c = make_container(command=["sh", "-c", "while :; do :; done"])
    login(page, panel, "viewer")
    page.goto(f"{panel.url}/containers/{c.name}/stats/")
    stats = page.locator(".stats-panel")
    page.wait_for_function("document.querySelector('.stats-panel').dataset.samples >= '3'")
    assert stats.locator('[data-field="cpu"]').inner_text().endswith("%")
    assert " / " in stats.locator('[data-field="mem"]').inner_text()
    assert stats.locator('[data-field="pids"]').inner_text() == "1"
    before = int(stats.get_attribute("data-samples"))
    page.wait_for_function(f"Number(document.querySelector('.stats-panel').dataset.samples) > {before + 1}")
    assert int(stats.locator('svg[data-chart="cpu"]').get_attribute("data-points")) >= 2
    assert stats.locator('svg[data-chart="cpu"] polyline').count() == 1


def test_it_embeds_the_stats_panel_with_htmx(page, panel, make_container):
    c = make_container()
    login(page, panel, "viewer")
    page.goto(f"{panel.url}/")
    # what a container page does to embed the panel (see docs/stats.md)
    page.evaluate(
        """(name) => {
          const holder = document.createElement("div");
          holder.setAttribute("hx-get", `/containers/${name}/stats/?embed=1`);
          holder.setAttribute("hx-trigger", "load");
          holder.setAttribute("hx-swap", "outerHTML");
          document.querySelector("main").appendChild(holder);
          htmx.process(holder);
        }""",
        c.name,
    )
    page.locator(".stats-panel[data-ready]").wait_for()
    page.wait_for_function("Number(document.querySelector('.stats-panel').dataset.samples) >= 1")


def test_it_renders_ansi_colours_without_trusting_the_log_text(page, panel, make_container):
    c = make_container()
    login(page, panel, "viewer")
    page.goto(f"{panel.url}/containers/{c.name}/logs/")
    render = """(text) => { const el = document.createElement("div"); DockerPanelLogs.renderAnsi(text, el);
      return {html: el.innerHTML, text: el.textContent}; }"""
    # markup in a log line stays text
    out = page.evaluate(render, '<img src=x onerror="window.pwned=1"><script>window.pwned=1</script>')
    assert out["text"] == '<img src=x onerror="window.pwned=1"><script>window.pwned=1</script>'
    assert "<img" not in out["html"]
    assert page.evaluate("window.pwned") is None
    # 16, 256 and 24-bit colours, bold, reset
    out = page.evaluate(render, "\x1b[1;31mred\x1b[0m \x1b[38;5;208morange\x1b[39m \x1b[48;2;1;2;3mbg\x1b[m end")
    assert out["text"] == "red orange bg end"
    assert '<span style="color: rgb(204, 0, 0); font-weight: bold;">red</span>' in out["html"]
    assert '<span style="color: rgb(255, 135, 0);">orange</span>' in out["html"]
    assert '<span style="background-color: rgb(1, 2, 3);">bg</span>' in out["html"]
    assert out["html"].endswith(" end")
    # other escapes (cursor moves, window titles, carriage returns) are removed, not shown
    out = page.evaluate(render, "\x1b]0;title\x07\x1b[2K\x1b[1Gprogress 50%\r")
    assert out == {"html": "progress 50%", "text": "progress 50%"}
    # a colour code cannot smuggle CSS in: what is not an SGR sequence is shown as text
    out = page.evaluate(render, "\x1b[38;2;1;2;3);background:url(x)mx")
    assert "<span" not in out["html"]
    assert out["text"] == "[38;2;1;2;3);background:url(x)mx"


def test_it_pauses_and_resumes_the_live_view(page, panel, make_container):
    script = f"echo first; {WAIT_FOR_GO}; seq 1 20; sleep 3600"
    c = make_container(command=["sh", "-c", script])
    login(page, panel, "viewer")
    page.goto(f"{panel.url}/containers/{c.name}/logs/")
    out = page.locator("#logs-output")
    out.locator(".line", has_text="first").wait_for()
    page.click("#logs-pause")
    assert page.locator("#logs-pause").inner_text() == "Resume"
    c.exec_run(["touch", "/tmp/go"])
    page.wait_for_timeout(1500)
    assert out.locator(".line").count() == 1  # nothing added while paused
    page.click("#logs-pause")
    out.locator(".line", has_text="20").wait_for()
    assert out.locator(".line").all_inner_texts() == ["first", *[str(n) for n in range(1, 21)]]
