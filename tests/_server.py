"""A real `triage serve` (uvicorn) process on 127.0.0.1 for tests and benchmarks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(method: str, url: str, payload: object = None, headers: dict[str, str] | None = None,
         timeout: float = 60) -> tuple[int, Any]:
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            body = res.read()
            return res.status, json.loads(body) if res.headers.get_content_type() == "application/json" else body
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


@contextmanager
def serve(model: Path, env: dict[str, str], timeout: float = 300) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    full = {**os.environ, "PYTHONPATH": str(REPO), **env}
    log = open(Path(env.get("TRIAGE_TEST_LOG", os.devnull)), "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "training.cli", "serve", "--model", str(model), "--port", str(port)],
                            cwd=REPO, env=full, stdout=subprocess.DEVNULL, stderr=log, text=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert proc.poll() is None, f"server exited with {proc.returncode}"
            try:
                if call("GET", url + "/readyz", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("server did not become ready")
            time.sleep(0.5)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        finally:
            log.close()
