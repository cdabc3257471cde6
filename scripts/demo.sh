#!/usr/bin/env bash
# One command from a fresh clone to a running service: install, convert the multilingual model
# (once, into ~/.cache/triage), train on the bundled demo helpdesk history, build the knowledge-base
# index (demo articles + past developer answers), serve on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
# Label tuning (on by default for real histories) would add minutes on the synthetic demo data and
# ~470 MB to the bundle; set TRIAGE_LABEL_TUNING=auto to see it here.
export TRIAGE_LABEL_TUNING=${TRIAGE_LABEL_TUNING:-off}
.venv/bin/triage train --data data/demo/tickets.csv --target category --target priority --owners data/demo/owners.yaml --out models/demo
.venv/bin/triage kb build --source data/demo/kb --answers data/demo/tickets.csv --model models/demo --out models/kb
# Development mode: no API keys, every route open; safe only because it binds 127.0.0.1 (SECURITY.md).
export TRIAGE_DEV_MODE=${TRIAGE_DEV_MODE:-1}
exec .venv/bin/triage serve --model models/demo --kb models/kb --host 127.0.0.1 --port "${PORT:-8000}"
