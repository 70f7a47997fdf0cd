"""`make lab` (the README's first command) starts JupyterLab on the course: the lab page is
served, the notebooks, exercises and solutions are listed, and a kernel starts in the course's
environment."""
import json
import pathlib
import urllib.request

import pytest

from browser.lab import STAMP, TOKEN, JupyterLab

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _get(port, path, method="GET", body=None):
    sep = "&" if "?" in path else "?"
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}{sep}token={TOKEN}", method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read()


@pytest.fixture(scope="module")
def lab():
    """`make lab` itself (tests/browser/lab.py: the Makefile's flags, a free port and a token)."""
    if not STAMP.exists():
        pytest.skip("make lab needs the .venv that make creates")
    with JupyterLab() as server:
        yield server.port


def test_lab_page_is_served(lab):
    status, body = _get(lab, "/lab/tree/notebooks")
    assert status == 200 and b"JupyterLab" in body


@pytest.mark.parametrize("folder", ["notebooks", "exercises", "solutions"])
def test_course_notebooks_are_listed(lab, folder):
    _, body = _get(lab, f"/api/contents/{folder}")
    listed = {item["name"] for item in json.loads(body)["content"]}
    on_disk = {p.name for p in (ROOT / folder).glob("*.ipynb")}
    assert on_disk and on_disk <= listed


def _execute_over_websocket(port, kernel_id, code, timeout=60):
    """Run `code` in a kernel the way the JupyterLab front end does (websocket, Jupyter
    messaging protocol) and return what it printed to stdout."""
    import asyncio
    import uuid

    from tornado.websocket import websocket_connect

    async def run():
        ws = await websocket_connect(
            f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?token={TOKEN}")
        msg_id = uuid.uuid4().hex
        await ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                       "session": uuid.uuid4().hex, "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False}}))
        printed, status = [], None
        while status is None:
            msg = json.loads(await ws.read_message())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                printed.append(msg["content"]["text"])
            elif msg["msg_type"] == "execute_reply":
                status = msg["content"]["status"]
        ws.close()
        return status, "".join(printed)

    return asyncio.run(asyncio.wait_for(run(), timeout))


def test_a_kernel_runs_course_code_in_the_course_environment(lab):
    _, body = _get(lab, "/api/kernelspecs")
    assert json.loads(body)["default"] == "python3"
    _, body = _get(lab, "/api/kernels", method="POST", body={"name": "python3"})
    kernel_id = json.loads(body)["id"]
    try:
        status, printed = _execute_over_websocket(
            lab, kernel_id,
            "import sys, course_lib.objectives as ob; print(sys.prefix); print(ob.bowl().kappa)")
        assert status == "ok", printed
        prefix, kappa = printed.split()
        assert pathlib.Path(prefix).resolve() == (ROOT / ".venv").resolve()
        assert float(kappa) == 20.0
    finally:
        _get(lab, f"/api/kernels/{kernel_id}", method="DELETE")
