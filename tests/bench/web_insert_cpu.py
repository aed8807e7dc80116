#!/usr/bin/env python3
"""Web CPU per insert over HTTP, one gunicorn process under ``wrk``, with settings side by side.

For each ``--case NAME:SETTING=VALUE[,SETTING=VALUE]`` (default: the insert fast path on and off),
in alternating rounds: a temporary SQLite database, ``innbyggerpost serve`` with ONE web process on
``--port`` (KRR is not asked: the letter has no SdpOptions), ``wrk`` with ``insert.lua`` (the bench's
script: a pre-rendered InsertCorrespondenceBasicV2, a fresh reference per request) at
``--connections`` for ``--seconds``, and the worker's CPU (utime+stime from /proc) before and after:
CPU ms per accepted insert. ``--profile`` records the worker with py-spy during the last round of
each case and prints the top functions (self and inclusive share of the samples).

    .venv/bin/python tests/bench/web_insert_cpu.py [--seconds 10] [--rounds 2] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from tests.bench.run_bench import Envelopes, cpu_s, summarise_profile  # noqa: E402
from tests.support import altinn as a  # noqa: E402
from tests.support.harness import children, wait_until  # noqa: E402

URL_PATH = "/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc"


def _raise(log: Path) -> bool:
    raise RuntimeError("the web process ended: " + log.read_text(errors="replace")[-2000:])


def _case(text: str) -> tuple[str, dict[str, str]]:
    name, _, settings = text.partition(":")
    env = {}
    for item in filter(None, settings.split(",")):
        k, _, v = item.partition("=")
        env[k if k.startswith("INNBYGGERPOST_") else "INNBYGGERPOST_" + k] = v
    return name, env


class Web:
    def __init__(self, port: int, extra: dict[str, str], log_level: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="web-insert-cpu-"))
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "INNBYGGERPOST_DATABASE_URL": f"sqlite:///{self.dir / 'db.sqlite'}",
            "INNBYGGERPOST_SECRET_KEY_FILE": str(self.dir / "secret.key"),
            "INNBYGGERPOST_METRICS_DIR": str(self.dir / "metrics"),
            "INNBYGGERPOST_BIND": f"127.0.0.1:{port}",
            "INNBYGGERPOST_WEB_WORKERS": "1",
            "INNBYGGERPOST_LOG_LEVEL": log_level,
            "INNBYGGERPOST_PUBLIC_URL": self.url,
            **extra,
        }
        cli = [sys.executable, "-m", "service.entrypoints.cli"]
        for cmd in ("migrate", "demo-owners"):
            subprocess.run([*cli, cmd], check=True, env=self.env, cwd=REPO, capture_output=True)
        self.log = open(self.dir / "web.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*cli, "serve"], env=self.env, cwd=REPO, stdout=self.log, stderr=self.log
        )
        try:
            wait_until(self._up, 60, "the web process")
            self.worker = children(self.proc.pid)[0]
        except BaseException:
            self.stop()
            raise

    def _up(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + URL_PATH + "?wsdl", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return self.proc.poll() is not None and _raise(self.dir / "web.log")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_wrk(
    url: str, tdir: Path, tokens: list[str], action: str, tag: str, secs: float, conns: int
) -> dict[str, Any]:
    env = {
        **os.environ,
        "BENCH_DIR": str(tdir),
        "BENCH_TOKENS": ",".join(tokens),
        "BENCH_PREFIX": tag,
        "BENCH_RUN_NUMBER": str(int(time.time()) % 2**31),
        "BENCH_SOAPACTION": action,
    }
    argv = ["wrk", "-t", "2", "-c", str(conns), "-d", f"{max(1, round(secs))}s", "--timeout", "30s"]
    argv += ["-s", str(HERE / "insert.lua"), url + URL_PATH]
    out = subprocess.run(argv, env=env, capture_output=True, timeout=secs + 90).stdout.decode(
        errors="replace"
    )
    line = next((ln for ln in out.splitlines() if ln.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {out[-2000:]}")
    result: dict[str, Any] = json.loads(line[len("BENCHJSON ") :])
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", action="append", help="NAME:SETTING=VALUE,... (repeatable)")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--port", type=int, default=18200)
    p.add_argument("--log-level", default="WARNING")
    p.add_argument("--profile", action="store_true", help="py-spy the worker in the last round")
    p.add_argument("--profile-rate", type=int, default=100)
    args = p.parse_args()
    cases = [
        _case(c) for c in (args.case or ["fast-on:INSERT_FAST_PATH=true", "fast-off:INSERT_FAST_PATH=false"])
    ]
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: run `make system-deps`")
    envelopes = Envelopes("http://127.0.0.1/x")
    pieces, tokens = envelopes.insert(a.letter(a.DIGIPOST, None))
    tdir = Path(tempfile.mkdtemp(prefix="web-insert-cpu-wrk-"))
    for i, piece in enumerate(pieces):
        (tdir / f"piece{i}").write_bytes(piece)
    totals: dict[str, list[float]] = {name: [0.0, 0.0, 0.0] for name, _ in cases}  # cpu s, ok, seconds
    profiles: dict[str, Any] = {}
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    for r in range(args.rounds):
        for name, extra in cases:
            web = Web(args.port, extra, args.log_level)
            try:
                run_wrk(
                    web.url,
                    tdir,
                    tokens,
                    envelopes.insert_action,
                    f"{name}-w{r}",
                    args.warmup,
                    args.connections,
                )
                spy = None
                if args.profile and r == args.rounds - 1:
                    out = tdir / f"pyspy-{name}.txt"
                    spy = subprocess.Popen(
                        [pyspy, "record", "-p", str(web.worker), "-f", "raw", "-o", str(out)]
                        + ["-r", str(args.profile_rate), "--nonblocking", "--gil"],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    time.sleep(1.0)
                cpu0 = cpu_s(web.worker)
                res = run_wrk(
                    web.url,
                    tdir,
                    tokens,
                    envelopes.insert_action,
                    f"{name}-r{r}",
                    args.seconds,
                    args.connections,
                )
                cpu1 = cpu_s(web.worker)
                if spy is not None:
                    spy.send_signal(2)
                    spy.wait(30)
                    profiles[name] = summarise_profile(tdir / f"pyspy-{name}.txt", top=20)
            finally:
                web.stop()
            for bad in sorted(tdir.glob("bad-*.txt")):
                print(f"  a not-OK answer ({name}): {bad.read_text(errors='replace')[:400]!r}")
                bad.unlink()
            t = totals[name]
            t[0] += cpu1 - cpu0
            t[1] += res["ok"]
            t[2] += res["duration_us"] / 1e6
            print(
                f"round {r + 1} {name}: {res['ok']} OK, {res['bad']} not OK, {res['ok'] / (res['duration_us'] / 1e6):.1f}/s, "
                f"p99 {res['p99_us'] / 1000:.1f} ms, web CPU {(cpu1 - cpu0) * 1000 / max(1, res['ok']):.3f} ms/insert",
                flush=True,
            )
    summary = {
        name: {
            "web_cpu_ms_per_insert": round(cpu * 1000 / ok, 3) if ok else None,
            "per_s": round(ok / secs, 1),
        }
        for name, (cpu, ok, secs) in totals.items()
    }
    print("SUMMARY " + json.dumps(summary))
    for name, prof in profiles.items():
        print(f"\n== py-spy of the worker, {name} ({prof['samples']} samples): self")
        for fn, share in prof["self_top"]:
            print(f"  {share:5.1f}%  {fn}")
        print(f"== {name}: inclusive")
        for fn, share in prof["inclusive_top"][:30]:
            print(f"  {share:5.1f}%  {fn}")
    shutil.rmtree(tdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
