"""Build the course as a static HTML book: ``make site`` (= ``python site/build.py``).

Nothing is executed: the pages show the committed outputs of ``notebooks/NN_*.ipynb``.

1. A Sphinx source tree is generated under ``OUT/src``: ``index.md`` (the README's introduction,
   its quick start and its chapter index, one row per lecture notebook present, so a new chapter
   appears without editing anything), a copy of every lecture notebook (a note with the chapter's
   exercise download on top; each explorer's live widget output replaced by a line pointing at
   the static figure next to it, since a page has no kernel), the exercise notebooks (linked as
   downloads), ``conf.py`` and the static files, MathJax 2.7 included (from the
   jupyter-server-mathjax package: no CDN at view time).
2. ``sphinx-build -b html`` renders it into ``OUT/html`` (MyST-NB, ``nb_execution_mode = "off"``).

Source files are rewritten only when their content changes and the doctrees are kept, so a second
build re-reads nothing that did not change (the HTML folder is written afresh: no stale pages).
Usage: ``python site/build.py [--out site/_build]``; open ``OUT/html/index.html``.
"""
from __future__ import annotations

import argparse
import copy
import json
import pathlib
import re
import shutil
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# what of MathJax 2.7 the pages use: the combined TeX config, HTML-CSS output, STIX web fonts
# (not extensions/a11y: 3.7 MB loaded only by the accessibility explorer, which is off)
MATHJAX_PARTS = ["MathJax.js", "LICENSE", "config", "extensions/*.js", "extensions/TeX",
                 "extensions/MathML", "extensions/HTML-CSS", "jax/input", "jax/element",
                 "jax/output/HTML-CSS", "fonts/HTML-CSS", "localization/en"]


# --- reading the course ---------------------------------------------------------------------
def readme_sections(text: str) -> dict:
    """'#' title, the introduction (before the first '##') and each '##' section, by heading."""
    title = re.search(r"^# (.+)$", text, re.M).group(1).strip()
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    intro = re.sub(r"^# .+$", "", parts[0], count=1, flags=re.M).strip()
    sections = {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts), 2)}
    return {"title": title, "intro": intro, "sections": sections}


def readme_chapter_rows(text: str) -> dict:
    """The README's chapter index: {'02': ('Gradient descent', 'the update rule, ...')}."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"\d\d", cells[0]):
            rows[cells[0]] = (cells[1], cells[2])
    return rows


def notebook_title(nb) -> str:
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            m = re.search(r"^#\s+(.+)$", "".join(cell["source"]), re.M)
            if m:
                return m.group(1).strip()
    return ""


def chapters() -> list:
    """One entry per lecture notebook present, in order, with the README's words where it has a
    row for the chapter (else the notebook's own title)."""
    rows = readme_chapter_rows((ROOT / "README.md").read_text(encoding="utf-8"))
    out = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        number = path.name[:2]
        # a chapter the README does not list yet: its notebook's title, less "Chapter 03 -" or "03"
        title = re.sub(r"^(chapter\s+)?\d+\s*[-—–:.]?\s*", "", notebook_title(nb), flags=re.I)
        name, teaches = rows.get(number, (title or path.stem, ""))
        exercise = ROOT / "exercises" / path.name
        out.append({"number": number, "stem": path.stem, "name": name, "teaches": teaches,
                    "path": path, "nb": nb, "exercise": exercise if exercise.exists() else None})
    return out


# --- the generated pages ----------------------------------------------------------------------
def _escape_cell(text: str) -> str:
    return text.replace("|", "\\|")


def index_page(chs: list) -> str:
    readme = readme_sections((ROOT / "README.md").read_text(encoding="utf-8"))
    lines = [f"# {readme['title']}", "", readme["intro"], ""]
    quick = next((k for k in readme["sections"] if k.lower().startswith("quick start")), None)
    if quick:
        lines += [f"## {quick}", "", readme["sections"][quick], ""]
    lines += ["## Chapters", "",
              "Each chapter is a lecture notebook, shown here with its committed outputs, and an "
              "exercise notebook to download and fill in (its checks run in JupyterLab).", "",
              "| # | chapter | what it teaches | exercises |", "|---|---|---|---|"]
    for ch in chs:
        download = (f"{{download}}`{ch['stem']}.ipynb <exercises/{ch['stem']}.ipynb>`"
                    if ch["exercise"] else "")
        lines.append(f"| {ch['number']} | [{_escape_cell(ch['name'])}](notebooks/{ch['stem']}.ipynb) "
                     f"| {_escape_cell(ch['teaches'])} | {download} |")
    lines += ["", "```{toctree}", ":hidden:", ":caption: Chapters", ""]
    lines += [f"{ch['number']} {ch['name']} <notebooks/{ch['stem']}>" for ch in chs]
    lines += ["```", ""]
    return "\n".join(lines)


def _md_cell(text: str, cell_id: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": text}


def explorer_call() -> re.Pattern:
    """A call of any explorer class course_lib.widgets exports (subclasses of its Explorer)."""
    import course_lib.widgets as widgets

    names = sorted(n for n, v in vars(widgets).items()
                   if isinstance(v, type) and issubclass(v, widgets.Explorer) and v is not widgets.Explorer)
    return re.compile(rf"(?<![\w.])({'|'.join(map(re.escape, names)) or '(?!)'})\s*\(")


def chapter_notebook(ch: dict, is_explorer=None) -> dict:
    """The lecture notebook as the page shows it (the committed file is not touched)."""
    is_explorer = is_explorer or explorer_call().search
    nb = copy.deepcopy(ch["nb"])
    nb["metadata"].pop("widgets", None)          # widget state: nothing to run it on a page
    cells = nb["cells"]
    code = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
    for i in code:
        cell = cells[i]
        src = "".join(cell["source"])
        outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW not in data:
                outputs.append(out)
                continue
            if is_explorer(src):
                k = code.index(i)
                before = k > 0 and any("image/png" in o.get("data", {}) for o in cells[code[k - 1]]["outputs"])
                where = "above" if before else "next to this cell"
                note = (f'<p class="course-explorer-static"><strong>Interactive explorer.</strong> '
                        f"In JupyterLab this cell shows controls that redraw the figure; the static "
                        f"figure {where} shows its default setting.</p>")
                outputs.append({"output_type": "display_data", "metadata": {},
                                "data": {"text/html": note}})
            else:                                   # e.g. a progress bar: keep its text form
                rest = {k: v for k, v in data.items() if k != WIDGET_VIEW}
                if rest:
                    outputs.append({**out, "data": rest})
        cell["outputs"] = outputs
    note = ["```{note}", "**Run it yourself.** `make lab` opens this chapter in JupyterLab, "
            "where the cells run and the explorers move ([quick start](../index.md))."]
    if ch["exercise"]:
        note[-1] += (f" Exercises: {{download}}`{ch['stem']}.ipynb "
                     f"<../exercises/{ch['stem']}.ipynb>` (open it in JupyterLab; every answer "
                     f"has a check cell).")
    note.append("```")
    at = 1 if cells and cells[0]["cell_type"] == "markdown" else 0
    cells.insert(at, _md_cell("\n".join(note), "course-site-run-it-yourself"))
    return nb


# --- writing ------------------------------------------------------------------------------------
def _write(path: pathlib.Path, data: bytes, keep: set) -> None:
    keep.add(path)
    if path.exists() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _mathjax_dir() -> pathlib.Path:
    try:
        import jupyter_server_mathjax
    except ImportError:
        sys.exit("make site needs jupyter-server-mathjax (a dev dependency): "
                 "pip install -c constraints.txt -e '.[dev]'")
    return pathlib.Path(jupyter_server_mathjax.__file__).parent / "static"


def generate(src: pathlib.Path) -> list:
    """Write the Sphinx source tree; return the chapters."""
    keep: set = set()
    chs = chapters()
    is_explorer = explorer_call().search
    _write(src / "conf.py", (HERE / "conf.py").read_bytes(), keep)
    _write(src / "index.md", index_page(chs).encode(), keep)
    for ch in chs:
        _write(src / "notebooks" / f"{ch['stem']}.ipynb",
               (json.dumps(chapter_notebook(ch, is_explorer), indent=1, ensure_ascii=False) + "\n").encode(), keep)
        if ch["exercise"]:
            _write(src / "exercises" / ch["exercise"].name, ch["exercise"].read_bytes(), keep)
    for f in (HERE / "static").rglob("*"):
        if f.is_file():
            _write(src / "_static" / f.relative_to(HERE / "static"), f.read_bytes(), keep)
    mj = _mathjax_dir()
    for part in MATHJAX_PARTS:
        for f in (f for p in sorted(mj.glob(part)) for f in ([p] if p.is_file() else sorted(p.rglob("*")))):
            if f.is_file():
                _write(src / "_static" / "mathjax" / f.relative_to(mj), f.read_bytes(), keep)
    for f in list(src.rglob("*")):                  # a chapter that was removed
        if f.is_file() and f not in keep:
            f.unlink()
    return chs


def build(out: pathlib.Path, quiet: bool = True) -> pathlib.Path:
    """Generate and build; return the HTML folder. Raises CalledProcessError when Sphinx fails."""
    out = out.resolve()
    src, html, doctrees = out / "src", out / "html", out / "doctrees"
    generate(src)
    if html.exists():           # Sphinx never removes stale output; the doctrees keep it quick
        shutil.rmtree(html)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-d", str(doctrees), str(src), str(html),
           "-w", str(out / "warnings.txt")]
    if quiet:
        cmd.append("-q")
    subprocess.run(cmd, check=True, cwd=ROOT)
    return html


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "_build"), help="output folder (default site/_build)")
    ap.add_argument("--clean", action="store_true", help="remove the output folder first")
    args = ap.parse_args(argv)
    out = pathlib.Path(args.out)
    if args.clean and out.exists():
        shutil.rmtree(out)
    start = time.perf_counter()
    html = build(out)
    pages = [p for p in html.rglob("*.html") if "_static" not in p.relative_to(html).parts]
    size = sum(f.stat().st_size for f in html.rglob("*") if f.is_file())
    warnings = (out / "warnings.txt").read_text().strip()
    print(f"site: {len(pages)} HTML pages, {size / 2**20:.1f} MiB in {html} "
          f"({time.perf_counter() - start:.0f} s)")
    if warnings:
        print(f"Sphinx warnings ({out / 'warnings.txt'}):\n{warnings}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
