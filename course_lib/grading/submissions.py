"""Finding and reading the submitted notebooks, trusting nothing about them.

    SUBMISSIONS/<student>/[sub/folders/]<notebook>.ipynb

Symbolic links are never followed: a linked student folder is skipped with a warning, a linked
notebook is graded as invalid ("a symbolic link"); so are FIFOs, devices and other files that are
not regular. File names may be any bytes (they are kept as the OS gives them, and shown escaped).
A notebook is read with O_NOFOLLOW, at most MAX_NOTEBOOK_BYTES, decoded as strict UTF-8 and parsed
as JSON (too deep a nesting is reported, not a crash); any failure is an `InvalidNotebook` naming the reason.
"""
from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from course_lib.grading.text import clean_name

MAX_NOTEBOOK_BYTES = 100_000_000
MAX_FILES = 10_000       # notebooks looked at in one student's folder


class InvalidNotebook(ValueError):
    pass


@dataclass(frozen=True)
class Submission:
    student: str              # the folder name as the OS gives it (may hold surrogate escapes)
    notebook: str             # the canonical name, or the submitted name when unknown
    path: Path | None         # None: missing
    known: bool = True
    note: str = ""
    problem: str = ""         # why the file cannot be read as a notebook (a link, not a file)

    @property
    def key(self) -> tuple[str, str]:
        return (self.student, self.notebook)

    @property
    def shown(self) -> str:
        return clean_name(self.student)


def _sort_key(name: str) -> bytes:
    return os.fsencode(name)


def _notebooks(folder: Path) -> dict[str, list[tuple[Path, str]]]:
    """{file name: [(path, problem)]} of the *.ipynb under `folder`, links not followed."""
    found: dict[str, list[tuple[Path, str]]] = {}
    stack, seen = [folder], 0
    while stack and seen < MAX_FILES:
        current = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: _sort_key(e.name))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue  # .ipynb_checkpoints and other hidden copies
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif entry.name.endswith(".ipynb"):
                seen += 1
                if entry.is_symlink():
                    problem = "it is a symbolic link (links are not followed): hand in the notebook file itself"
                elif not entry.is_file(follow_symlinks=False):
                    problem = "it is not a regular file"
                else:
                    problem = ""
                found.setdefault(entry.name, []).append((Path(entry.path), problem))
    return found


def discover(submissions: Path, known: list[str], wanted: list[str] | None = None
             ) -> tuple[list[Submission], list[str]]:
    """All (student, notebook) pairs to grade, and warnings (loose files, links, duplicates)."""
    warnings: list[str] = []
    students: list[Path] = []
    for entry in sorted(os.scandir(submissions), key=lambda e: _sort_key(e.name)):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            warnings.append(f"{clean_name(entry.name)}: a symbolic link, not followed; not graded")
        elif entry.is_dir(follow_symlinks=False):
            students.append(Path(entry.path))
        else:
            warnings.append(f"{clean_name(entry.name)}: not in a student folder "
                            "(SUBMISSIONS/<student>/<notebook>.ipynb), skipped")
    chosen: dict[str, dict[str, tuple[Path, str, str]]] = {}
    for sdir in students:
        picks = {}
        for name, paths in _notebooks(sdir).items():
            paths.sort(key=lambda item: (len(item[0].relative_to(sdir).parts), _sort_key(str(item[0]))))
            note = ""
            if len(paths) > 1:
                note = (f"{len(paths)} copies of {clean_name(name)} were found; graded "
                        f"{clean_name(str(paths[0][0].relative_to(sdir)))}")
            picks[name] = (paths[0][0], paths[0][1], note)
        chosen[sdir.name] = picks
    if wanted:
        expected = [w if w.endswith(".ipynb") else f"{w}.ipynb" for w in wanted]
        unknown = [w for w in expected if w not in known]
        if unknown:
            raise SystemExit(f"course-grade: no exercise notebook {', '.join(unknown)}; "
                             f"known: {', '.join(known)}")
    else:
        submitted = {n for picks in chosen.values() for n in picks}
        expected = [n for n in known if n in submitted]
    subs = []
    for student, picks in chosen.items():
        for name in expected:
            if name in picks:
                path, problem, note = picks[name]
                subs.append(Submission(student, name, path, True, note, problem))
            else:
                subs.append(Submission(student, name, None, True))
        for name, (path, problem, note) in picks.items():
            if name not in known:
                subs.append(Submission(student, name, path, False, note, problem))
    subs.sort(key=lambda s: (_sort_key(s.student), _sort_key(s.notebook)))
    return subs, warnings


def read_bytes(path: Path, limit: int = MAX_NOTEBOOK_BYTES) -> bytes:
    """The file's bytes; refuses links, non-regular files and files over `limit`."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InvalidNotebook("it is a symbolic link or cannot be opened"
                              f" ({exc.strerror or type(exc).__name__})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidNotebook("it is not a regular file")
        if info.st_size > limit:
            raise InvalidNotebook(f"it is larger than {limit // 1_000_000} MB; clear the outputs")
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise InvalidNotebook(f"it is larger than {limit // 1_000_000} MB; clear the outputs")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def parse_notebook(data: bytes) -> dict:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidNotebook(f"it is not UTF-8 text (byte {exc.start})") from None
    try:
        nb = json.loads(text)
    except RecursionError:
        raise InvalidNotebook("its JSON is nested too deeply") from None
    except ValueError as exc:
        raise InvalidNotebook(f"malformed JSON: {str(exc).splitlines()[0][:200]}") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise InvalidNotebook("it has no list of cells (not a notebook, or nbformat 3)")
    return nb
