"""`make site`: the course as a static HTML book, checked as a reader sees it.

The site is built once per module with `make site SITE_DIR=<tmp>` (committed outputs, nothing
executed) and served on loopback; headless Chromium visits every page reachable from the index
and asserts that its math is typeset by MathJax (no raw `$...$` or `\\(...\\)` left), its images
load, every internal link and anchor resolves, and nothing is fetched from outside the site (the
site must work offline). Screenshots go to build/browser/site/. The build checks need no browser;
the page checks skip without Chromium, except under CI=true, where they fail.
"""
import json
import pathlib
import re
import urllib.parse

import pytest

from browser import ARTIFACTS, ROOT, chromium
from browser.site import Served, build

CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SHOTS = ARTIFACTS / "site"
MATHJAX_TIMEOUT_MS = 120_000


def _built_from(site_html, stem):
    """The notebook the page was built from (make site's copy of notebooks/<stem>.ipynb)."""
    return json.loads((site_html.parent / "src" / "notebooks" / f"{stem}.ipynb").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def site_html(tmp_path_factory):
    from browser.lab import STAMP

    if not STAMP.exists():
        pytest.skip("make site needs the .venv that make creates")
    return build(tmp_path_factory.mktemp("site"))


# --- the build (no browser) ---------------------------------------------------------------
def test_site_has_a_page_per_chapter_listed_in_the_table_of_contents(site_html):
    index = (site_html / "index.html").read_text(encoding="utf-8")
    assert CHAPTERS
    for stem in CHAPTERS:
        assert (site_html / "notebooks" / f"{stem}.html").exists(), f"no page for {stem}"
        assert f'href="notebooks/{stem}.html"' in index, f"{stem} missing from the contents"


@pytest.mark.parametrize("stem", [s for s in CHAPTERS if (ROOT / "exercises" / f"{s}.ipynb").exists()])
def test_exercise_notebook_is_a_download_on_index_and_chapter_page(site_html, stem):
    original = (ROOT / "exercises" / f"{stem}.ipynb").read_bytes()
    for page in (site_html / "index.html", site_html / "notebooks" / f"{stem}.html"):
        hrefs = re.findall(rf'href="([^"]*_downloads/[^"]*/{re.escape(stem)}\.ipynb)"',
                           page.read_text(encoding="utf-8"))
        assert hrefs, f"{page.name}: no download link for exercises/{stem}.ipynb"
        target = (page.parent / urllib.parse.unquote(hrefs[0])).resolve()
        assert target.read_bytes() == original, f"{page.name}: the download is not exercises/{stem}.ipynb"


def test_pages_load_nothing_from_outside_the_site(site_html):
    for page in site_html.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        external = re.findall(r'<(?:script|link|img|iframe)[^>]+(?:src|href)="((?:https?:)?//[^"]+)"', text)
        assert not external, f"{page.relative_to(site_html)} loads {external[:3]}"
        assert "widget-view+json" not in text and "require.js" not in text, (
            f"{page.relative_to(site_html)} embeds a live widget (needs a kernel and a CDN)")


# --- in the browser -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(request):
    chromium.require(pytest)                 # before the build: no browser, no need to build
    site_html = request.getfixturevalue("site_html")
    from playwright.sync_api import sync_playwright

    with Served(site_html) as served, sync_playwright() as p:
        browser = chromium.launch(p)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        outside, failed = [], []

        def route(r):                      # offline: anything not from the site is refused
            if r.request.url.startswith(served.origin) or r.request.url.startswith("data:"):
                r.continue_()
            else:
                outside.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
        served.page, served.outside, served.failed, served.visited = page, outside, failed, {}
        yield served
        browser.close()


_TYPESET = """async () => {
  if (!window.MathJax || !MathJax.Hub) return false;
  await new Promise(r => MathJax.Hub.Register.StartupHook('End', r));
  await new Promise(r => MathJax.Hub.Queue(r));
  return true;
}"""
_INSPECT = """() => {
  const main = document.querySelector('main') || document.body;
  const maths = [...main.querySelectorAll('.math.notranslate')];
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT, {acceptNode: n =>
    n.parentElement.closest('pre, code, script, style, .highlight, .MathJax, .MathJax_Display, '
                            + '.MJX_Assistive_MathML, .MathJax_Preview')
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  let text = '';
  while (walker.nextNode()) text += walker.currentNode.textContent + ' ';
  const raw = text.match(/\\$[^$\\s][^$]*\\$|\\\\\\(|\\\\\\[|\\\\\\]|\\\\\\)/g) || [];
  return {
    math: maths.length,
    typeset: maths.filter(m => m.querySelector('.MathJax, .MathJax_Display')).length,
    errors: [...document.querySelectorAll('.MathJax_Error, .merror')].map(e => e.textContent)
              .concat(/Math Processing Error/.test(document.body.textContent) ? ['Math Processing Error'] : []),
    raw: raw.slice(0, 5),
    images: [...main.querySelectorAll('img')].map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id], a[name]')].map(e => e.id || e.getAttribute('name')),
  };
}"""


def _visit(site, path):
    """Open one page, wait for MathJax, return what is on it (cached per page)."""
    if path not in site.visited:
        page = site.page
        page.goto(site.url(path), wait_until="load")
        has_mathjax = page.evaluate(_TYPESET)
        page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=MATHJAX_TIMEOUT_MS)
        info = page.evaluate(_INSPECT)
        info["mathjax"] = has_mathjax
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / (path.replace("/", "_").replace(".html", "") + ".png")))
        site.visited[path] = info
    return site.visited[path]


def _check_page(path, info):
    assert not info["errors"], f"{path}: MathJax errors {info['errors']}"
    assert info["typeset"] == info["math"], (
        f"{path}: {info['math'] - info['typeset']} of {info['math']} formulas not typeset")
    if info["math"]:
        assert info["mathjax"], f"{path}: formulas but no MathJax on the page"
    assert not info["raw"], f"{path}: raw TeX left in the text: {info['raw']}"
    broken = [i["src"] for i in info["images"] if not i["ok"]]
    assert not broken, f"{path}: images that do not load: {broken}"


@pytest.mark.parametrize("stem", CHAPTERS)
def test_chapter_page_renders_its_math_and_figures(site, stem):
    info = _visit(site, f"notebooks/{stem}.html")
    _check_page(stem, info)
    nb = _built_from(site.folder, stem)
    figures = sum("image/png" in o.get("data", {}) for c in nb["cells"] if c["cell_type"] == "code"
                  for o in c.get("outputs", []))
    shown = sum(1 for i in info["images"] if "_images/" in (i["src"] or ""))
    assert shown == figures, f"{stem}: the page shows {shown} figures, the notebook has {figures}"
    has_math = any(c["cell_type"] == "markdown" and "$" in "".join(c["source"]) for c in nb["cells"])
    assert info["math"] > 0 or not has_math, f"{stem}: the notebook has math, the page none"


def test_every_page_renders_and_no_internal_link_is_broken(site):
    """Crawl every page reachable from the index: each renders its math and images, every link
    inside the site reaches a page or file that exists (and its #anchor), nothing is fetched from
    outside the site and no request fails."""
    root = site.origin + "/"
    # the index, and Sphinx's search and general index pages (reached by the search box)
    todo, seen, broken = ["genindex.html", "search.html", "index.html"], set(), []
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        info = _visit(site, path)
        _check_page(path, info)
        for href in info["links"]:
            if not href.startswith(root):
                continue                            # external links are not followed
            url = urllib.parse.urlsplit(href)
            rel = urllib.parse.unquote(url.path[1:]) or "index.html"
            if rel.endswith("/"):
                rel += "index.html"
            target = site.folder / rel
            if not target.is_file():
                broken.append(f"{path} -> {href}")
                continue
            if rel.endswith(".html"):
                if url.fragment:
                    ids = _visit(site, rel)["ids"]
                    if urllib.parse.unquote(url.fragment) not in ids:
                        broken.append(f"{path} -> {href} (no such anchor)")
                todo.append(rel)
    pages = {p.relative_to(site.folder).as_posix() for p in site.folder.rglob("*.html")
             if not p.relative_to(site.folder).as_posix().startswith("_static/")}
    assert not broken, "broken internal links:\n" + "\n".join(broken[:20])
    assert pages <= seen, f"pages not reachable from the index: {sorted(pages - seen)}"
    assert len(seen) >= len(CHAPTERS) + 1
    assert not site.outside, f"the site fetched from outside: {site.outside[:5]}"
    assert not site.failed, f"failed requests: {site.failed[:5]}"
