"""The SoapUI project in examples/soapui is replayed against the running service, step by step.

``tests/support/soapui.py`` does what SoapUI's test runner does for the features the project uses
(property expansion, property transfers, the outgoing WS-Security UsernameToken, WS-Addressing) and
checks the assertions the project declares; any feature it does not know fails the test. Every
request the project sends is also checked against the published WSDLs' schemas (responses are
checked by the suite-wide schema guard), so the project cannot go stale against the contract.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.harness import BASIC_PATH, WS_PATH, Stack
from tests.support.schemas import envelope_errors
from tests.support.soapui import Project, Runner, describe

PROJECT_FILE = (
    Path(__file__).resolve().parents[2] / "examples" / "soapui" / "innbyggerpost-soapui-project.xml"
)
PROJECT = Project(PROJECT_FILE)
CASES = {case.name: case for case in PROJECT.test_cases()}


def test_project_points_at_make_run_and_covers_every_operation() -> None:
    assert PROJECT.properties["BaseUrl"] == "http://127.0.0.1:8080"
    by_version = {i.soap_version: i for i in PROJECT.interfaces.values()}
    assert set(by_version) == {"1_1", "1_2"}
    assert by_version["1_1"].endpoints == ["http://127.0.0.1:8080" + BASIC_PATH]
    assert by_version["1_2"].endpoints == ["http://127.0.0.1:8080" + WS_PATH]
    used = {(s.interface, s.operation) for c in CASES.values() for s in c.steps if s.type == "request"}
    for iface in PROJECT.interfaces.values():
        assert len(iface.actions) == 8
        missing = {op for op in iface.actions if (iface.name, op) not in used}
        assert not missing, f"{iface.name}: no test step for {sorted(missing)}"
    ws_steps = [s for c in CASES.values() for s in c.steps if s.interface == by_version["1_2"].name]
    assert ws_steps and all(s.outgoing_wss in PROJECT.wss for s in ws_steps)
    assert PROJECT.wss["demo UsernameToken"].password_type == "PasswordText"


@pytest.mark.parametrize("case_name", sorted(CASES))
def test_soapui_case_replays_green(worker: Stack, case_name: str) -> None:
    case = CASES[case_name]
    runner = Runner(PROJECT, {"BaseUrl": worker.url}, settle_seconds=60)
    results = runner.run_case(case)
    ran = [r for r in results if r.request]
    assert len(ran) == sum(1 for s in case.steps if s.type == "request")
    request_problems = []
    for r in ran:
        step = next(s for s in case.steps if s.name == r.step)
        variant = "basic" if PROJECT.interfaces[step.interface].soap_version == "1_1" else "ws"
        request_problems += [
            f"[{r.step}] request: {p}" for p in envelope_errors(r.request, variant, allow_fault=False)
        ]
    assert not request_problems, "\n".join(request_problems)
    failures = describe(results)
    assert not failures, failures
