"""The service harness for tests (it lives in `api.testing`, shared with bench/)."""

from api.testing import REPO, call, free_port, serve

__all__ = ["REPO", "call", "free_port", "serve"]
