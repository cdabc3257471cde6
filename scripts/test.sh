#!/usr/bin/env bash
# Install (as scripts/install.sh) and run the whole test suite, lint and type checks included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/ruff check .
.venv/bin/mypy triage training api kb_index
exec .venv/bin/pytest -q "$@"
