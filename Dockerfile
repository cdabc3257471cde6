# CPU-only image serving the triage API. Build: docker build -t triage .
# PyPI's default torch wheel for Linux is a multi-GB CUDA build; pass PyTorch's CPU wheel index as
# --build-arg TORCH_INDEX_URL=... to keep the image small.
FROM python:3.11-slim

ARG TORCH_INDEX_URL=
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_NUM_THREADS=2 TRIAGE_CACHE_DIR=/app/.cache HOME=/app

RUN useradd --create-home --home-dir /app --uid 10001 triage
WORKDIR /app

COPY requirements.lock pyproject.toml README.md ./
RUN pip install ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} torch==2.13.0 \
 && pip install -r requirements.lock

COPY triage ./triage
COPY training ./training
COPY kb_index ./kb_index
COPY api ./api
COPY data/demo ./data/demo
RUN pip install --no-deps . && mkdir -p models mlflow && chown -R triage:triage /app

USER triage
# Convert the bundled multilingual model once, at build time, then train the demo bundle.
RUN triage train --data data/demo/tickets.csv --target category --target priority --owners data/demo/owners.yaml --out models/demo --no-mlflow \
 && triage kb build --source data/demo/kb --answers data/demo/tickets.csv --model models/demo --out models/kb

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
ENTRYPOINT ["triage", "serve", "--host", "0.0.0.0", "--port", "8000"]
CMD ["--model", "/app/models/demo", "--kb", "/app/models/kb"]
