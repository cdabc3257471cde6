"""Structured logs: one JSON object per line, personal data masked, for the service and the CLI."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from triage._privacy import PrivacyFilter, mask

# LogRecord attributes that are not user-supplied `extra=` fields (uvicorn adds an ANSI-coloured copy of its message).
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName",
                                                                           "color_message"}


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg", **extra}`; extras are how request fields (route, status...) travel."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage()}
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            out["error"] = mask(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


def log_config(fmt: str = "json", level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` (also uvicorn's `log_config`): every logger masked, JSON or text lines."""
    formatter = {"()": JsonFormatter} if fmt == "json" else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    handler = {"class": "logging.StreamHandler", "formatter": "main", "filters": ["privacy"],
               "stream": "ext://sys.stderr"}
    return {"version": 1, "disable_existing_loggers": False,
            "filters": {"privacy": {"()": PrivacyFilter}},
            "formatters": {"main": formatter}, "handlers": {"main": handler},
            "root": {"handlers": ["main"], "level": level},
            "loggers": {"uvicorn": {"handlers": [], "propagate": True, "level": level},
                        "uvicorn.error": {"handlers": [], "propagate": True, "level": level},
                        # our own access line (api/_metrics.py) replaces uvicorn's, which logs full URLs
                        "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"}}}
