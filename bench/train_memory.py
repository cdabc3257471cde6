"""Peak memory of the two heavy steps of `triage train`, each alone in its own process.

`finetune`: the label tuning of the shipped e5-small (PyTorch, 128 tokens, batches of 16 pairs, 32 short
tickets, up to 120 s); `export`: the ONNX export of a tuned copy (what `label_embedder/` and
`retrieval_embedder/` are served from). Says what sets `triage train`'s peak (bench/train_scale.py).

    python bench/train_memory.py finetune
    python bench/train_memory.py export
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from triage import Settings


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["finetune", "export"])
    args = ap.parse_args()
    models = Settings().cache_dir / "models"
    source = next(p for p in sorted(models.iterdir()) if (p / "modules.json").is_file())  # the converted e5
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        if args.step == "export":
            from triage._onnx import export_onnx

            shutil.copytree(source, Path(tmp) / "m", ignore=shutil.ignore_patterns("onnx"))
            export_onnx(Path(tmp) / "m")
        else:
            from training.finetune import finetune

            texts = [f"ticket {i}: the printer and the VPN fail again, case {i}. " * 8 for i in range(32)]
            finetune(source, texts, [str(i % 4) for i in range(32)], Path(tmp) / "out", max_tokens=128,
                     pairs_per_text=4, batch_size=16, time_budget=120)
        print(f"{args.step}: peak RSS {peak_mb():.0f} MB, {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
