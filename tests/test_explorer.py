"""Tests for tinygrad_sm.viz.explore: the page's data against the engine, and the page
itself driven in headless Chromium (Selenium), with the network blocked.

The browser tests skip with a reason where Chromium, its driver or Selenium is missing,
except in CI (env CI=true), where that is a failure. They save ``docs/images/explorer.png``,
so the picture in the docs is always of the current code."""

import html
import importlib.util
import inspect
import io
import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_sm as tg
from tinygrad_sm.cli import main
from tinygrad_sm.viz import Explorer, backward_steps, collect, explore
from tinygrad_sm.viz.graph import summarize

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "docs" / "images" / "explorer.png"
IN_CI = bool(os.environ.get("CI"))  # as conftest.py reads it

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None or importlib.util.find_spec("graphviz") is None,
    reason="needs Graphviz: pip install graphviz, and the `dot` program (apt-get install "
           "graphviz; CI has both)",
)


def reused_graph():
    """A small layer whose output h is used three times: its gradient is a sum of three."""
    tg.manual_seed(0)
    x = tg.randn(4, 3)
    w = tg.randn(3, 2, requires_grad=True)
    b = tg.zeros(2, requires_grad=True)
    h = (x @ w + b).tanh()
    loss = (h * h + h).mean()
    return {"x": x, "w": w, "b": b, "h": h}, loss


def page_data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', page,
                  re.S)
    assert m is not None
    return json.loads(m.group(1))


# -- the page's data, checked against the engine -----------------------------------------------


@needs_dot
def test_steps_are_the_engines_backward_with_each_ops_docstring():
    t, loss = reused_graph()
    data = page_data(explore(loss, {"w": t["w"], "b": t["b"]}).html)
    steps = backward_steps(loss)
    g = collect(loss)
    assert len(data["steps"]) == len(steps) and data["steps"][0]["op"] is None
    for k, ((fn, _), s) in enumerate(zip(steps[1:], data["steps"][1:]), start=1):
        op = data["nodes"][s["op"]]
        assert s["op"] == g.pos(fn)
        assert (op["op"], op["order"]) == (fn.name, k)  # the "#k" of the drawing is step k
        assert op["rule"] == inspect.cleandoc(type(fn).__doc__)
    mul = next(data["nodes"][s["op"]] for s in data["steps"][1:]
               if data["nodes"][s["op"]]["op"] == "mul")
    assert mul["rule"].startswith("z = x * y.   dz/dx = y, dz/dy = x.")


@needs_dot
def test_partial_sums_grow_to_the_gradient_backward_computes():
    t, loss = reused_graph()
    h = t["h"]
    h.retain_grad()
    data = page_data(explore(loss, {"w": t["w"], "b": t["b"]}).html)
    pos = collect(loss).pos(h)
    sent = [entry for s in data["steps"] for entry in s["sent"] if entry[0] == pos]
    assert len(sent) == 3  # from mul (twice: h * h) and from add
    assert sent[0][3] is None  # the first contribution has nothing to add to
    for before, after in zip(sent, sent[1:]):
        assert after[3] == before[4]  # "had" is the previous sum
    loss.backward()
    assert sent[-1][4] == summarize(h.grad.data)


@needs_dot
def test_the_page_is_one_file_that_requests_nothing(tmp_path):
    t, loss = reused_graph()
    page = explore(loss, t)
    path = page.save(tmp_path / "explorer.html")
    text = path.read_text(encoding="utf-8")
    assert text == page.html and "<svg" in text and "step 0 of 7" in text  # mean is sum then * 1/n
    # Only the SVG's namespace names look like URLs; nothing is fetched.
    assert re.findall(r"https?://[^\"' ]*", text) == ["http://www.w3.org/2000/svg",
                                                      "http://www.w3.org/1999/xlink"]
    assert not re.search(r"\s(src|href)=|<link|@import|url\(", text)
    assert "default-src 'none'" in text  # and the page forbids itself any request


@needs_dot
def test_jupyter_shows_the_page_in_an_iframe():
    _, loss = reused_graph()
    page = explore(loss)
    iframe = page._repr_html_()
    m = re.fullmatch(r'<iframe srcdoc="([^"]*)" (.*)></iframe>', iframe, re.S)
    assert m is not None and html.unescape(m.group(1)) == page.html
    assert 'sandbox="allow-scripts"' in m.group(2)
    assert "7 steps" in repr(page) and isinstance(page, Explorer)


def test_errors_say_what_to_do():
    _, loss = reused_graph()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"explore: the graph was freed by backward .*call "
                                           r"explore before calling backward"):
        explore(loss)
    with pytest.raises(TypeError, match="explore: expected the Tensor to backpropagate from"):
        explore(np.ones(3))


def test_without_graphviz_the_errors_say_how_to_install_it(monkeypatch):
    from tinygrad_sm.viz import GraphvizNotFoundError

    _, loss = reused_graph()
    if importlib.util.find_spec("graphviz") is not None:
        monkeypatch.setenv("PATH", "")  # no `dot`
        with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz"):
            explore(loss)
    monkeypatch.setitem(sys.modules, "graphviz", None)  # no graphviz package
    with pytest.raises(ImportError, match="explore needs the graphviz Python package"):
        explore(loss)


@needs_dot
def test_a_graph_of_500_ops_is_folded_and_stays_small():
    x = tg.tensor(np.linspace(-1, 1, 3), requires_grad=True)
    y = x
    for _ in range(250):
        y = (y * 0.9).tanh()
    page = explore(y.sum())
    data = page_data(page.html)
    assert len(data["steps"]) == 502  # the seed, then sum and 500 ops
    folded = {data["nodes"][s["op"]]["unit"] for s in data["steps"][1:]}
    assert any(u.startswith("f") for u in folded)  # folded ops highlight their fold node
    titles = set(re.findall(r"<title>([^<]*)</title>", page.html))
    assert folded <= titles
    assert len(page.html) < 1_500_000


@needs_dot
def test_collapsed_modules_show_their_parameters_gradients_and_the_op_inside():
    from tinygrad_sm import nn

    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    loss = model(tg.randn(5, 3)).square().mean() if hasattr(tg.Tensor, "square") else (
        model(tg.randn(5, 3)) ** 2).mean()
    page = explore(loss, model, collapse=True)
    data = page_data(page.html)
    g = collect(loss)
    params = dict(model.named_parameters())
    for name, p in params.items():
        node = data["nodes"][g.pos(p)]
        assert node["unit"].startswith("m") and node["grad"], name  # drawn in its module
        assert f'id="gv-{g.pos(p)}"' in page.html
    linear_steps = [s for s in data["steps"][1:] if data["nodes"][s["op"]]["op"] == "linear"]
    assert {data["nodes"][s["op"]]["unit"] for s in linear_steps} == {
        data["nodes"][g.pos(params["0.weight"])]["unit"],
        data["nodes"][g.pos(params["2.weight"])]["unit"]}


@needs_dot
def test_a_non_scalar_root_starts_from_the_given_gradient():
    a = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    data = page_data(explore(a * a, gradient=np.array([1.0, 0.0, -1.0])).html)
    seed = data["steps"][0]["in"]
    assert seed[1:] == ["[1, 0, -1]", "(3,)"]
    assert data["steps"][1]["sent"][-1][4] == "[2, 0, -6]"  # 2 a g, in two halves
    with pytest.raises(RuntimeError, match="explore: grad can be implicitly created only for "
                                           "scalar outputs"):
        explore(a * a)


@needs_dot
def test_cli_writes_the_explorer_of_one_default_training_step(tmp_path, capsys):
    out = tmp_path / "explorer.html"
    assert main(["explore", "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert out.stat().st_size < 1_000_000
    assert "step 0 of 4" in text and "0.weight" in text  # linear, relu, linear, loss
    assert main(["explore", "--dataset", "iris", "--model", "linear", "--out", str(out)]) == 0
    assert "step 0 of 2" in out.read_text(encoding="utf-8")


@needs_dot
def test_the_docs_hook_builds_the_sites_explorer_page():
    spec = importlib.util.spec_from_file_location("hooks_explorer",
                                                  ROOT / "docs" / "hooks_explorer.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    text = hooks.explorer_page().decode()
    assert "step 0 of 4" in text and "one training step: mlp on digits" in text
    docs = (ROOT / "docs" / "explorer.md").read_text()
    assert f"]({hooks.PAGE})" in docs  # the page links it ...
    assert f'src="{Path(hooks.PAGE).name}"' in docs  # ... and embeds it (from explorer/)


# -- in a real browser ----------------------------------------------------------------------


def _browser_or_reason():
    """(chromium, chromedriver) paths, or why the browser tests cannot run here."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return None, "the selenium package is missing (pip install -e '.[dev]')"
    chromium = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        return None, ("Chromium or chromedriver is missing (apt-get install chromium "
                      "chromium-driver)")
    if shutil.which("dot") is None:
        return None, "the Graphviz `dot` program is missing (apt-get install graphviz)"
    return (chromium, driver), None


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module, with every http(s) and ws request blocked."""
    paths, reason = _browser_or_reason()
    if paths is None:
        if IN_CI:
            pytest.fail(f"CI must run the browser tests: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SE_OFFLINE", "true")  # Selenium Manager must not download anything
        options = webdriver.ChromeOptions()
        options.binary_location = paths[0]
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1200,1000", "--force-device-scale-factor=1"):
            options.add_argument(arg)
        driver = webdriver.Chrome(options=options, service=Service(paths[1]))
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setBlockedURLs",
                               {"urls": ["http://*", "https://*", "ws://*", "wss://*"]})
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def page(browser, tmp_path_factory):
    """The explorer of ``reused_graph``, loaded, with what the engine computes for it."""
    t, loss = reused_graph()
    t["h"].retain_grad()  # so that the engine's .grad of h can be compared too
    explorer = explore(loss, {"w": t["w"], "b": t["b"]}, inputs={"x": t["x"]}, rankdir="TB",
                       title="Backprop through a small layer whose output is used three times")
    path = explorer.save(tmp_path_factory.mktemp("explorer") / "explorer.html")
    steps = backward_steps(loss)
    g = collect(loss)
    loss.backward()
    browser.get(path.as_uri())
    return {"driver": browser, "steps": steps, "graph": g, "loss": loss, "t": t, "path": path}


def press(driver, *keys):
    from selenium.webdriver.common.action_chains import ActionChains

    chain = ActionChains(driver)
    for key in keys:
        chain.send_keys(key)
    chain.perform()


def click(driver, button_id):
    driver.find_element("id", button_id).click()


def select(driver, node):
    """Click the drawn node whose Graphviz title is ``node``."""
    driver.execute_script(
        "[...document.querySelectorAll('g.node')].find(g => g.querySelector('title')"
        ".textContent === arguments[0]).dispatchEvent(new MouseEvent('click', {bubbles: true}))",
        node)


def step_text(driver):
    return driver.find_element("id", "step-text").text


def current_node(driver):
    titles = driver.execute_script(
        "return [...document.querySelectorAll('g.node.current')].map("
        "g => g.querySelector('title').textContent)")
    return titles[0] if len(titles) == 1 else titles or None


def shown_grads(driver):
    """The gradient text drawn in each tensor node, by graph position."""
    texts = driver.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('[id^=gv-]')].map("
        "e => [e.id.slice(3), e.textContent]))")
    return {int(k): v for k, v in texts.items()}


def expected_grads(page, k, positions):
    known = page["steps"][k][1]
    nodes = page["graph"].nodes
    return {i: summarize(known[id(nodes[i])]) if id(nodes[i]) in known else "?"
            for i in positions}


def test_keys_and_buttons_step_through_backward(page):
    from selenium.webdriver.common.keys import Keys

    d, steps, g = page["driver"], page["steps"], page["graph"]
    n = len(steps) - 1
    assert step_text(d) == f"step 0 of {n}" and current_node(d) is None
    for k in range(1, n + 1):
        press(d, Keys.ARROW_RIGHT) if k % 2 else click(d, "next")
        assert step_text(d) == f"step {k} of {n}"
        fn = steps[k][0]
        assert current_node(d) == f"n{g.pos(fn)}"  # the op being processed, highlighted
        assert d.find_element("id", "panel-title").text == f"step {k} of {n}: {fn.name} backward"
    press(d, Keys.ARROW_RIGHT)  # past the end: stays
    assert step_text(d) == f"step {n} of {n}"
    press(d, Keys.HOME)
    assert step_text(d) == f"step 0 of {n}"
    press(d, Keys.ARROW_LEFT)  # before the start: stays
    assert step_text(d) == f"step 0 of {n}"
    press(d, Keys.END)
    assert step_text(d) == f"step {n} of {n}"
    click(d, "prev")
    assert step_text(d) == f"step {n - 1} of {n}"
    click(d, "first")
    assert step_text(d) == f"step 0 of {n}"
    click(d, "last")
    assert step_text(d) == f"step {n} of {n}"


def test_gradient_texts_match_the_engine_at_every_step(page):
    from selenium.webdriver.common.keys import Keys

    d, steps = page["driver"], page["steps"]
    press(d, Keys.HOME)
    positions = sorted(shown_grads(d))
    t, g = page["t"], page["graph"]
    assert {g.pos(t["w"]), g.pos(t["b"]), g.pos(t["h"])} <= set(positions)
    for k in range(len(steps)):
        if k:
            press(d, Keys.ARROW_RIGHT)
        assert shown_grads(d) == expected_grads(page, k, positions)
    # At the last step: what .grad holds after a real backward, to the digits shown.
    shown = shown_grads(d)
    for name in ("w", "b", "h"):
        assert shown[g.pos(t[name])] == summarize(t[name].grad.data)
    assert shown[g.pos(page["loss"])] == "1"


def test_the_panel_shows_the_partial_sum_growing(page):
    from selenium.webdriver.common.keys import Keys

    d, steps = page["driver"], page["steps"]
    h = page["t"]["h"]
    press(d, Keys.HOME)
    sums = []
    for _ in range(len(steps) - 1):
        press(d, Keys.ARROW_RIGHT)
        table = d.find_elements("id", "sent")
        if table and "+=" in table[0].text:
            sums.append(table[0].text)
    assert sums  # h gets gradient from mul (twice) and from add: a "+=" step
    # The last partial sum is h's gradient (the page's text collapses double spaces).
    assert " ".join(summarize(h.grad.data).split()) in sums[-1]


def test_clicking_a_node_shows_its_value_gradient_and_shape(page):
    from selenium.webdriver.common.keys import Keys

    d, g, t = page["driver"], page["graph"], page["t"]
    press(d, Keys.END)
    w = t["w"]
    select(d, f"n{g.pos(w)}")
    text = d.find_element("id", "selected").text
    assert "w (3, 2) float32" in text
    assert all(" ".join(summarize(a).split()) in text for a in (w.data, w.grad.data))
    press(d, Keys.HOME)  # the selection stays, its gradient not yet known
    assert "? (not yet known)" in d.find_element("id", "selected").text


def test_inline_in_a_notebook_the_iframe_runs_the_page(page, tmp_path):
    """As a Jupyter front-end shows ``_repr_html_``: in a host page, with a sandbox."""
    from selenium.webdriver.common.keys import Keys

    d = page["driver"]
    _, loss = reused_graph()
    host = tmp_path / "notebook.html"
    host.write_text(f"<!DOCTYPE html><html><body><p>Out[1]:</p>{explore(loss)._repr_html_()}"
                    "</body></html>", encoding="utf-8")
    d.get(host.as_uri())
    try:
        d.switch_to.frame(d.find_element("tag name", "iframe"))
        assert step_text(d) == "step 0 of 7"
        click(d, "next")
        press(d, Keys.ARROW_RIGHT)
        assert step_text(d) == "step 2 of 7"
    finally:
        d.switch_to.default_content()
        d.get(page["path"].as_uri())


def test_space_plays_and_pauses(page):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    d = page["driver"]
    press(d, Keys.HOME)
    press(d, Keys.SPACE)
    assert "pause" in d.find_element("id", "play").text
    WebDriverWait(d, 10).until(lambda d: not step_text(d).startswith("step 0 "))
    press(d, Keys.SPACE)
    assert "play" in d.find_element("id", "play").text


def test_no_network_request_and_no_error_then_a_screenshot_for_the_docs(page):
    from selenium.webdriver.common.keys import Keys

    d, steps = page["driver"], page["steps"]
    resources = d.execute_script("return performance.getEntriesByType('resource').length")
    assert resources == 0
    errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    # The picture in the docs: the whole graph at the step where h's partial sum grows,
    # h selected (its gradient's history in the panel).
    d.refresh()
    if d.find_element("id", "zoom").text == "fit":
        click(d, "zoom")
    h = page["t"]["h"]
    k = next(k for k, (fn, _) in enumerate(steps)
             if fn is not None and fn.name == "mul" and any(i is h for i in fn.inputs))
    for _ in range(k):
        press(d, Keys.ARROW_RIGHT)
    select(d, f"n{page['graph'].pos(h)}")
    assert "+=" in d.find_element("id", "selected").text
    # Still dashes (the page's reduced-motion style) and the pointer on plain text (no button
    # hovered) make the picture the same every run.
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(d).move_to_element(d.find_element("id", "step-text")).perform()
    d.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-reduced-motion", "value": "reduce"}]})
    png = d.get_screenshot_as_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    if not same_pixels(SCREENSHOT, png):  # the file changes only when the page does
        SCREENSHOT.write_bytes(png)


def same_pixels(path, png):
    """Whether ``path`` holds the picture ``png`` (its bytes vary between runs, not its
    pixels)."""
    if not path.exists():
        return False
    try:
        from matplotlib.image import imread
    except ImportError:
        return path.read_bytes() == png
    return np.array_equal(imread(path), imread(io.BytesIO(png)))
