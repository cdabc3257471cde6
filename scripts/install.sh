#!/usr/bin/env bash
# Install triage into ./.venv from the pinned lock: CPU torch first (any other torch spec pulls a
# multi-GB CUDA build), then everything else exactly as tested. Safe to re-run: it skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.triage-installed
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
.venv/bin/pip install --quiet --disable-pip-version-check --upgrade pip
# TORCH_INDEX_URL: set it to your PyTorch CPU wheel index if plain `torch==2.13.0` would fetch a CUDA build.
.venv/bin/pip install --quiet --disable-pip-version-check ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} torch==2.13.0
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.lock
.venv/bin/pip install --quiet --disable-pip-version-check --no-deps -e .
echo "$want" > "$stamp"
