"""benchmarks/ablation.py runs at a tiny size and writes rows that ablation_results reads.

The ablation itself (an hour or more) is never run here; docs/ablation.md has its numbers.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import ablation  # noqa: E402

from annotated.modern import ablation_results  # noqa: E402


def test_tiny_ablation_writes_rows_the_chapter_reads(tmp_path):
    out = tmp_path / "ablation.json"
    assert ablation.main(["--tiny", "--rows", "base", "decoder", "--jobs", "1",
                          "--out", str(out), "--runs", str(tmp_path / "runs")]) == 0
    rows = ablation_results(out)
    assert [r["name"] for r in rows] == ["base", "decoder"]
    base, decoder = rows
    assert decoder["config"] == {"arch": "decoder"}
    assert decoder["cache_bytes_per_token"] == 2 * base["cache_bytes_per_token"]  # 2N layers
    for r in rows:
        assert r["seeds"] == [0] and r["step_ms"] > 0 and r["params"] > 0
        seed = r["per_seed"]["0"]
        assert seed["history"]["step"] == [10, 20]  # validated every 10 of 20 steps
        assert len(seed["history"]["valid_exact"]) == 2
    assert json.loads(out.read_text()) == rows
