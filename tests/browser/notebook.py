"""Lecture notebooks with explorers, and driving them in JupyterLab as a student does.

Discovery reads the committed notebooks, so a new chapter with an explorer is covered without
editing any test: a code cell whose source calls one of the classes exported by
``course_lib.widgets`` that subclass ``course_lib.widgets._base.Explorer`` (every explorer does, see
docs/DESIGN.md), whatever its name, is a live explorer cell. In the browser an explorer is the DOM element with the CSS class ``course-explorer``; its
numbers are in ``course-explorer-readout`` and its figure is the ``<img>`` with
``course-explorer-figure``.
"""
from __future__ import annotations

import ast
import dataclasses
import html
import json
import math
import re

from . import ROOT

NOTEBOOKS = ROOT / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
STDERR = "application/vnd.jupyter.stderr"   # JupyterLab renders stderr streams AND errors with it
# every step below waits on a condition; these are only the limits of a very loaded machine
OPEN_TIMEOUT_MS = 180_000
RUN_ALL_TIMEOUT_MS = 600_000
REDRAW_TIMEOUT_MS = 120_000


# --- the committed notebooks --------------------------------------------------------------------
@dataclasses.dataclass
class ExplorerCell:
    index: int          # cell index in the notebook (markdown cells included)
    source: str
    classes: list       # explorer class names the cell calls


def read(path):
    return json.loads(path.read_text(encoding="utf-8"))


def explorer_classes() -> dict:
    """name -> class of every explorer that course_lib.widgets exports."""
    import course_lib.widgets as widgets

    return {name: obj for name, obj in vars(widgets).items()
            if isinstance(obj, type) and issubclass(obj, widgets.Explorer) and obj is not widgets.Explorer}


def _calls(source: str) -> list:
    """Names of the explorer classes the source calls (in order)."""
    names = explorer_classes()
    try:
        tree = ast.parse(source)
    except SyntaxError:                              # IPython magics: fall back to a regex
        return [n for n in re.findall(r"(?<![\w.])([A-Za-z_]\w*)\s*\(", source) if n in names]
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    calls.sort(key=lambda node: (node.lineno, node.col_offset))
    found = []
    for node in calls:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name in names:
            found.append(name)
    return found


def explorer_cells(nb) -> list:
    """The code cells that construct an explorer."""
    out = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        names = _calls(src)
        if names:
            out.append(ExplorerCell(i, src, names))
    return out


def explorer_notebooks() -> list:
    """Every lecture notebook (notebooks/NN_*.ipynb) with at least one explorer cell."""
    return sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if explorer_cells(read(p)))


def tags(cell) -> set:
    return set(cell.get("metadata", {}).get("tags", []))


def expected_stderr_cells(nb) -> set:
    """Cells allowed to show stderr or an error in the browser: those whose committed outputs
    already show one (a deliberate warning) or that are tagged ``raises-exception``."""
    allowed = set()
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        if "raises-exception" in tags(cell) or any(
                o["output_type"] == "error" or (o["output_type"] == "stream" and o["name"] == "stderr")
                for o in cell.get("outputs", [])):
            allowed.add(i)
    return allowed


def reproduce(cell: ExplorerCell):
    """The cell's first explorer built in this process from its literal arguments (same class,
    same arguments), or None when the call is not literal-only. Used to predict the readout the
    kernel must show for the values the browser set."""
    classes = explorer_classes()
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name not in classes:
            continue
        try:
            args = [ast.literal_eval(a) for a in node.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
        except ValueError:
            return None
        if any(k.arg is None for k in node.keywords):
            return None
        return classes[name](*args, **kwargs)
    return None


def html_text(fragment: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed (as the browser shows it)."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", fragment))
    return " ".join(text.split())


def numbers(text: str) -> list:
    return re.findall(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text)


# --- JupyterLab in the browser ---------------------------------------------------------------
_PROMPTS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
                     .map(e => e.textContent.trim())"""
# done: no cell queued or running and either every code cell ran or an error stopped the run
_RUN_DONE = """() => {
  const ps = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
               .map(e => e.textContent.trim());
  if (!ps.length || ps.some(t => t.includes('*'))) return false;
  const status = document.querySelector('#jp-main-statusbar')?.textContent || '';
  if (!/Idle/.test(status)) return false;
  return ps.every(t => /^\\[\\d+\\]:$/.test(t))
      || document.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]') !== null;
}"""
_IDLE = """() => /Idle/.test(document.querySelector('#jp-main-statusbar')?.textContent || '')"""


class LabNotebook:
    """One lecture notebook opened in JupyterLab in its own page (and its own workspace)."""

    def __init__(self, browser, lab, path, viewport=(1400, 1000)):
        self.path = path
        self.lab = lab
        self.nb = read(path)
        self.page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        self.console = []
        self.page.on("console", lambda m: m.type == "error" and self.console.append(m.text))
        rel = path.relative_to(ROOT).as_posix()
        self.page.goto(lab.url(f"/lab/workspaces/course-{path.stem}/tree/{rel}"))
        self.page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=OPEN_TIMEOUT_MS)
        self.page.wait_for_function(_IDLE, timeout=OPEN_TIMEOUT_MS)

    def run_all(self) -> None:
        """Run > Run All Cells from the menu bar, then wait until the kernel is idle again."""
        self.page.get_by_role("menuitem", name="Run", exact=True).click()
        self.page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        self.page.wait_for_function("() => document.querySelector('.jp-Notebook .jp-CodeCell "
                                    ".jp-InputPrompt')?.textContent.trim() !== '[ ]:'",
                                    timeout=RUN_ALL_TIMEOUT_MS)
        self.page.wait_for_function(_RUN_DONE, timeout=RUN_ALL_TIMEOUT_MS, polling=500)

    def cells(self):
        return self.page.locator(".jp-Notebook .jp-Cell")

    def prompts(self) -> list:
        return self.page.evaluate(_PROMPTS)

    def problems(self) -> list:
        """(cell index, text) of every stderr or error output and every widget that failed to
        display, outside the cells allowed to show one."""
        found = self.page.evaluate("""() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')]
          .map((cell, i) => [i,
             [...cell.querySelectorAll('.jp-OutputArea-output')]
               .filter(o => o.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr'
                            || /Error displaying widget|Failed to load model class/.test(o.textContent))
               .map(o => o.textContent.trim())])
          .filter(([i, texts]) => texts.length)""")
        allowed = expected_stderr_cells(self.nb)
        return [(i, "\n".join(texts)) for i, texts in found if i not in allowed]

    def explorers(self, cell_index: int) -> list:
        """Locators of the explorers in the outputs of one cell."""
        loc = self.cells().nth(cell_index).locator(".course-explorer")
        return [loc.nth(k) for k in range(loc.count())]

    def screenshot(self, path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))

    def close(self) -> None:
        self.page.close()
        self.lab.shutdown_kernels()


# --- one explorer in the browser ----------------------------------------------------------------
_ARM = """(el) => {
  const img = el.querySelector('img.course-explorer-figure');
  const r = window.__courseRedraw = {t0: null, t1: null, src: img.src};
  const mark = () => { if (r.t0 === null) r.t0 = performance.now(); };
  for (const type of ['pointerup', 'change', 'keyup', 'click'])
    document.addEventListener(type, mark, {capture: true, once: true});
  const obs = new MutationObserver(() => {
    if (img.src !== r.src && r.t1 === null) { r.t1 = performance.now(); obs.disconnect(); }
  });
  obs.observe(img, {attributes: true, attributeFilter: ['src']});
}"""
_IMAGE_DIGEST = """async (el) => {
  const img = el.querySelector('img.course-explorer-figure');
  if (!img.complete) await new Promise(ok => { img.onload = ok; img.onerror = ok; });
  const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return {sha: [...digest].map(b => b.toString(16).padStart(2, '0')).join(''),
          size: bytes.length, width: img.naturalWidth, height: img.naturalHeight, src: img.src,
          png: bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47};
}"""
# the controls: every child of the explorer box except header HTML, readout and figure
_CONTROLS = """(el) => [...el.children].map((c, i) => {
  const label = c.querySelector(':scope > .widget-label')?.textContent.trim() || '';
  let kind = null;
  if (c.classList.contains('widget-hslider')) kind = 'slider';
  else if (c.querySelector('select[multiple]')) kind = 'multiselect';
  else if (c.querySelector('select')) kind = 'select';
  else if (c.querySelector('input[type=checkbox]')) kind = 'checkbox';
  else if (c.classList.contains('widget-toggle-buttons')) kind = 'toggle';
  else if (c.querySelector('input[type=radio]')) kind = 'radio';
  else if (c.querySelector('input[type=number], input[type=text]')) kind = 'text';
  return {i, label, kind};
}).filter(c => c.kind)"""


@dataclasses.dataclass
class Move:
    label: str
    kind: str
    before: str          # control's shown value before / after
    after: str
    readout_before: str
    readout_after: str
    image_before: dict
    image_after: dict
    redraw_ms: float     # control change (pointer up / change / key) -> new image src


class BrowserExplorer:
    def __init__(self, page, locator):
        self.page = page
        self.el = locator

    def readout(self) -> str:
        return " ".join(self.el.locator(".course-explorer-readout").text_content().split())

    def image(self) -> dict:
        return self.el.evaluate(_IMAGE_DIGEST)

    def controls(self) -> list:
        return self.el.evaluate(_CONTROLS)

    def control(self, i):
        return self.el.locator(":scope > *").nth(i)

    def shown_value(self, ctrl) -> str:
        box = self.control(ctrl["i"])
        kind = ctrl["kind"]
        if kind == "slider":
            return box.locator(".widget-readout").text_content().strip()
        # (ipywidgets writes option labels with no-break spaces)
        if kind == "select":
            return box.locator("select").evaluate(
                "s => (s.options[s.selectedIndex]?.text ?? '').replace(/\\u00a0/g, ' ')")
        if kind == "multiselect":
            return json.dumps(box.locator("select").evaluate(
                "s => [...s.selectedOptions].map(o => o.text.replace(/\\u00a0/g, ' '))"))
        if kind == "checkbox":
            return str(box.locator("input[type=checkbox]").is_checked())
        if kind == "toggle":
            return box.locator("button.mod-active").first.text_content().strip()
        if kind == "radio":
            return box.locator("input[type=radio]:checked").evaluate(
                "i => i.parentElement.textContent.trim()")
        return box.locator("input").input_value()

    def _act(self, ctrl) -> None:
        """Change one control the way a person does: drag a slider's handle, pick another option,
        click a check box or another button, type a new number."""
        box = self.control(ctrl["i"])
        kind = ctrl["kind"]
        if kind == "slider":
            box.scroll_into_view_if_needed()
            handle = box.locator(".noUi-handle").first.bounding_box()
            track = box.locator(".noUi-base").first.bounding_box()
            x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
            frac = (x - track["x"]) / track["width"]
            target = 0.3 if frac > 0.5 else 0.7                # towards the farther end
            m = self.page.mouse
            m.move(x, y)
            m.down()
            m.move(track["x"] + target * track["width"], y, steps=8)
            m.up()
        elif kind == "select":
            sel = box.locator("select")
            n = sel.evaluate("s => s.options.length")
            cur = sel.evaluate("s => s.selectedIndex")
            sel.select_option(index=(cur + 1) % n)
        elif kind == "multiselect":                 # drop the last chosen option, or add one
            sel = box.locator("select")
            chosen = sel.evaluate("s => [...s.options].map(o => o.selected)")
            picked = [i for i, c in enumerate(chosen) if c]
            if len(picked) > 1:
                picked = picked[:-1]
            else:
                picked = picked + [next(i for i, c in enumerate(chosen) if not c)]
            sel.select_option(index=picked)
        elif kind == "checkbox":
            box.locator("input[type=checkbox]").click()
        elif kind == "toggle":
            box.locator("button:not(.mod-active)").first.click()
        elif kind == "radio":
            box.locator("input[type=radio]:not(:checked)").first.click()
        else:
            inp = box.locator("input").first
            value = float(inp.input_value() or 0)
            inp.fill(repr(value * 1.5 if value else 1.0))
            inp.press("Enter")

    def _set(self, ctrl, shown: str) -> None:
        """Put a discrete control (not a slider) back to a value it showed."""
        box = self.control(ctrl["i"])
        kind = ctrl["kind"]
        if kind in ("select", "multiselect"):
            wanted = json.loads(shown) if kind == "multiselect" else [shown]
            texts = box.locator("select").evaluate(
                "s => [...s.options].map(o => o.text.replace(/\\u00a0/g, ' '))")
            box.locator("select").select_option(index=[texts.index(w) for w in wanted])
        elif kind == "checkbox":
            box.locator("input[type=checkbox]").set_checked(shown == "True")
        elif kind == "toggle":
            box.locator("button", has_text=shown).first.click()
        elif kind == "radio":
            box.locator("label", has_text=shown).locator("input[type=radio]").first.click()
        else:
            raise ValueError(f"cannot set a {kind} back")

    def restore(self, ctrl, shown: str) -> Move:
        """Set a discrete control back (so the next control is moved from the default setting:
        e.g. a parameter of a racer that the previous move took out of the race has no effect)."""
        return self.move(ctrl, action=lambda: self._set(ctrl, shown))

    def move(self, ctrl, action=None) -> Move:
        """Change a control and wait (a condition, not a sleep) for the new readout and image."""
        before, readout_before, image_before = self.shown_value(ctrl), self.readout(), self.image()
        self.el.evaluate(_ARM)
        (action or (lambda: self._act(ctrl)))()
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(
                """([el, src, text]) => {
                     const img = el.querySelector('img.course-explorer-figure');
                     const r = window.__courseRedraw;
                     const readout = el.querySelector('.course-explorer-readout').textContent
                                       .split(/\\s+/).filter(Boolean).join(' ');
                     return r.t1 !== null && img.src !== src && img.complete && readout !== text; }""",
                arg=[self.el.element_handle(), image_before["src"], readout_before],
                timeout=REDRAW_TIMEOUT_MS, polling=50)
        except PlaywrightTimeout:
            new_image = self.el.evaluate("el => el.querySelector('img.course-explorer-figure').src")
            raise AssertionError(
                f"control {ctrl['label']!r} ({ctrl['kind']}) moved from {before!r} to "
                f"{self.shown_value(ctrl)!r}, but after {REDRAW_TIMEOUT_MS / 1000:.0f} s "
                f"{'the image is the same' if new_image == image_before['src'] else 'the image changed'} "
                f"and the readout {'is still' if self.readout() == readout_before else 'is now'} "
                f"{self.readout()!r}") from None
        timing = self.page.evaluate("() => window.__courseRedraw")
        return Move(ctrl["label"], ctrl["kind"], before, self.shown_value(ctrl), readout_before,
                    self.readout(), image_before, self.image(),
                    timing["t1"] - (timing["t0"] if timing["t0"] is not None else timing["t1"]))


def set_like_browser(explorer, label: str, kind: str, shown: str) -> None:
    """Give the in-process explorer's control labelled ``label`` the value the browser shows."""
    matches = [c for c in explorer.controls.values() if getattr(c, "description", None) == label]
    if len(matches) != 1:
        raise LookupError(f"no single control with description {label!r} in {type(explorer).__name__}")
    control = matches[0]
    number = shown.replace("\u2212", "-")          # slider readouts print a Unicode minus
    if kind == "multiselect":
        control.label = tuple(json.loads(shown))
    elif hasattr(control, "options"):           # Dropdown, SelectionSlider, ToggleButtons, ...
        control.label = shown
    elif kind == "checkbox":
        control.value = shown == "True"
    elif kind == "slider" and hasattr(control, "base"):       # FloatLogSlider: steps in exponent
        exponent = math.log(float(number), control.base)
        exponent = control.min + round((exponent - control.min) / control.step) * control.step
        control.value = control.base ** exponent
    elif kind == "slider" and isinstance(control.value, int):
        control.value = int(number)
    elif kind == "slider":
        step = control.step
        control.value = control.min + round((float(number) - control.min) / step) * step
    else:
        control.value = type(control.value)(shown)
