"""GetCorrespondenceStatusHistory answers all of Altinn's 10 000 references a call (issue 17).

Altinn's guide allows up to 10 000 references in one call; the history has its own limit
(``INNBYGGERPOST_STATUS_HISTORY_LIMIT``, 10 000) instead of the status details' general one of 1 000
entries a list. 10 000 letters are stored cheaply in the stack's database through the insert use
case's own plans and group commit (one transaction per 1 000), then asked for through real SOAP
calls (Basic with header credentials, WS with a UsernameToken), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from service.adapters.db import make_engine
from service.domain import forwarding_decision, insert
from service.domain import model as dm
from service.domain.status import MAX_HISTORY_REFERENCES
from service.service_layer import owners
from service.service_layer.group_commit import GroupCommit
from service.service_layer.unit_of_work import unit_of_work_factory
from tests.support import altinn as a
from tests.support.harness import Stack

N = MAX_HISTORY_REFERENCES


def _statuses(info: Any) -> list[Any]:
    return list(info.CorrespondenceStatusDetailsList.StatusV2 or [])


@pytest.fixture(scope="module")
def ten_thousand(stack: Stack) -> Iterator[tuple[Stack, list[str], Any]]:
    """10 000 Altinn letters (no SdpOptions: nothing for the delivery workers) of the demo owner."""
    engine = make_engine(stack.database_url)
    uow = unit_of_work_factory(engine)
    principal = owners.Authenticator(uow).check_password("10001", "demo-password")
    assert principal is not None
    prefix = f"h10k-{uuid.uuid4().hex[:8]}"
    refs = [f"{prefix}-{i:05d}" for i in range(N)]
    now = dt.datetime.now(dt.UTC)
    decision = forwarding_decision.decide("organisation", None, None, None, now)

    def plans() -> Iterator[insert.InsertPlan]:
        for ref in refs:
            req = dm.InsertCorrespondence(
                "DEMO", ref, "4503", "1", a.ORGANISATION, "1044", f"Brev {ref}", archive_reference="ARK-1"
            )
            yield insert.plan(req, principal.owner_id, decision, None, now)

    receipts = GroupCommit(uow, batch_max=1000).store_all(plans())
    assert [r.status_code for r in receipts] == ["OK"] * N
    try:
        yield stack, refs, engine
    finally:
        engine.dispose()


def _check(result: Any, refs: list[str]) -> None:
    info = result.CorrespondenceStatusInformation
    statuses = _statuses(info)
    assert info.LimitReached is False
    assert len(statuses) == N  # before issue 17: 1 000 and LimitReached
    assert sorted(s.SendersReference for s in statuses) == refs
    assert all([c.StatusType for c in s.StatusChanges.StatusChangeV2] == ["Created"] for s in statuses)
    assert len({s.CorrespondenceID for s in statuses}) == N


def test_status_history_basic_answers_10000_references(ten_thousand: tuple[Stack, list[str], Any]) -> None:
    stack, refs, _ = ten_thousand
    _check(a.history_basic(stack.basic_url, refs), refs)


def test_status_history_ws_answers_10000_references(ten_thousand: tuple[Stack, list[str], Any]) -> None:
    stack, refs, _ = ten_thousand
    result = a.ws_cached(stack.ws_url).GetCorrespondenceStatusHistory(
        CorrespondenceSendersReferences={"string": refs}
    )
    _check(result, refs)


def test_status_history_10000_references_in_few_queries(ten_thousand: tuple[Stack, list[str], Any]) -> None:
    """The repository answers 10 000 references in a handful of statements (not one per 500 keys)."""
    from sqlalchemy.orm import Session

    from service.adapters.repositories.status import StatusRepository

    _, refs, engine = ten_thousand
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with Session(engine) as session:
            corrs, sdp = StatusRepository(session).by_references("DEMO", refs)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(corrs) == N and sdp == []
    # rows of both tables, status changes, notifications (each one statement for 10 000 keys)
    assert 3 <= len(statements) <= 6, statements
