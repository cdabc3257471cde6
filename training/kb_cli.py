"""`triage kb ...`: build, search and audit the knowledge-base index from the shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from triage._cli_common import ConfigOpt, cli_settings, console, exits, mapping_from
from triage.settings import Settings

kb_app = typer.Typer(
    help="Knowledge-base index: `build` it from articles (and past answers), `search` it, find `gaps`.\n\n"
         "Example: `triage kb build --source data/demo/kb --answers data/demo/tickets.csv --out models/kb`, "
         "then `triage serve --model models/demo --kb models/kb`.",
    no_args_is_help=True)

KbDirOpt = Annotated[Path, typer.Option("--kb", help="Index directory written by `triage kb build`.")]
EmbedModelOpt = Annotated[Path | None, typer.Option(
    "--model", help="Embed with this bundle's embedder (its retrieval embedder when `train --kb-source` tuned "
                    "one on tickets naming their `kb_article`), and rank with what it learned from those tickets.")]


def _embedder(model: Path | None, spec: str | None, settings: Settings,
              encoder_id: str | None = None) -> tuple[Any, str]:
    """The embedder to build with (or, given the index's `encoder_id`, to search with): a bundle's retrieval
    embedder when it tuned one on its links, else its shared one; without a bundle, TRIAGE_EMBEDDER."""
    from triage._assembly import bundle_kb_embedder
    from triage._embedding import load_embedder

    if model is not None:
        return (bundle_kb_embedder(model, cache_dir=settings.cache_dir, progress=True, onnx=settings.onnx_graph,
                                   encoder_id=encoder_id), f"bundle:{model.resolve()}")
    if spec and spec.startswith("bundle:"):
        path = Path(spec.removeprefix("bundle:"))
        return bundle_kb_embedder(path, cache_dir=settings.cache_dir, progress=True, onnx=settings.onnx_graph,
                                  encoder_id=encoder_id), spec
    spec = spec or settings.embedder
    return load_embedder(spec, cache_dir=settings.cache_dir, max_tokens=settings.max_tokens, progress=True,
                         onnx=settings.onnx_graph), spec


def _index_embedder(kb: Path, model: Path | None, settings: Settings) -> tuple[Any, Any]:
    """Open the index with the embedder it was built with (or the given bundle's)."""
    from kb_index._index import current_version_dir, read_manifest
    from kb_index.errors import IndexFormatError
    from triage._kb import open_kb

    version = current_version_dir(kb)
    if version is None:
        raise IndexFormatError(f"{kb} is not a KB index: build one with `triage kb build --source ... --out {kb}`")
    encoder = read_manifest(version)["encoder"]
    embedder, _ = _embedder(model, encoder.get("spec"), settings, str(encoder["model_id"]))
    index = open_kb(kb, embedder, settings)
    if model is not None:  # the ranking learned from the bundle's links, as `serve` would use it
        from triage._bundle import read_manifest as bundle_manifest
        from triage._ranker_cache import with_kb_ranker

        index = with_kb_ranker(index, model, bundle_manifest(model), settings.cache_dir, progress=True,
                               embedder=embedder)
    return index, embedder


@kb_app.command("build")
@exits
def build(
    source: Annotated[list[Path], typer.Option("--source", help="KB folder (.md/.txt/.html) or table "
                                               "(CSV/JSONL/Parquet: id, title, body[, url, category]); repeatable.")],
    out: Annotated[Path, typer.Option("--out", help="Index directory; an existing index is updated in place "
                                      "(only new or changed articles are embedded) and swapped atomically.")],
    answers: Annotated[list[Path] | None, typer.Option(
        "--answers", help="Ticket export whose `answer` column becomes a second source of suggestions.")] = None,
    config: ConfigOpt = None,
    model: EmbedModelOpt = None,
    backend: Annotated[str | None, typer.Option(help="faiss (embedded) or qdrant (TRIAGE_QDRANT_URL; without it, "
                                                "qdrant-client's local mode inside the index). Default: qdrant "
                                                "if TRIAGE_QDRANT_URL is set, else faiss.")] = None,
    mode: Annotated[str, typer.Option(help="sync: the index holds exactly these sources (articles no longer "
                                      "present are removed); upsert: add and change only.")] = "sync",
    chunk_chars: Annotated[int, typer.Option(min=200, max=4000, help="Largest chunk, in characters.")] = 800,
) -> None:
    """Build or update a KB index from articles and past answers."""
    from kb_index import BuildOptions, build_index
    from triage._kb import load_answers, load_articles, qdrant_settings

    settings = cli_settings()
    if mode not in ("sync", "upsert"):
        raise typer.BadParameter("choose sync or upsert", param_hint="--mode")
    backend = backend or ("qdrant" if settings.qdrant_url else "faiss")
    if backend not in ("faiss", "qdrant"):
        raise typer.BadParameter("choose faiss or qdrant", param_hint="--backend")
    mapping = mapping_from(config)
    articles = load_articles(source, mapping)
    if answers:
        articles += load_answers(answers, None, settings.ticket_url)
    embedder, spec = _embedder(model, None, settings)
    opts = BuildOptions(backend=backend, mode=mode, chunk_chars=chunk_chars, qdrant=qdrant_settings(settings),
                        encoder_spec=spec, batch_size=settings.batch_size, progress=True)
    report = build_index(out, articles, embedder, opts)
    console.print(f"[green]Built[/] {escape(report.summary())}")
    if model is not None:
        _learn_ranking(out, model, embedder, settings)


def _learn_ranking(kb: Path, model: Path, embedder: Any, settings: Settings) -> None:
    """Fit the ranker learned from the bundle's ticket -> article links and keep it with the index."""
    from triage._bundle import read_manifest
    from triage._kb import open_kb
    from triage._ranker_cache import with_kb_ranker

    index = with_kb_ranker(open_kb(kb, embedder, settings), model, read_manifest(model), settings.cache_dir,
                           in_index=True, progress=True, embedder=embedder)
    ranker = index.reranker
    if ranker is None:
        console.print("No ranking learned: the bundle names no `kb_article` of this index (or fewer than 30 "
                      "tickets do); suggestions are ranked by meaning and words, scored in cosine units.")
        return
    r = getattr(ranker, "report", {})
    held = r.get("held_out", {}).get(r.get("model"), {})
    console.print(f"[green]Learned[/] KB ranking from {r.get('queries')} tickets naming their article "
                  f"({r.get('model')}; held-out recall@1 {held.get('recall_at_1', 0):.2f}, recall@5 "
                  f"{held.get('recall_at_5', 0):.2f}); scores are now probabilities, suggestions under "
                  f"{ranker.floor:.2f} are not shown ({r.get('floor_precision', 0):.0%} of those shown were right)")


@kb_app.command("search")
@exits
def search(
    query: Annotated[str, typer.Argument(help="Question in any language, e.g. \"не работает VPN\".")],
    kb: KbDirOpt,
    k: Annotated[int, typer.Option(min=1, max=50, help="How many articles.")] = 5,
    source: Annotated[list[str] | None, typer.Option(help="Only 'kb' articles or past 'answer's.")] = None,
    model: EmbedModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON (the /v1/kb/search shape).")] = False,
) -> None:
    """Show the articles and past answers that best match a question."""
    from triage._kb import search_kb

    index, embedder = _index_embedder(kb, model, cli_settings())
    hits = search_kb(index, embedder, [query], k=k, sources=source)[0]
    if as_json:
        typer.echo(json.dumps({"hits": hits}, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{escape(query)}  ({len(index)} chunks, index v{index.version})")
    for col in ("score", "source", "article", "snippet"):
        table.add_column(col, overflow="fold")
    for hit in hits:
        table.add_row(f"{hit['score']:.3f}", hit["source"], escape(f"{hit['article_id']}\n{hit['title']}"),
                      escape(hit["snippet"][:200]))
    console.print(table)


@kb_app.command("gaps")
@exits
def gaps(
    kb: KbDirOpt,
    data: Annotated[list[Path], typer.Option("--data", help="Ticket export to audit (CSV, JSONL, Parquet).")],
    config: ConfigOpt = None,
    model: EmbedModelOpt = None,
    min_score: Annotated[float, typer.Option(help="A ticket whose best article scores below this is 'not "
                                             "answered'. Look at `triage kb search` scores to pick it.")] = 0.86,
    min_size: Annotated[int, typer.Option(min=1, help="Smallest group worth an article.")] = 3,
    distance: Annotated[float, typer.Option(min=0.01, max=1.0, help="Cosine distance within a group.")] = 0.12,
    output: Annotated[Path | None, typer.Option(help="Also write the groups as JSON lines here.")] = None,
) -> None:
    """List groups of similar tickets that no article answers well: the articles to write next."""
    from triage._data import load_tickets
    from triage._kb import find_gaps

    index, embedder = _index_embedder(kb, model, cli_settings())
    tickets = load_tickets(data, mapping_from(config))
    found, poor = find_gaps(index, embedder, tickets, min_score=min_score, min_size=min_size, distance=distance,
                            progress=True)
    table = Table(title=f"KB gaps: {poor} of {len(tickets)} tickets have no article scoring ≥ {min_score}; "
                        f"{len(found)} groups of ≥ {min_size}")
    for col in ("tickets", "representative question", "closest article (score)", "examples"):
        table.add_column(col, overflow="fold")
    for gap in found[:30]:
        table.add_row(str(gap.size), escape(gap.question[:200]), escape(f"{gap.best_article} ({gap.best_score:.2f})"),
                      escape(", ".join(gap.ticket_ids[:5])))
    console.print(table)
    if output is not None:
        output.write_text("".join(json.dumps(g.as_dict(), ensure_ascii=False) + "\n" for g in found),
                          encoding="utf-8")
        console.print(f"[green]Wrote[/] {len(found)} groups to {output}")
