"""Hot reload: load and validate a new bundle beside the one serving, then swap one reference.

Requests take `state.triage` once (api/deps.py), so an in-flight request finishes on the model it
started with and the next one gets the new model: nothing fails during the swap. A bad bundle
never replaces a good one; the caller gets the reason and the old model keeps serving.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from triage import Triage, open_triage
from triage._bundle import check_versions, read_manifest
from triage._registry import ResolvedModel, parse_ref, resolve_model
from triage.errors import TriageError

log = logging.getLogger("triage.api.reload")


class ReloadError(TriageError):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


class Reloader:
    def __init__(self, state: Any, model_dir: Path | None, ref: str | None = None) -> None:
        self.state = state
        self.model_dir = model_dir.resolve() if model_dir is not None else None
        self.ref = ref if ref is not None and parse_ref(ref).is_registry else None  # re-resolved on each reload
        if ref is not None and self.ref is None:
            self.model_dir = Path(ref).resolve()
        self._busy = threading.Lock()
        self.on_swap: Any = None  # called with the new model after a swap (the drift window restarts)

    def open_first(self) -> Triage:
        """The model the service starts with: the registry reference resolved now, or the bundle directory."""
        if self.ref is not None:
            resolved = resolve_model(self.ref, self.state.settings)
            self.model_dir = resolved.path
            return open_triage(resolved, self.state.settings)
        assert self.model_dir is not None
        return open_triage(self.model_dir, self.state.settings)

    def allowed_root(self) -> Path | None:
        settings = self.state.settings
        if settings.model_root is not None:
            return Path(settings.model_root).resolve()
        return self.model_dir.parent if self.model_dir is not None else None

    def reload(self, model_dir: str | Path | None = None) -> dict[str, Any]:
        """Returns the old and new versions; raises ReloadError (409 busy/bad bundle, 403 outside root, 404 missing)."""
        if not self._busy.acquire(blocking=False):
            raise ReloadError(409, "a reload is already running; wait for it and retry")
        try:
            target = self._target(model_dir)
            old = self.state.triage
            try:
                new = self._load(target, old)
            except Exception as exc:  # an unpickled head can fail in any way: none of it may reach the old model
                self._count("rejected")
                log.warning("reload of %s rejected: %s", target, exc)
                kept = old.model_version if old is not None else "none"
                raise ReloadError(409, f"{target} was not loaded ({exc}); still serving {kept}") from exc
            self.state.triage = new  # the swap: one reference assignment
            self.model_dir = target.path if isinstance(target, ResolvedModel) else target
            self._retire(old, new)
            self._count("ok")
            metrics = getattr(self.state, "metrics", None)
            if metrics is not None:
                metrics.set_model(new.model_version)
            if self.on_swap is not None:
                self.on_swap(new)
            log.info("reloaded model", extra={"model_version": new.model_version,
                                              "previous": getattr(old, "model_version", None)})
            return {"model_version": new.model_version, "previous": getattr(old, "model_version", None),
                    "model_dir": str(target.path if isinstance(target, ResolvedModel) else target),
                    "registry": new.registry}
        finally:
            self._busy.release()

    def _target(self, model_dir: str | Path | None) -> Path | ResolvedModel:
        ref = str(model_dir) if model_dir is not None and parse_ref(str(model_dir)).is_registry else None
        if ref is not None or (model_dir is None and self.ref is not None):
            try:  # the registry is the service's own configured store: its bundles are trusted like TRIAGE_MODEL_ROOT
                return resolve_model(ref or str(self.ref), self.state.settings)
            except TriageError as exc:
                raise ReloadError(409, f"{ref or self.ref} could not be resolved ({exc}); still serving "
                                       f"{getattr(self.state.triage, 'model_version', 'none')}") from exc
        if model_dir is None and self.model_dir is None:
            raise ReloadError(409, "no bundle to reload: send {\"model_dir\": \"...\"}")
        target = Path(model_dir).resolve() if model_dir is not None else self.model_dir
        assert target is not None
        root = self.allowed_root()
        if root is None or not target.is_relative_to(root):
            raise ReloadError(403, f"{target} is outside the model folder {root}; bundles may be loaded only from "
                                   "there (TRIAGE_MODEL_ROOT), because loading one runs its pickled code")
        if not target.is_dir():
            raise ReloadError(404, f"{target} does not exist; train one with `triage train --out {target}`")
        return target

    def _load(self, target: Path | ResolvedModel, old: Triage | None) -> Triage:
        manifest = read_manifest(target.path if isinstance(target, ResolvedModel) else target)
        check_versions(manifest)
        spec = manifest["embedder"]
        reuse = (old is not None and spec["spec"] != "bundle" and spec["id"] == old.embedder.model_id
                 and int(spec["max_tokens"]) == old.embedder.max_tokens)
        embedder = old.embedder if reuse and old is not None else None
        # the live history follows the new bundle (its seed is taken in once; TRIAGE_HISTORY_DB keeps one file);
        # the warm-up holds the model lock: tokenizers are not safe to share between threads mid-call
        return open_triage(target, self.state.settings, embedder=embedder,
                           kb=old.kb if old is not None else None, lock=self.state.lock)

    def _retire(self, old: Triage | None, new: Triage) -> None:
        """Close the old model's history; a request that still holds the old model then just skips it.

        The old model kept appending while the new one loaded: once it is detached, the new history
        takes in those tickets, so none is missing from similar-ticket search.
        """
        if old is None or old.recurring is None:
            return
        with self.state.lock:
            recurring, old.recurring = old.recurring, None
            caught = new.recurring.catch_up() if new.recurring is not None else 0
        recurring.close()
        if caught:
            log.info("history caught up with the tickets the previous model stored", extra={"tickets": caught})

    def _count(self, result: str) -> None:
        metrics = getattr(self.state, "metrics", None)
        if metrics is not None:
            metrics.reloads.labels(result=result).inc()
