"""In Debian's chromium: typing into the xterm.js terminal, and refusals explained on the page."""

import pytest

from tests.conftest import login
from tests.png import pixels

pytestmark = pytest.mark.browser


@pytest.fixture
def shell_box(make_container):
    return make_container(command="sh", tty=True, stdin_open=True)


def _screen(page) -> str:
    return page.evaluate(
        "() => { const b = window.term.buffer.active; const out = [];"
        " for (let i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true));"
        " return out.join('\\n'); }"
    )


def test_it_types_into_the_browser_terminal(page, panel, shell_box):
    login(page, panel, "operator")
    page.goto(f"{panel.url}/containers/{shell_box.name}/terminal/?cmd=sh")
    page.wait_for_function(
        "window.term && document.getElementById('terminal-status').textContent.startsWith('Connected')"
    )
    assert not page.is_visible("#terminal-reconnect")
    page.click("#terminal")
    page.keyboard.type("echo $((6*7)); printf '\\355\\225\\234\\352\\270\\200\\n'; stty size\n")
    page.wait_for_function("window.term.buffer.active.getLine(0) && window.term.buffer.active.length > 0")
    page.wait_for_timeout(300)
    for _ in range(50):
        screen = _screen(page)
        if "\n42" in screen and "한글" in screen:
            break
        page.wait_for_timeout(100)
    assert "\n42" in screen
    assert "한글" in screen
    # the terminal fills the window: far wider than 80 columns, and the shell knows it
    cols, rows = page.evaluate("[window.term.cols, window.term.rows]")
    assert cols > 120
    assert f"{rows} {cols}" in screen
    # a smaller window: the terminal refits and the shell learns the new size
    page.set_viewport_size({"width": 900, "height": 600})
    page.wait_for_function(f"window.term.cols < {cols}")
    cols, rows = page.evaluate("[window.term.cols, window.term.rows]")
    page.keyboard.type("clear; stty size\n")
    page.wait_for_function(
        f"(() => {{ const b = window.term.buffer.active; for (let i = 0; i < b.length; i++) if (b.getLine(i).translateToString(true) === '{rows} {cols}') return true; return false; }})()"
    )
    page.keyboard.type("exit 3\n")
    page.wait_for_selector("#terminal-reconnect", state="visible")
    assert "exited with code 3" in page.inner_text("#terminal-status")
    page.click("#terminal-reconnect")
    page.wait_for_function("document.getElementById('terminal-status').textContent.startsWith('Connected')")


def test_it_explains_a_refused_socket_in_the_page(page, panel, shell_box):
    login(page, panel, "operator")
    page.goto(f"{panel.url}/containers/{shell_box.name}/terminal/?cmd=sh")
    page.wait_for_function("document.getElementById('terminal-status').textContent.startsWith('Connected')")
    # log out in another tab: the reconnect then meets a socket closed with 4401
    other = page.context.new_page()
    other.goto(panel.url + "/")
    other.click("text=Log out")
    page.keyboard.type("exit\n")
    page.wait_for_selector("#terminal-reconnect:not([hidden])")
    page.click("#terminal-reconnect")
    page.wait_for_function("document.getElementById('terminal-status').textContent.includes('not logged in')")


def test_underscores_are_drawn_inside_their_cells(page, panel, shell_box):
    """At line height 1 the underscore of DejaVu Sans Mono fell below the cell and was clipped:
    `echo under_score` read "under score". The pixels under each underscore must show it."""
    login(page, panel, "operator")
    page.goto(f"{panel.url}/containers/{shell_box.name}/terminal/?cmd=sh")
    page.wait_for_function("document.getElementById('terminal-status').textContent.startsWith('Connected')")
    page.click("#terminal")
    page.keyboard.type("clear; echo A_B_C\n")
    page.wait_for_function(
        "(() => { const b = window.term.buffer.active; for (let i = 0; i < b.length; i++)"
        " if (b.getLine(i).translateToString(true) === 'A_B_C') return true; return false; })()"
    )
    page.wait_for_timeout(200)  # one animation frame for the renderer to paint the line
    # the cell of each "_" on the screen, from the rendered row's text
    found = page.evaluate(
        """() => {
        const rows = [...document.querySelectorAll('#terminal .xterm-rows > div')];
        const row = rows.find((r) => r.textContent.replace(/\u00a0/g, ' ').trimEnd() === 'A_B_C');
        if (!row) return null;
        const rowBox = row.getBoundingClientRect();
        const out = [];
        const walker = document.createTreeWalker(row, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          for (let i = 0; i < node.data.length; i++) {
            if (node.data[i] !== '_') continue;
            const range = document.createRange();
            range.setStart(node, i); range.setEnd(node, i + 1);
            const r = range.getBoundingClientRect();
            out.push({x: r.left, y: rowBox.top, width: r.width, height: rowBox.height});
          }
        }
        return {boxes: out, background: {x: rowBox.right - 3, y: rowBox.top + 1, width: 1, height: 1}};
    }"""
    )
    assert found, "no rendered row reads A_B_C"
    assert len(found["boxes"]) == 2, found
    boxes = found["boxes"]
    background = pixels(page.screenshot(clip=found["background"]))[0][0]
    for box in boxes:
        shot = pixels(page.screenshot(clip=box))
        inked = [
            (y, x)
            for y, row in enumerate(shot)
            for x, px in enumerate(row)
            if sum(abs(a - b) for a, b in zip(px, background, strict=True)) > 150
        ]
        assert inked, f"nothing drawn in the underscore's cell {box}: it is clipped"
        # an underscore is a horizontal stroke low in its cell
        assert min(y for y, _ in inked) > len(shot) / 2, inked
