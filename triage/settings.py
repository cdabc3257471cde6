"""Runtime settings, read from `TRIAGE_*` environment variables.

Settings are validated when a command or the service starts (`Settings()`),
never at import time, so a bad value fails loudly at start-up with its name.
"""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache() -> Path:
    return Path.home() / ".cache" / "triage"


def _default_home() -> Path:
    """$XDG_DATA_HOME/triage or ~/.local/share/triage: the same wherever a command runs from."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "triage"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIAGE_", env_file=".env", extra="ignore")

    cache_dir: Path = Field(default_factory=_default_cache,
                            description="Converted models and the embedding cache live here.")
    embedder: str = Field("e5-small", description="'e5-small', 'use-v3', or a sentence-transformers "
                          "folder / hub name (prefix 'st:' to force).")
    max_tokens: int = Field(256, ge=16, le=512, description="Embedder window; longer texts are cut.")
    batch_size: int = Field(32, ge=1, le=1024)
    home: Path = Field(default_factory=_default_home, description="Where triage keeps what outlives a command: "
                       "the default MLflow store (<home>/mlflow/mlflow.db) and the live history of a registry "
                       "model; default $XDG_DATA_HOME/triage or ~/.local/share/triage, whatever the folder.")
    model_dir: Path | None = Field(None, description="Bundle the API serves.")
    model_ref: str | None = Field(None, description="Model reference the API serves instead of TRIAGE_MODEL_DIR: "
                                  "models:/triage@champion, models:/triage/<version> or a bundle directory; an "
                                  "alias is looked up again on every reload (POST /v1/admin/reload, SIGHUP).")
    max_request_bytes: int = Field(2_000_000, ge=1024, description="Larger request bodies get 413.")
    max_batch: int = Field(256, ge=1, description="Most tickets in one batch request.")
    # Micro-batching (api/_batcher.py): concurrent requests share one model call.
    microbatch_max_tickets: int = Field(64, ge=1, le=1024, description="Most tickets gathered into one model "
                                        "call from concurrent requests (a larger batch request runs alone).")
    microbatch_wait_ms: float = Field(4.0, ge=0, le=1000, description="How long an idle model waits for more "
                                      "requests to join the first one; 0 = never wait (lowest latency alone).")
    request_deadline_ms: int = Field(10_000, ge=1, le=600_000, description="A request not started by the model "
                                     "within this long is answered 503 and not processed (the X-Triage-"
                                     "Deadline-Ms header may ask for less).")
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
    predictions_db: Path | None = Field(None, description="SQLite store of served predictions awaiting review "
                                        "(the review queue); default predictions.sqlite beside TRIAGE_FEEDBACK_DB.")
    history_db: Path | None = Field(None, description="Live ticket history (SQLite) the service appends to; "
                                    "default <model_dir>.history.sqlite beside the bundle.")
    database_url: str | None = Field(None, description="Where the ticket history, reviews, incidents, the review "
                                     "queue and integration deliveries live (contract §8): sqlite:///PATH or "
                                     "postgresql://USER[:PASSWORD]@HOST:PORT/DB, shared by several replicas; "
                                     "overrides the *_DB files. Unset: each store in its own SQLite file.")
    catch_up_seconds: float = Field(0.5, gt=0, le=60, description="With TRIAGE_DATABASE_URL, how often the service "
                                    "takes in tickets other replicas stored (so they are found within ~1 s).")
    similar_top_k: int = Field(5, ge=0, le=50, description="Earlier similar tickets per result.")
    spike_window_minutes: float = Field(60, gt=0, le=7 * 24 * 60, description="Sliding window of spike counts.")
    spike_alpha: float = Field(1e-3, gt=0, lt=1, description="Poisson tail probability below which it is a spike.")
    alert_webhook_url: str | None = Field(None, description="POST incident alerts (JSON) here.")
    telegram_bot_token: str | None = Field(None, description="Bot token for Telegram alerts (with chat id).")
    telegram_chat_id: str | None = Field(None, description="Chat id(s), comma-separated: alerts go to the first, "
                                         "`triage bot` serves them all.")
    telegram_thread_id: int | None = Field(None, description="Forum topic id in the chat, if any.")
    telegram_api_url: str = Field("https://api.telegram.org",
                                  description="Bot API base URL (a local stand-in in tests).")
    alert_timezone: str = Field("UTC", description="Time zone of 'с HH:MM' in alerts, e.g. Europe/Moscow.")
    ticket_url: str = Field("{id}", description="Ticket link template in alerts, e.g. https://desk/t/{id}.")
    mlflow_tracking_uri: str | None = Field(
        None, description="Overrides MLFLOW_TRACKING_URI; default: a SQLite store <TRIAGE_HOME>/mlflow/mlflow.db.")
    mlflow_experiment: str = "triage"
    registered_model: str = "triage"
    drift_window: int = Field(500, ge=10, le=100_000, description="Served predictions per head in the rolling "
                              "window compared with the training distribution.")
    drift_min_predictions: int = Field(200, ge=10, description="Fewest predictions in the window before drift is "
                                       "judged (too few make the PSI noise).")
    drift_psi_threshold: float = Field(0.25, gt=0, description="Population stability index past which a head's "
                                       "predictions have drifted: a warning in the log and an alert.")
    # Security and limits (SECURITY.md).
    dev_mode: bool = Field(False, description="Development only: no keys needed, every route open (loud warning).")
    api_keys_file: Path | None = Field(None, description="YAML/JSON of hashed API keys (`triage keys add`).")
    api_keys: str | None = Field(None, description="Inline keys: 'name:role[+role]:sha256hex' separated by ','.")
    webhook_secret: str | None = Field(None, description="HMAC secret for X-Hub-Signature callers (Zammad).")
    webhook_role: str = Field("helpdesk", description="Role granted to a caller with a valid HMAC signature.")
    rate_limit_per_min: int = Field(600, ge=0, description="Requests per minute per key (token bucket); 0 = off.")
    model_root: Path | None = Field(None, description="Reload may only load bundles under this folder "
                                    "(default: the folder holding TRIAGE_MODEL_DIR).")
    session_secret: str | None = Field(None, min_length=32, description="Signs web-console session cookies; "
                                       "default: random per process (sessions end on restart).")
    session_hours: float = Field(12, gt=0, le=24 * 30, description="A console session lasts this long.")
    log_format: str = Field("json", pattern="^(json|text)$", description="Service logs: json lines or text.")
    log_level: str | None = Field(None, pattern="(?i)^(debug|info|warning|error|critical)$",
                                  description="Log level (default: INFO for the service, WARNING for the CLI).")
    # Helpdesk integrations (contract §6; README "Helpdesk integrations").
    integrations_config: Path | None = Field(None, description="YAML mapping per helpdesk (payload paths, fields "
                                             "learned and written, value maps); defaults fit each default payload.")
    deliveries_db: Path = Field(Path("deliveries.sqlite"), description="Durable store of webhook deliveries.")
    delivery_retries: int = Field(8, ge=0, le=100, description="Tries of a write-back before it is a dead letter.")
    delivery_backoff_seconds: float = Field(2.0, ge=0, le=3600, description="First retry delay; doubles per try.")
    helpdesk_timeout_seconds: float = Field(10.0, gt=0, le=300)
    integrations_write_fields: bool = Field(False, description="Fill the mapping's `write` fields when empty.")
    zammad_url: str | None = Field(None, description="Zammad base URL, e.g. https://desk.example.com.")
    zammad_token: str | None = Field(None, description="Zammad access token (ticket.agent).")
    jira_url: str | None = Field(None, description="Jira base URL, e.g. https://example.atlassian.net.")
    jira_user: str | None = Field(None, description="Jira user (e-mail) for an API token; unset: token is a PAT.")
    jira_token: str | None = None
    jira_comment_role: str | None = Field(None, description="Restrict the platform comment to this project role.")
    jira_webhook_secret: str | None = Field(None, description="The Jira webhook's secret (X-Hub-Signature sha256).")
    znuny_url: str | None = Field(None, description="GenericTicketConnectorREST URL, e.g. https://desk/otrs/"
                                  "nph-genericinterface.pl/Webservice/GenericTicketConnectorREST.")
    znuny_user: str | None = None
    znuny_password: str | None = None
    znuny_ticket_url: str = Field("{id}", description="Ticket link template for Znuny notes.")
    helpdesk_self: str = Field("", description="Helpdesk logins of the service itself (comma-separated); their "
                               "changes are never learned from.")
    acknowledge: bool = Field(False, description="Reply to the customer at once (templates: TRIAGE_ACK_TEMPLATES).")
    ack_templates: Path | None = Field(None, description="YAML of acknowledgement templates per language.")
    kb_draft: bool = Field(False, description="Offer a confident KB answer as an internal draft for the agent.")
    kb_draft_min_score: float = Field(0.9, ge=0, le=1)
    telegram_offset_file: Path | None = Field(None, description="Where `triage bot` keeps its update offset.")
    telegram_language: str = Field("ru", pattern="^(ru|en)$", description="The bot's language where a message "
                                   "does not show one.")
    onnx: bool = Field(True, description="Run the default model with ONNX Runtime (~2x faster); 0 = PyTorch.")
    # Tuning the embedder for the label heads at `triage train` (training/label_tuning.py; BENCHMARKS.md).
    label_tuning: str = Field("auto", pattern="^(auto|on|off)$", description="SetFit-style tuning of an embedder "
                              "for the label heads: auto = when the data has enough labelled tickets per class, and "
                              "each head keeps it only if it measures better on tickets the tuning never saw.")
    label_tuning_budget: float = Field(600, gt=0, le=24 * 3600, description="Seconds the tuning may run "
                                       "(it stops at the first batch past it and keeps what it learned).")
    label_tuning_share: float = Field(0.5, ge=0.2, le=0.8, description="Share of the labelled training tickets "
                                      "the tuning sees; the rest judge and calibrate the heads.")
    label_tuning_tokens: int = Field(128, ge=16, le=512, description="Window while tuning (serving keeps "
                                     "TRIAGE_MAX_TOKENS).")
    label_tuning_pairs: int = Field(4, ge=2, le=64, description="Contrastive pairs drawn per tuning ticket.")

    # Tuning the embedder for KB retrieval at `triage train --kb-source` (training/kb_tuning.py; BENCHMARKS.md).
    kb_tuning: str = Field("auto", pattern="^(auto|on|off)$", description="Contrastive tuning of an embedder "
                           "for KB retrieval on the tickets naming their `kb_article`: auto = with 40+ such tickets, "
                           "shipped only if it ranks held-out linked tickets' articles better; on = always shipped.")
    kb_tuning_budget: float = Field(600, gt=0, le=24 * 3600, description="Seconds the KB tuning may run, judging "
                                    "and final tuning together (it stops at the first batch past it).")
    kb_tuning_tokens: int = Field(128, ge=16, le=512, description="Window while tuning for the KB (9 in 10 RUTUBE "
                                  "articles fit in 128 tokens; 256 costs about twice the time).")
    kb_tuning_batch: int = Field(16, ge=2, le=128, description="(ticket, article, hard negative) triples per "
                                 "batch of the KB tuning; the batch's other articles are its negatives too.")
    kb_tuning_epochs: int = Field(3, ge=1, le=10, description="Most passes over the links while tuning for the "
                                  "KB; the held-out links pick how many of them (an epoch that does not improve "
                                  "them ends the tuning).")

    int8: bool = Field(False, description="Run the default model's ONNX graph with int8 weights (dynamic, "
                       "per-channel quantisation, made once beside the fp32 graph): faster, slightly different "
                       "vectors; BENCHMARKS.md says by how much.")

    @property
    def onnx_graph(self) -> bool | str:
        """What `load_embedder(onnx=...)` takes: False (PyTorch), True (fp32 ONNX) or "int8"."""
        return ("int8" if self.int8 else True) if self.onnx else False

    @property
    def predictions_path(self) -> Path:
        return self.predictions_db or self.feedback_db.with_name("predictions.sqlite")

    # Where each store lives: the shared database when TRIAGE_DATABASE_URL is set, else its own file.
    @property
    def history_target(self) -> str | Path | None:
        return self.database_url or self.history_db

    @property
    def feedback_target(self) -> str | Path:
        return self.database_url or self.feedback_db

    @property
    def predictions_target(self) -> str | Path:
        return self.database_url or self.predictions_path

    @property
    def deliveries_target(self) -> str | Path:
        return self.database_url or self.deliveries_db

    def stored(self, own_file: Path) -> bool:
        """Whether a store may already hold something: its own file exists, or the shared database is set."""
        return self.database_url is not None or own_file.is_file()

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from triage._db import check_url  # SQLAlchemy only when a URL is set

        return check_url(value.strip())

    @field_validator("alert_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Moscow") from exc
        return value

    @field_validator("ticket_url")
    @classmethod
    def _link_template(cls, value: str) -> str:
        try:
            value.format(id="T-1")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"{value!r} is not a link template: use {{id}} for the ticket id, nothing else in braces"
                             ) from exc
        return value
