"""Property-based fuzzing of the whole live OpenAPI schema with schemathesis.

Every operation the running service documents is fuzzed, so endpoints added later join without edits.
Each generated request goes out with a key drawn at random (a key with the route's role, a key with
another role, an unknown key, or none), so the auth paths are fuzzed too. Positive and negative
(schema-violating) data alike; every response is checked by schemathesis: no 5xx, status code and
body conform to the schema, content type as documented.

    .venv/bin/python bench/fuzz.py --model models/demo --requests 1200 --out bench/results/fuzz.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def fuzz(schema: Any, keys: dict[str, str], total: int, seed: int = 0, **call_kwargs: Any) -> dict[str, Any]:
    """Run ~`total` generated requests spread over all operations; returns counts and failures."""
    import hypothesis
    from hypothesis import HealthCheck, given
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.core.failures import AcceptedNegativeData, FailureGroup
    from schemathesis.openapi.checks import RejectedPositiveData

    LIMIT_FAILURES = (AcceptedNegativeData, RejectedPositiveData)

    ops = [r.ok() for r in schema.get_all_operations()]
    per_op = max(1, total // (2 * len(ops)))
    statuses: Counter[str] = Counter()
    failures: list[dict[str, str]] = []
    skipped: list[str] = []

    def check(label: str, mode: GenerationMode, case: Any, key: str | None) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = case.call(headers=headers, **call_kwargs)
        statuses[f"{response.status_code // 100}xx"] += 1
        statuses[str(response.status_code)] += 1
        try:
            case.validate_response(response, headers=headers)
        except (AssertionError, FailureGroup) as exc:  # the checks that failed, with a curl to replay
            found = list(getattr(exc, "exceptions", [exc]))
            if response.status_code == 413 and all(isinstance(f, LIMIT_FAILURES) for f in found):
                # a documented 413 from a deployment limit (TRIAGE_MAX_BATCH / _MAX_REQUEST_BYTES) that
                # the schema cannot state; schemathesis counts it neither as rejection nor acceptance
                statuses["413_limit"] += 1
                return
            failures.append({"operation": label, "mode": mode.value, "status": str(response.status_code),
                             "failure": str(exc)[:3000]})

    for op in ops:
        label = f"{op.method.upper()} {op.path}"
        allowed = frozenset(op.definition.raw.get("x-roles") or ())  # declared with the route (api/_auth.py)
        good = [k for role, k in keys.items() if set(role.split("+")) & allowed] or list(keys.values())
        bad = [k for role, k in keys.items() if not set(role.split("+")) & allowed]
        creds = st.sampled_from([*good * 3, *bad, "trg_unknown", None])
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run = hypothesis.settings(max_examples=per_op, deadline=None, database=None, derandomize=seed == 0,
                                      suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.generate])(
                given(case=op.as_strategy(generation_mode=mode), key=creds)(_bound(check, label, mode)))
            try:
                run()
            except hypothesis.errors.Unsatisfiable:  # no way to violate a schema without parameters
                skipped.append(f"{label} [{mode.value}]")
            except hypothesis.errors.InvalidArgument as exc:
                # a negative draw past a 100k maxLength is beyond what Hypothesis can generate; the cases
                # drawn before it were sent and checked, the rest of this operation's run is lost
                skipped.append(f"{label} [{mode.value}, stopped: {str(exc)[:80]}]")
    return {"operations": [f"{op.method.upper()} {op.path}" for op in ops], "requests": statuses["2xx"] +
            statuses["4xx"] + statuses["5xx"], "statuses": dict(sorted(statuses.items())),
            "server_errors": statuses["5xx"], "failures": failures, "no_negative_cases": skipped}


def _bound(check: Any, label: str, mode: Any) -> Any:
    def one(case: Any, key: str | None) -> None:
        check(label, mode, case, key)
    return one


def main() -> None:
    import schemathesis

    from api.testing import KEYS, keys_env, serve

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="Bundle to serve.")
    parser.add_argument("--kb", type=Path, help="KB index, so /v1/kb/search answers 200 too.")
    parser.add_argument("--requests", type=int, default=1200)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "fuzz.json")
    args = parser.parse_args()
    env = {"TRIAGE_DEV_MODE": "0", "TRIAGE_API_KEYS": keys_env(), "TRIAGE_RATE_LIMIT_PER_MIN": "0",
           "TRIAGE_MODEL_ROOT": str(args.model.resolve().parent), "TRIAGE_LOG_LEVEL": "WARNING"}
    if args.kb:
        env["TRIAGE_KB_DIR"] = str(args.kb.resolve())
    keys = {("helpdesk+agent+analyst+l3" if r == "all" else r): k for r, k in KEYS.items()}
    started = time.monotonic()
    with serve(args.model, env) as (url, _):
        schema = schemathesis.openapi.from_url(url + "/openapi.json")
        report = fuzz(schema, keys, args.requests)
    report.update({"seconds": round(time.monotonic() - started, 1), "model": str(args.model),
                   "schemathesis": schemathesis.__version__ if hasattr(schemathesis, "__version__") else "4",
                   "cpu_note": f"{os.cpu_count()} cores shared with other jobs"})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "failures"}, indent=2))
    for f in report["failures"][:10]:
        print(f"FAIL {f['operation']} [{f['mode']}] {f['status']}: {f['failure'][:300]}")
    sys.exit(1 if report["failures"] or report["server_errors"] else 0)


if __name__ == "__main__":
    main()
