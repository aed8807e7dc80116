"""A group commit's letters stored with one multi-row INSERT per table (issue 17), on SQLite and
PostgreSQL: every row belongs to its own letter (ids correlated in order), a batch of N letters is a
handful of statements, and a repeat of a stored key fails the batch with DuplicateKey at its first
statement, with nothing of the batch stored (the group commit then stores them one by one)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text

from service.adapters.batch_insert import insert_rows
from service.adapters.db import make_engine
from service.adapters.migrate import upgrade
from service.adapters.repositories import correspondences, notifications
from service.domain import forwarding_decision, insert
from service.domain import model as dm
from service.domain.ports import DuplicateKey, Person
from service.service_layer import owners
from service.service_layer.group_commit import GroupCommit
from service.service_layer.unit_of_work import unit_of_work_factory
from tests.support import altinn as a
from tests.support.fakes import person_with_postbox

NOTIFY = {
    "Notification": [
        {
            "FromAddress": "post@etat.no",
            "NotificationType": "VarselDPVUtenRevarsel",
            "ReceiverEndPoints": {
                "ReceiverEndPoint": [{"TransportType": "Email", "ReceiverAddress": "a@b.no"}]
            },
            "TextTokens": {"TextToken": [{"TokenNum": 0, "TokenValue": "Hei"}]},
        }
    ]
}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/m.db"
        return
    base = request.getfixturevalue("postgres_url")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text("DROP DATABASE IF EXISTS multirow"))
        c.execute(text("CREATE DATABASE multirow"))
    admin.dispose()
    yield base.rsplit("/", 1)[0] + "/multirow"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text("DROP DATABASE IF EXISTS multirow WITH (FORCE)"))
    admin.dispose()


def _plans(owner_id: int, n: int, prefix: str) -> list[insert.InsertPlan]:
    """Letters of every shape in turn: Altinn only with a notification; forwarded (Digipost) with an
    Altinn copy; forward-only to a reserved person (a sub-receipt, no letter); a letter to an
    organisation forwarded with a copy."""
    now = dt.datetime.now(dt.UTC)
    out = []
    reserved = Person(a.RESERVED, "AKTIV", "JA", "KAN_IKKE_VARSLES")
    for i in range(n):
        kind = i % 4
        pdf = dm.BinaryAttachment("brev.pdf", "Brev", a.PDF + str(i).encode())
        sdp = dm.SdpOptions("ForwardOnly" if kind == 2 else "CopyAltinn", "brev.pdf", backup_altinn=kind != 2)
        reportee, person, options, extra = {
            0: (a.DIGIPOST, None, None, {"Notifications": NOTIFY}),
            1: (a.DIGIPOST, person_with_postbox(a.DIGIPOST), sdp, {}),
            2: (a.RESERVED, reserved, sdp, {}),
            3: (a.ORGANISATION, None, sdp, {}),
        }[kind]
        req = dm.InsertCorrespondence(
            "DEMO",
            f"{prefix}-{i:03d}",
            "4503",
            "1",
            reportee,
            "1044",
            f"Brev {i}",
            attachments=(pdf,),
            sdp_options=options,
            extra=extra,
        )
        rkind = "organisation" if reportee == a.ORGANISATION else "person"
        decision = forwarding_decision.decide(rkind, options, None, person, now)
        out.append(insert.plan(req, owner_id, decision, person, now))
    return out


def _setup(url: str) -> tuple[Any, Any, int]:
    from service.config import load
    from service.entrypoints.cli import ensure_demo_owners

    upgrade(url)
    engine = make_engine(url)
    uow = unit_of_work_factory(engine)
    ensure_demo_owners(
        load({"INNBYGGERPOST_DATABASE_URL": url, "INNBYGGERPOST_REQUIRE_DURABLE_DATABASE": "false"})
    )
    principal = owners.Authenticator(uow).check_password("10001", "demo-password")
    assert principal is not None
    return engine, uow, principal.owner_id


def test_a_batch_is_one_statement_per_table_and_every_row_is_its_own_letters(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, uow, owner_id = _setup(url)
    plans = _plans(owner_id, 40, "multi")
    inserts: list[str] = []  # one entry per INSERT statement (an executemany is one statement)

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:  # through SQLAlchemy
        if statement.lstrip().upper().startswith("INSERT"):
            inserts.append(statement.split("(")[0].split()[-1])

    def counted(conn: Any, table: Any, rows: Any, returning: bool = False) -> list[int]:  # raw DB-API
        if rows:
            inserts.append(table.name)
        return insert_rows(conn, table, rows, returning)

    for module in (correspondences, notifications):
        monkeypatch.setattr(module, "insert_rows", counted)
    event.listen(engine, "before_cursor_execute", count)
    try:
        with uow() as u:
            receipts = u.correspondences.add_many(plans)
            u.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # receipts twice (the main receipts, then the sub-receipts that point at them), correspondences,
    # attachments, status changes, forwardings, their status changes, the notification outbox of the
    # 10 letters with a notification, and the jobs (the send jobs of their messages and the
    # forwardings' deliver jobs): one each
    per_table = {t: inserts.count(t) for t in set(inserts)}
    assert per_table.pop("receipts") == 2, per_table
    assert per_table == {
        t: 1
        for t in (
            "correspondences",
            "attachments",
            "correspondence_status_changes",
            "forwardings",
            "sdp_status_changes",
            "notifications",
            "jobs",
        )
    }, per_table

    with engine.connect() as c:
        for plan, receipt in zip(plans, receipts, strict=True):
            ref = plan.external_shipment_reference
            row = c.execute(
                text(
                    "SELECT id, status_code FROM receipts WHERE external_shipment_reference=:r AND parent_id IS NULL"
                ),
                {"r": ref},
            ).one()
            assert (row.id, row.status_code) == (receipt.receipt_id, plan.receipt.status_code)
            subs = c.execute(
                text("SELECT id FROM receipts WHERE parent_id=:p ORDER BY id"), {"p": row.id}
            ).all()
            assert [s.id for s in subs] == [s.receipt_id for s in receipt.sub_receipts]
            assert len(subs) == len(plan.receipt.sub_receipts)
            corr = c.execute(
                text(
                    "SELECT id, receipt_id, message_title FROM correspondences WHERE external_shipment_reference=:r"
                ),
                {"r": ref},
            ).one_or_none()
            assert (corr is None) == (plan.correspondence is None), ref
            if corr is not None:
                assert corr.receipt_id == row.id and corr.message_title == plan.correspondence.message_title
                data = c.execute(
                    text("SELECT data FROM attachments WHERE correspondence_id=:c"), {"c": corr.id}
                ).scalar_one()
                assert bytes(data) == plan.correspondence.attachments[0].data
            fwd = c.execute(
                text(
                    "SELECT id, receipt_id, correspondence_id, status FROM forwardings WHERE external_shipment_reference=:r"
                ),
                {"r": ref},
            ).one_or_none()
            assert (fwd is None) == (plan.forwarding is None), ref
            if fwd is not None:
                assert fwd.receipt_id == row.id and fwd.status == plan.forwarding.status
                assert fwd.correspondence_id == (corr.id if corr is not None else None)
                deliver = c.execute(  # a forwarding to send has its deliver job, stored with it
                    text("SELECT status FROM jobs WHERE kind = 'deliver' AND reference = :m"),
                    {"m": plan.forwarding.message_id},
                ).scalar_one_or_none()
                assert deliver == ("todo" if plan.forwarding.forward else None), ref
            # the letter's own notification message, and its send job names that message
            notes = c.execute(
                text(
                    "SELECT n.id, n.recipient, j.kind, j.reference FROM notifications n "
                    "JOIN correspondences c ON c.id = n.correspondence_id "
                    "LEFT JOIN jobs j ON j.kind = 'notification' AND j.reference = CAST(n.id AS TEXT) "
                    "WHERE c.external_shipment_reference = :r"
                ),
                {"r": ref},
            ).all()
            assert len(notes) == len(plan.notifications), ref
            assert all(n.recipient == "a@b.no" and n.reference == str(n.id) for n in notes), notes
        assert c.execute(text("SELECT count(*) FROM jobs WHERE kind = 'notification'")).scalar() == 10
    engine.dispose()


def test_a_stored_key_fails_the_batch_at_its_first_statement_and_the_group_commit_recovers(url: str) -> None:
    engine, uow, owner_id = _setup(url)
    first = _plans(owner_id, 4, "dup")
    with uow() as u:
        stored = u.correspondences.add_many(first[1:2])
        u.commit()
    with pytest.raises(DuplicateKey), uow() as u:
        u.correspondences.add_many(first)
    with engine.connect() as c:
        n = c.execute(
            text(
                "SELECT count(*) FROM receipts WHERE external_shipment_reference LIKE 'dup-%' AND parent_id IS NULL"
            )
        ).scalar()
    assert n == 1  # nothing of the failed batch
    # the group commit answers the repeat with the stored receipt and stores the others
    receipts = GroupCommit(uow).store_all(first)
    assert receipts[1].receipt_id == stored[0].receipt_id
    assert len({r.receipt_id for r in receipts}) == 4
    engine.dispose()
