"""Model references (contract §3): a bundle directory, `models:/<name>/<version>` or `models:/<name>@<alias>`.

Every command that loads a model (`serve`, `predict`, `evaluate`, `compare`, `bot`) goes through
`resolve_model`, via `open_triage`, so they all read a reference the same way. A registry version is
downloaded once into the cache (`<TRIAGE_CACHE_DIR>/registry/<store>/<name>/<version>`), staged and
renamed into place so a killed download never looks finished, and verified against its manifest (every
head file's SHA-256, the bundle version the registry recorded) each time it is used.

The MLflow store itself does not depend on the working directory: `TRIAGE_MLFLOW_TRACKING_URI`, then
`MLFLOW_TRACKING_URI`, else a SQLite file under `TRIAGE_HOME` (default `~/.local/share/triage`). Before
this, `./mlflow` meant a run from another folder registered its own "triage v1".
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage._bundle import file_sha256, read_manifest
from triage.errors import BundleError
from triage.settings import Settings, _default_home

PREFIX = "models:/"
CHAMPION, CHALLENGER = "champion", "challenger"
_REF = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[A-Za-z0-9_-]+))$")


@dataclass(frozen=True)
class ModelRef:
    """A parsed reference; `name` is None for a bundle directory."""

    text: str
    name: str | None = None
    version: str | None = None
    alias: str | None = None

    @property
    def is_registry(self) -> bool:
        return self.name is not None


@dataclass(frozen=True)
class ResolvedModel:
    """Where a reference points now: the local bundle and, for a registry one, which version it is."""

    path: Path
    ref: str
    registered_model: str | None = None
    version: str | None = None
    alias: str | None = None
    run_id: str | None = None

    def describe(self) -> dict[str, Any]:
        """What `GET /v1/model` shows under `registry` (no store URI: it may carry credentials)."""
        return {"ref": self.ref if self.ref.startswith(PREFIX) else None, "name": self.registered_model,
                "version": self.version, "alias": self.alias, "run_id": self.run_id}


def parse_ref(ref: str | Path) -> ModelRef:
    text = str(ref)
    if not text.startswith(PREFIX):
        return ModelRef(text)
    match = _REF.match(text)
    if match is None:
        raise BundleError(f"{text!r} is not a model reference: use a bundle directory, models:/<name>/<version> "
                          "(e.g. models:/triage/3) or models:/<name>@<alias> (e.g. models:/triage@champion)")
    return ModelRef(text, match["name"], match["version"], match["alias"])


def default_home() -> Path:
    return _default_home()


def tracking_uri(settings: Settings | None = None) -> str:
    """TRIAGE_MLFLOW_TRACKING_URI, then MLFLOW_TRACKING_URI, else `<TRIAGE_HOME>/mlflow/mlflow.db` (SQLite)."""
    settings = settings or Settings()
    if settings.mlflow_tracking_uri:
        return settings.mlflow_tracking_uri
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    folder = Path(settings.home).expanduser().resolve() / "mlflow"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def client(settings: Settings) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri(settings))


def resolve_model(ref: str | Path, settings: Settings) -> ResolvedModel:
    """The local bundle a reference names now (an alias is looked up on every call: promotions move it)."""
    parsed = parse_ref(ref)
    if not parsed.is_registry:
        path = Path(parsed.text).expanduser()
        info = _manifest_registry(path)
        return ResolvedModel(path, str(path), info.get("registered_model"), info.get("model_version"),
                             run_id=info.get("run_id"))
    version = _version(parsed, settings)
    path = _download(version, settings)
    return ResolvedModel(path, parsed.text, str(version.name), str(version.version), parsed.alias, version.run_id)


def _manifest_registry(path: Path) -> dict[str, Any]:
    try:
        return dict(read_manifest(path).get("mlflow") or {})
    except BundleError:
        return {}  # open_triage reports a missing or damaged bundle with its own message


def _version(ref: ModelRef, settings: Settings) -> Any:
    from mlflow.exceptions import MlflowException

    mlflow_client = client(settings)
    try:
        if ref.alias is not None:
            return mlflow_client.get_model_version_by_alias(ref.name, ref.alias)
        return mlflow_client.get_model_version(ref.name, ref.version)
    except MlflowException as exc:
        known = _known_versions(mlflow_client, str(ref.name))
        hint = (f"{ref.name} has versions {known}" if known else f"no model named {ref.name} is registered")
        what = f"alias '{ref.alias}'" if ref.alias else f"version {ref.version}"
        fix = f" promote one with `triage promote models:/{ref.name}/<version>`" if ref.alias == CHAMPION else ""
        raise BundleError(f"{ref.text}: no {what} in the MLflow store {_shown(tracking_uri(settings))} ({hint});"
                          f"{fix or ' train one with `triage train`'}") from exc


def _known_versions(mlflow_client: Any, name: str) -> list[str]:
    try:
        found = mlflow_client.search_model_versions(f"name = '{name}'")
    except Exception:  # the store itself is unreachable: the caller's message says which store
        return []
    return sorted((str(v.version) for v in found), key=int)


def _shown(uri: str) -> str:
    """A store URI without credentials, for messages."""
    return re.sub(r"//[^/@]*@", "//***@", uri)


def _download(version: Any, settings: Settings) -> Path:
    """The version's bundle in the cache: reused when it verifies, else downloaded (staged, then renamed)."""
    import mlflow.artifacts

    uri = tracking_uri(settings)
    store = hashlib.sha256(uri.encode()).hexdigest()[:12]
    target = Path(settings.cache_dir) / "registry" / store / _safe(str(version.name)) / str(version.version)
    expected = (version.tags or {}).get("model_version")
    if target.is_dir():
        try:
            verify_bundle(target, expected)
            return target
        except BundleError:
            shutil.rmtree(target, ignore_errors=True)  # a damaged copy: fetch it again
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f"{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        source = mlflow_download_uri(version, settings)
        got = Path(mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=str(staging), tracking_uri=uri))
        verify_bundle(got, expected)
        if target.exists():  # another process finished the same download first
            return target
        got.rename(target)
    except BundleError:
        raise
    except Exception as exc:  # the artifact store: missing files, no network, permissions
        raise BundleError(f"models:/{version.name}/{version.version}: its bundle could not be downloaded "
                          f"({type(exc).__name__}: {exc})") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def mlflow_download_uri(version: Any, settings: Settings) -> str:
    return str(client(settings).get_model_version_download_uri(version.name, version.version))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def verify_bundle(path: Path, expected_version: str | None = None) -> dict[str, Any]:
    """The manifest, once every head file matches its hash and the bundle is the version the registry names."""
    manifest = read_manifest(path)
    if expected_version and manifest.get("model_version") != expected_version:
        raise BundleError(f"{path} holds bundle {manifest.get('model_version')}, the registry says "
                          f"{expected_version}")
    for name, info in manifest.get("heads", {}).items():
        head = path / info["file"]
        if not head.is_file() or file_sha256(head) != info["sha256"]:
            raise BundleError(f"{path}: head {name} does not match its manifest hash")
    return manifest


def registry_version(ref: str | Path, settings: Settings) -> tuple[str, str]:
    """(registered model, version) of a reference; a bundle directory must have been registered by `train`."""
    parsed = parse_ref(ref)
    if parsed.is_registry:
        version = _version(parsed, settings)
        return str(version.name), str(version.version)
    manifest = read_manifest(Path(parsed.text))
    info = manifest.get("mlflow") or {}
    if not info.get("model_version"):
        raise BundleError(f"{parsed.text} was not registered in MLflow (trained with --no-mlflow); retrain it "
                          "without --no-mlflow, or name a registered version: models:/triage/<version>")
    name, number = str(info["registered_model"]), str(info["model_version"])
    registered = _version(ModelRef(f"{PREFIX}{name}/{number}", name, number), settings)
    if (registered.tags or {}).get("model_version") != manifest.get("model_version"):
        raise BundleError(f"{parsed.text} is bundle {manifest.get('model_version')}, but {name} version {number} "
                          f"in {_shown(tracking_uri(settings))} is another bundle: this store did not register it")
    return name, number


def set_alias(ref: str | Path, settings: Settings, alias: str = CHAMPION) -> dict[str, str | None]:
    """Point `alias` at the reference's version; returns the version it pointed at before (or None)."""
    from mlflow.exceptions import MlflowException

    name, version = registry_version(ref, settings)
    mlflow_client = client(settings)
    try:
        previous: str | None = str(mlflow_client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        previous = None
    mlflow_client.set_registered_model_alias(name, alias, version)
    return {"name": name, "version": version, "alias": alias, "previous": previous}


def live_history_path(resolved: ResolvedModel, settings: Settings) -> Path | None:
    """Where a served registry model keeps its live history: one file per registered model, so a promotion
    keeps the tickets served so far (a bundle directory keeps its own beside it, `<dir>.history.sqlite`)."""
    if settings.history_db is not None or not resolved.ref.startswith(PREFIX):
        return settings.history_db
    return Path(settings.home).expanduser().resolve() / "history" / f"{_safe(str(resolved.registered_model))}.sqlite"
