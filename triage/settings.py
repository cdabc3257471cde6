"""Runtime settings, read from `TRIAGE_*` environment variables.

Settings are validated when a command or the service starts (`Settings()`),
never at import time, so a bad value fails loudly at start-up with its name.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache() -> Path:
    return Path.home() / ".cache" / "triage"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIAGE_", env_file=".env", extra="ignore")

    cache_dir: Path = Field(default_factory=_default_cache,
                            description="Converted models and the embedding cache live here.")
    embedder: str = Field("e5-small", description="'e5-small', 'use-v3', or a sentence-transformers "
                          "folder / hub name (prefix 'st:' to force).")
    max_tokens: int = Field(256, ge=16, le=512, description="Embedder window; longer texts are cut.")
    batch_size: int = Field(32, ge=1, le=1024)
    model_dir: Path | None = Field(None, description="Bundle the API serves.")
    max_request_bytes: int = Field(2_000_000, ge=1024, description="Larger request bodies get 413.")
    max_batch: int = Field(256, ge=1, description="Most tickets in one batch request.")
    kb_dir: Path | None = Field(None, description="KB index the API searches (built by `triage kb build`).")
    kb_top_k: int = Field(3, ge=0, le=50, description="Suggestions per ticket in /v1/classify.")
    qdrant_url: str | None = Field(None, description="A Qdrant server (e.g. http://qdrant:6333): selects the "
                                   "Qdrant backend for `triage kb build`; searches use it for Qdrant indexes.")
    qdrant_api_key: str | None = None
    qdrant_collection: str = Field("triage-kb", description="Collection name prefix on the Qdrant server.")
    completeness_threshold: float | None = Field(
        None, ge=0, le=1, description="Completeness score at which a ticket is ready_for_l3; default: the "
        "bundle's (learned from tickets L3 bounced, else 0.7).")
    owners_file: Path | None = Field(None, description="Owners YAML (module -> owners, on_duty) overriding the "
                                     "one stored in the bundle at training; edit the rota without retraining.")
    feedback_db: Path = Field(Path("feedback.sqlite"), description="SQLite store of reviewer feedback "
                              "(POST /v1/feedback); `triage train --feedback` reads it.")
    mlflow_tracking_uri: str | None = Field(
        None, description="Overrides MLFLOW_TRACKING_URI; default is a SQLite store under ./mlflow.")
    mlflow_experiment: str = "triage"
    registered_model: str = "triage"
