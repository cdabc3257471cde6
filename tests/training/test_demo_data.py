"""The committed demo data is exactly what scripts/make_demo_data.py writes from data/demo/source/.

The generator runs as users run it (a subprocess of the script), so the source files, the generator code
and the committed data/demo/ files cannot drift apart: an edit to any one of them without regenerating
fails here.  The other tests check that a broken source file stops the generator with a message naming
the file and the place, and that an article missing from kb.yaml is refused rather than deleted.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo"
SCRIPT = REPO / "scripts" / "make_demo_data.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=120, check=False)


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and "source" not in p.relative_to(root).parts}


def test_generator_reproduces_the_committed_demo_data(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = run("--out", str(out))
    assert proc.returncode == 0, proc.stderr
    written, committed = files(out), files(DEMO)
    assert sorted(written) == sorted(committed)
    assert {"tickets.csv", "kb.csv", "owners.yaml", "jira_export_sample.csv", "mapping.example.yaml",
            "README.md", "kb/vpn-setup.md"} <= set(written)
    differing = [name for name in written if written[name] != committed[name]]
    assert not differing, f"regenerate with `python scripts/make_demo_data.py`: {differing} differ"


def copy_demo(tmp_path: Path) -> Path:
    demo = tmp_path / "demo"
    shutil.copytree(DEMO, demo)
    return demo


def test_a_malformed_scenario_line_names_the_file_scenario_and_line(tmp_path: Path) -> None:
    demo = copy_demo(tmp_path)
    path = demo / "source" / "scenarios" / "10-telephony.yaml"
    lines = path.read_text(encoding="utf-8").split("\n")
    broken = lines.index("    S: Не проходят входящие звонки")
    lines[broken] = "    Не проходят входящие звонки"
    path.write_text("\n".join(lines), encoding="utf-8")
    proc = run("--source", str(demo / "source"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert str(path) in proc.stderr
    assert f"scenario pbx_inbound, ru, line {broken + 1}:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_an_article_missing_from_kb_yaml_is_refused_not_deleted(tmp_path: Path) -> None:
    demo = copy_demo(tmp_path)
    article = demo / "kb" / "new-article.md"
    article.write_text("# New article\n\nText.\n", encoding="utf-8")
    proc = run("--source", str(demo / "source"), "--out", str(demo))
    assert proc.returncode == 2
    assert "new-article.md" in proc.stderr and "kb.yaml" in proc.stderr
    assert article.exists()
