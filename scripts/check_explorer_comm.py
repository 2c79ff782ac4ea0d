"""Drive notebook 09's attention explorer the way JupyterLab does: over the widget comm protocol.

    python scripts/check_explorer_comm.py                  # the notebook itself, PROFILE = "cpu"
    python scripts/check_explorer_comm.py --profile cuda   # the same on a GPU machine

A browser is not needed to test what JupyterLab's widget manager does: it talks to the kernel
with Jupyter messages. This script starts a real ``python3`` kernel (jupyter_client), runs the
notebook's code cells with the chosen profile (so the widget is displayed), finds the query-x
slider among the widget models the kernel opened (``comm_open``, target ``jupyter.widget``),
and sends the ``comm_msg`` ``{"method": "update", "state": {"value": x}}`` that moving the slider
in JupyterLab sends. The explorer responds when the kernel answers that message with a new
PNG figure (a ``display_data`` whose parent is our message, which JupyterLab routes into the
widget's Output area), and the figure differs from the one for another query.

``--server URL --token T`` does the same through a running ``jupyter lab`` (its REST API and
its kernel websocket, the transport the JupyterLab page uses) instead of a kernel of its own.

Prints what happened and exits 0 only when both updates drew a figure and the figures differ.
``tests/test_explorer.py`` runs :func:`drive_slider` on a small set-up of the same widget.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import queue
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def notebook_code(path: Path, profile: str) -> list[str]:
    """The code cells of a notebook, with ``PROFILE = ...`` in its parameters cell replaced."""
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    code = []
    for cell in cells:
        source = cell.source
        if "parameters" in cell.metadata.get("tags", []):
            lines = [f'PROFILE = "{profile}"' if line.startswith("PROFILE =") else line for line in source.splitlines()]
            source = "\n".join(lines)
        code.append(source)
    return code


def _wait_idle(client, msg_id: str, timeout: float, sink: list) -> None:
    """Read iopub until the kernel is idle for ``msg_id``; collect every message into ``sink``;
    raise RuntimeError on an error output."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no answer from the kernel within {timeout:.0f} s")
        try:
            msg = client.get_iopub_msg(timeout=left)
        except queue.Empty:
            continue
        sink.append(msg)
        if msg["msg_type"] == "error" and msg["parent_header"].get("msg_id") == msg_id:
            raise RuntimeError("kernel error: " + msg["content"]["ename"] + ": " + msg["content"]["evalue"])
        if (
            msg["msg_type"] == "status"
            and msg["content"]["execution_state"] == "idle"
            and msg["parent_header"].get("msg_id") == msg_id
        ):
            return


def _figures_for(messages: list, msg_id: str) -> list[str]:
    """sha256 of every PNG displayed in answer to ``msg_id``."""
    return [
        hashlib.sha256(base64.b64decode(m["content"]["data"]["image/png"])).hexdigest()[:16]
        for m in messages
        if m["msg_type"] in ("display_data", "update_display_data")
        and m["parent_header"].get("msg_id") == msg_id
        and "image/png" in m["content"].get("data", {})
    ]


def _slider_comms(messages: list, description: str) -> list[str]:
    """comm ids of the IntSlider widgets with this description that the kernel opened."""
    return [
        m["content"]["comm_id"]
        for m in messages
        if m["msg_type"] == "comm_open"
        and m["content"].get("target_name") == "jupyter.widget"
        and m["content"]["data"]["state"].get("_model_name") == "IntSliderModel"
        and m["content"]["data"]["state"].get("description") == description
    ]


def _slider_update(comm_id: str, value: int) -> dict:
    """What JupyterLab sends when the slider moves: the new state of the widget model."""
    return {"comm_id": comm_id, "data": {"method": "update", "state": {"value": value}, "buffer_paths": []}}


def drive_slider(code: list[str], slider_description: str = "query x", values=(3, 9), timeout: float = 600, cwd: Path | None = None) -> dict:
    """Run ``code`` (cells) in a fresh python3 kernel, then move the slider described
    ``slider_description`` to each of ``values`` as JupyterLab would.

    Returns {"slider_found": bool, "figures": [[png hash, ...] per value], "seconds": float}.
    """
    from jupyter_client.manager import start_new_kernel

    started = time.monotonic()
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(cwd) if cwd else None)
    try:
        messages: list = []
        for source in code:
            _wait_idle(client, client.execute(source), timeout, messages)
        sliders = _slider_comms(messages, slider_description)
        result = {"slider_found": bool(sliders), "figures": []}
        if sliders:
            for value in values:
                msg = client.session.msg("comm_msg", _slider_update(sliders[-1], value))
                client.shell_channel.send(msg)
                answer: list = []
                _wait_idle(client, msg["header"]["msg_id"], timeout, answer)
                result["figures"].append(_figures_for(answer, msg["header"]["msg_id"]))
        result["seconds"] = time.monotonic() - started
        return result
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def drive_slider_via_server(
    url: str, token: str, code: list[str], slider_description: str = "query x", values=(3, 9), timeout: float = 600
) -> dict:
    """:func:`drive_slider` through a running Jupyter server (``jupyter lab``), the way the
    JupyterLab page talks to it: a kernel started with ``POST /api/kernels`` and every message
    over the server's websocket ``/api/kernels/<id>/channels``. Same return value."""
    import asyncio
    import json
    import urllib.request
    import uuid

    from tornado.websocket import websocket_connect

    def rest(method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            f"{url.rstrip('/')}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=60) as answer:
            text = answer.read()
        return json.loads(text) if text else None

    session = uuid.uuid4().hex

    def message(msg_type: str, content: dict, channel: str = "shell") -> dict:
        header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": session, "username": "check",
                  "version": "5.3", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}  # fmt: skip
        return {"header": header, "parent_header": {}, "metadata": {}, "content": content, "channel": channel, "buffers": []}

    async def run() -> dict:
        kernel = rest("POST", "/api/kernels", {"name": "python3"})
        ws_url = url.replace("http", "ws", 1).rstrip("/") + f"/api/kernels/{kernel['id']}/channels?token={token}&session_id={session}"
        connection = await websocket_connect(ws_url)
        try:

            async def until_idle(msg: dict) -> list:
                await connection.write_message(json.dumps(msg))
                seen, deadline = [], time.monotonic() + timeout
                while True:
                    raw = await asyncio.wait_for(connection.read_message(), max(1.0, deadline - time.monotonic()))
                    if raw is None:
                        raise RuntimeError("the server closed the kernel's websocket")
                    reply = json.loads(raw)
                    if reply.get("channel") != "iopub":
                        continue
                    seen.append(reply)
                    if reply["msg_type"] == "error" and reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                        raise RuntimeError("kernel error: " + reply["content"]["ename"] + ": " + reply["content"]["evalue"])
                    if (reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle"
                            and reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]):  # fmt: skip
                        return seen

            messages = []
            for source in code:
                messages += await until_idle(message("execute_request", {"code": source, "silent": False, "store_history": True,
                                                                          "user_expressions": {}, "allow_stdin": False}))  # fmt: skip
            sliders = _slider_comms(messages, slider_description)
            result = {"slider_found": bool(sliders), "figures": []}
            for value in values if sliders else ():
                msg = message("comm_msg", _slider_update(sliders[-1], value))
                result["figures"].append(_figures_for(await until_idle(msg), msg["header"]["msg_id"]))
            return result
        finally:
            connection.close()
            rest("DELETE", f"/api/kernels/{kernel['id']}")

    started = time.monotonic()
    result = asyncio.run(run())
    result["seconds"] = time.monotonic() - started
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", type=Path, default=ROOT / "notebooks" / "09_attention_explorer.ipynb")
    parser.add_argument("--profile", default="cpu", choices=("cpu", "cuda"), help="the ci profile does not show the widget")
    parser.add_argument("--values", type=int, nargs=2, default=(40, 200), help="two query x values to move the slider to")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--server", metavar="URL", help="go through this running Jupyter server (jupyter lab), e.g. http://127.0.0.1:8888")
    parser.add_argument("--token", default="", help="the server's token")
    args = parser.parse_args(argv)
    code = notebook_code(args.notebook, args.profile)
    if args.server:  # the server starts kernels in its root: make the notebook's relative paths work from there
        code = [f"import os; os.chdir({str(args.notebook.parent.resolve())!r})"] + code
        result = drive_slider_via_server(args.server, args.token, code, values=args.values, timeout=args.timeout)
        where = f"a python3 kernel of the Jupyter server at {args.server}, over its websocket"
    else:
        result = drive_slider(code, values=args.values, timeout=args.timeout, cwd=args.notebook.parent)
        where = "a python3 kernel"
    print(f"{args.notebook.name}, PROFILE={args.profile}: ran in {where} in {result['seconds']:.0f} s")
    if not result["slider_found"]:
        print("FAILED: no 'query x' IntSlider widget was opened")
        return 1
    for value, figures in zip(args.values, result["figures"]):
        print(f"  slider 'query x' -> {value}: {len(figures)} PNG figure(s) back {figures}")
    drew = all(len(f) >= 1 for f in result["figures"])
    differ = drew and result["figures"][0][-1] != result["figures"][1][-1]
    print("explorer responds: " + ("yes, a new figure per move and they differ" if differ else "NO"))
    return 0 if differ else 1


if __name__ == "__main__":
    sys.exit(main())
