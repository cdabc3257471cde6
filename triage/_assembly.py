"""The one place a serving `Triage` is put together: bundle, settings, KB index, history, warm-up.

The service at start-up, its hot reload, `triage predict` / `evaluate` and the reports all call
`open_triage`, so what they serve cannot drift apart (the report path once dropped the owners file,
and warm-up worked only because it ran before the history was attached).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, Literal

from kb_index import KBIndex
from triage._bundle import check_embedder, check_versions, load_heads, read_manifest
from triage._embedding import E5_PREFIXES, Embedder, SentenceTransformerEmbedder, load_embedder
from triage._kb import open_kb
from triage._onnx import ONNX_FILE, OnnxEmbedder
from triage._ranker_cache import with_kb_ranker
from triage._recurring import recurring_from_settings
from triage._registry import ResolvedModel, live_history_path, parse_ref, resolve_model
from triage._triage import Triage
from triage.errors import BundleError
from triage.owners import bundle_owners
from triage.settings import Settings

History = Literal["live", "ephemeral", "none"]
WARM_UP: Sequence[dict[str, Any]] = (
    {"id": "warm-up", "subject": "прогрев модели", "body": "model warm-up after loading"},)


def open_triage(bundle: str | Path | ResolvedModel, settings: Settings, *, embedder: Embedder | None = None,
                kb: KBIndex | Path | Literal["settings"] | None = "settings", history: History = "live",
                alerts: bool = True, progress: bool = False,
                lock: AbstractContextManager[Any] | None = None) -> Triage:
    """A complete, warmed-up `Triage` for `bundle`, configured by `settings`.

    - `bundle`: a model reference (contract §3: a bundle directory, `models:/triage/<version>`,
      `models:/triage@<alias>`, resolved by `triage._registry`) or one already resolved; the result's
      `registry` says which registered version it is. A registry model's live history is one file per
      registered model under TRIAGE_HOME (unless TRIAGE_HISTORY_DB names one), so promotions keep it.

    - `embedder`: reuse one already loaded (hot reload, tests); else the bundle's own.
    - `kb`: an open index to share, a folder to open, None for none; default `settings.kb_dir`.
    - `history`: `live` appends to the lasting history (`TRIAGE_HISTORY_DB` or beside the bundle),
      `ephemeral` works on a throwaway copy of the bundle's seed (`triage predict`), `none` skips it.
    - `lock`: held around the warm-up when the embedder is shared with a model still serving.

    The warm-up classifies one ticket with `record=False`, so a head that loads but cannot predict
    fails here rather than on a user's ticket, and the history is left untouched.
    """
    resolved = bundle if isinstance(bundle, ResolvedModel) else resolve_model(bundle, settings)
    bundle = resolved.path
    history_db = live_history_path(resolved, settings)
    if history_db != settings.history_db:
        settings = settings.model_copy(update={"history_db": history_db})
    manifest, embedder = _checked(bundle, embedder, settings.cache_dir, progress, settings.onnx_graph)
    kb = settings.kb_dir if isinstance(kb, str) else kb
    kb_embedder = _matching(kb, embedder, retrieval_embedder(bundle, manifest))
    index = _kb_for(kb, kb_embedder, settings)
    if index is not None:  # learned from the bundle's ticket -> article links, when it has them
        index = with_kb_ranker(index, bundle, manifest, settings.cache_dir, progress=progress, embedder=kb_embedder)
    recurring = (recurring_from_settings(bundle, manifest, embedder.dim, settings, ephemeral=history == "ephemeral",
                                         alerts=alerts) if history != "none" else None)
    triage = Triage(embedder, load_heads(bundle, manifest), manifest, kb=index, kb_top_k=settings.kb_top_k,
                    owners=bundle_owners(bundle, settings.owners_file),
                    completeness_threshold=settings.completeness_threshold, recurring=recurring,
                    label_embedder=label_embedder(bundle, manifest),
                    kb_embedder=kb_embedder if index is not None and kb_embedder is not embedder else None)
    triage.bundle = bundle
    triage.registry = resolved.describe()
    try:
        with lock if lock is not None else nullcontext():
            triage.classify(list(WARM_UP), record=False)
    except BaseException:
        triage.close()
        raise
    return triage


def load_triage(bundle: str | Path, *, cache_dir: Path, embedder: Embedder | None = None,
                progress: bool = False, owners_file: Path | None = None) -> Triage:
    """The bundle alone (heads, owners; no KB, no history, no warm-up), for notebooks and tests.

    Anything that serves tickets uses `open_triage`.
    """
    resolved = resolve_model(bundle, Settings(cache_dir=cache_dir)) if parse_ref(bundle).is_registry else None
    bundle = resolved.path if resolved is not None else Path(bundle)
    manifest, embedder = _checked(bundle, embedder, cache_dir, progress)
    triage = Triage(embedder, load_heads(bundle, manifest), manifest, owners=bundle_owners(bundle, owners_file),
                    label_embedder=label_embedder(bundle, manifest))
    triage.bundle = bundle
    triage.registry = resolved.describe() if resolved is not None else None
    return triage


def bundle_embedder(bundle: str | Path, *, cache_dir: Path, progress: bool = False,
                    onnx: bool | str = True) -> Embedder:
    """Only the embedder a bundle was trained with (for building or searching a KB index for it)."""
    return _checked(Path(bundle), None, cache_dir, progress, onnx)[1]


def _checked(bundle: Path, embedder: Embedder | None, cache_dir: Path,
             progress: bool, onnx: bool | str = True) -> tuple[dict[str, Any], Embedder]:
    """The bundle's manifest (versions checked) and an embedder it accepts (the given one, or its own)."""
    manifest = read_manifest(bundle)
    check_versions(manifest)
    if embedder is None:
        spec = manifest["embedder"]
        if spec["spec"] == "bundle":  # fine-tuned with the bundle
            embedder = SentenceTransformerEmbedder(str(bundle / "embedder"), model_id=spec["id"],
                                                   prefixes=E5_PREFIXES, max_tokens=int(spec["max_tokens"]))
        else:
            embedder = load_embedder(spec["spec"], cache_dir=cache_dir, max_tokens=int(spec["max_tokens"]),
                                     progress=progress, onnx=onnx)
    check_embedder(manifest, embedder.model_id, embedder.dim)
    return manifest, embedder


def label_embedder(bundle: Path, manifest: dict[str, Any]) -> Embedder | None:
    """The embedder a bundle tuned for its label heads (`triage train`'s label tuning), or None."""
    return _tuned_embedder(bundle, manifest, "label_embedder", "label")


def bundle_kb_embedder(bundle: str | Path, *, cache_dir: Path, progress: bool = False, onnx: bool | str = True,
                       encoder_id: str | None = None) -> Embedder:
    """The embedder to build or search a KB index for a bundle: its retrieval embedder when it tuned one
    (and `encoder_id`, the id an existing index was built with, is not the shared one's), else the shared one."""
    manifest, shared = _checked(Path(bundle), None, cache_dir, progress, onnx)
    tuned = retrieval_embedder(Path(bundle), manifest)
    return tuned if tuned is not None and encoder_id in (None, tuned.model_id) else shared


def retrieval_embedder(bundle: Path, manifest: dict[str, Any]) -> Embedder | None:
    """The embedder a bundle tuned on its ticket -> article links (`triage train --kb-source`), or None."""
    return _tuned_embedder(bundle, manifest, "retrieval_embedder", "retrieval")


def _tuned_embedder(bundle: Path, manifest: dict[str, Any], entry: str, what: str) -> Embedder | None:
    """One of the bundle's tuned embedders (its manifest `entry`), checked to be whole, or None when unused."""
    info = manifest.get(entry) or {}
    if not info.get("used"):
        return None
    folder = Path(bundle) / str(info["folder"])
    if not (folder / "onnx" / ONNX_FILE).is_file():
        raise BundleError(f"{folder} holds no ONNX graph of the {what} embedder; the bundle is damaged: retrain "
                          "it or restore it from MLflow")
    return OnnxEmbedder(folder, model_id=str(info["id"]), prefixes=E5_PREFIXES, max_tokens=int(info["max_tokens"]))


def _matching(kb: KBIndex | Path | None, shared: Embedder, tuned: Embedder | None) -> Embedder:
    """The embedder the index was built with, of the bundle's two: an index built before the bundle tuned
    one (or with `kb build` without `--model`) keeps working with the shared embedder, as before."""
    if tuned is None or kb is None:
        return shared
    if isinstance(kb, KBIndex):
        built_with: str | None = kb.encoder_id
    else:
        from kb_index._index import current_version_dir
        from kb_index._index import read_manifest as index_manifest

        version = current_version_dir(Path(kb))
        built_with = str(index_manifest(version)["encoder"]["model_id"]) if version is not None else None
    return tuned if built_with == tuned.model_id else shared


def _kb_for(kb: KBIndex | Path | None, embedder: Embedder, settings: Settings) -> KBIndex | None:
    if kb is None or isinstance(kb, KBIndex):
        if kb is not None and kb.encoder_id != embedder.model_id:
            raise BundleError(f"the KB index was embedded with {kb.encoder_id} but the bundle uses "
                              f"{embedder.model_id}; rebuild the index for it (`triage kb build --model`)")
        return kb
    return open_kb(kb, embedder, settings)
