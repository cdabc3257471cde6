"""A harness for the service, shared by the tests and the benchmarks: a real `triage serve` (uvicorn)
on 127.0.0.1, a JSON caller, and a fixed set of test keys (one per role, and one with every role).

It lives in the package, not under tests/, so bench/ need not import the test suite. The keys are
for throwaway servers only: they are public in this file.
"""

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

from api._keys import ROLES, hash_key

REPO = Path(__file__).resolve().parents[1]
KEYS = {role: f"trg_test-{role}-key-0123456789abcdef" for role in ROLES}
KEYS["all"] = "trg_test-all-roles-key-0123456789abcdef"
WEBHOOK_SECRET = "webhook-secret-for-tests-0123456789"


def keys_env() -> str:
    """TRIAGE_API_KEYS for `KEYS`: digests only, as a real deployment would hold them."""
    items = [f"{role}:{role}:{hash_key(key)}" for role, key in KEYS.items() if role != "all"]
    return ",".join([*items, f"all:{'+'.join(ROLES)}:{hash_key(KEYS['all'])}"])



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
    proc = subprocess.Popen([sys.executable, "-m", "triage.cli", "serve", "--model", str(model), "--port", str(port)],
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
