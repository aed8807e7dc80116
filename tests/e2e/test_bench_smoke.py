"""`make bench` in its tiniest mode, so the benchmark cannot rot: it starts the real stack, runs every
phase (wrk inserts, floor, a 50-letter mass mailing, status queries, memory) and prints, as its last
line, the JSON object with every key. Speed is not asserted here (that is the benchmark's job);
what is asserted is that every phase measured something and the mass mailing lost nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.run_bench import KEYS
from tests.support.harness import REPO
from tests.support.reference import BASIC_WSDL, altinn_reference

BACKENDS = [b for b in os.environ.get("INNBYGGERPOST_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("db", BACKENDS)
def test_tiny_bench_prints_every_figure(db: str, tmp_path: Path) -> None:
    altinn_reference(BASIC_WSDL)  # skips on a developer machine without the reference data; fails in CI
    if shutil.which("wrk") is None:
        message = "wrk is not installed (make system-deps)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path / "bench.json"
    argv = [sys.executable, str(REPO / "tests" / "bench" / "run_bench.py"), "--quick", "--db", db]
    argv += ["--letters", "50", "--connections", "8", "--insert-seconds", "2", "--warmup-seconds", "1"]
    argv += ["--floor-seconds", "0.5", "--drain-timeout", "30", "--mass-timeout", "60"]
    argv += ["--status-repeats", "1", "--timeout", "150", "--out", str(out)]
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=170)
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    last = json.loads(lines[-1])
    assert set(last) == set(KEYS) | {"postgres"}
    figures = last["postgres"] if db == "postgresql" else last
    if db == "postgresql":
        assert set(figures) == set(KEYS)
        assert all(last[k] is None for k in KEYS)  # the SQLite figures: not run
    else:
        assert last["postgres"] is None
    for key in KEYS:
        assert figures[key] is not None, (key, proc.stdout[-3000:])
    assert figures["insert_per_s"] > 0 and figures["insert_1mb_per_s"] > 0
    assert figures["floor_per_s"] > 0 and figures["web_cpu_ms_per_insert"] > 0
    assert figures["mass_letters"] >= 45  # 50 letters of the mix, a few of them answered Rejected
    assert figures["krr_ids"] >= figures["krr_calls"] > 0
    assert figures["lost"] == 0 and figures["delivered_twice"] == 0
    assert figures["web_rss_mb"] > 10 and figures["worker_rss_mb"] > 10
    # issue 17: CPU per letter end to end (web + delivery workers), the simulators' apart, the floor's
    assert figures["letter_cpu_ms"] > 0 and figures["simulators_cpu_ms_per_letter"] > 0
    assert figures["floor_cpu_ms_per_letter"] > 0 and figures["web_cpu_floor_ratio"] > 0
    assert figures["busy_faults"] >= 0  # retried by the load generators, not failures
    full = json.loads(out.read_text())
    run = full["runs"][db]
    assert run["failures"] == []
    assert run["results"]["mass"]["complete"] is True
    assert run["results"]["mass"]["busy_left_at_end"] == 0
    phases = ("insert_sdp", "insert_no_sdp", "insert_1mb", "mass")
    assert sum(run["results"][k]["busy_faults"] for k in phases) == figures["busy_faults"]
    # distinct citizens of the synthetic KRR population (all but the seed's behaviour persons)
    assert run["results"]["mass"]["distinct_citizens"] >= 45
    # ... and their postboxes take the letters: the DPI simulator finds a population citizen by postbox
    # address (it once refused them all as "no postbox", and the mailing measured rejections)
    by_status = run["results"]["mass"]["forwardings_by_status"]
    assert by_status.get("Delivered_EndUser", 0) >= 10, by_status
    assert figures["mass_delivery_failed"] == by_status.get("Delivery_EndUser_Failed", 0)
    # every letter of the mailing is in the status history answer (Altinn copy or forwarding or both)
    assert run["results"]["status"]["history_references_answered"] == figures["mass_letters"]
