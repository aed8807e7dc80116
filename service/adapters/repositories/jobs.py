"""The ``jobs`` table (service/domain/jobs.py): enqueue, claim with a lease and a fencing token, renew,
release a dead worker's jobs, lock what this worker still holds, save outcomes; and the reads and
writes of the Altinn copy's jobs (their letters, status changes, fallback copies to enqueue).

Claiming: PostgreSQL ``FOR UPDATE SKIP LOCKED`` (claimers never wait for each other); SQLite has
one writer at a time (the write transaction starts with ``BEGIN IMMEDIATE``). Every claim writes a
new ``claim_token``; an outcome is written only for rows that still carry the token they were
claimed with (``lock_held``). Every method runs in the caller's unit of work; none commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, exists, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ...domain.altinn_copy import CopySource
from ...domain.jobs import Job, JobKind, JobStatus, NewJob
from ...domain.model import CorrespondenceStatus
from ...domain.ports import Document
from .. import orm

J = orm.Job
JOBS = cast(Table, J.__table__)
C = orm.Correspondence
CS = cast(Table, orm.CorrespondenceStatusChange.__table__)


@dataclass(frozen=True)
class JobClaim:
    token: str
    jobs: list[Job]


_KINDS = {str(k): k for k in JobKind}
_STATUSES = {str(s): s for s in JobStatus}


def _job(row: Any) -> Job:
    return Job(
        id=row.id,
        kind=_KINDS[row.kind],
        reference=row.reference,
        status=_STATUSES[row.status],
        attempts=row.attempts,
        run_after=row.run_after,
        payload=dict(row.payload or {}),
        external_id=row.external_id,
        last_error=row.last_error,
        updated_at=row.updated_at,
    )


def job_rows(jobs: Iterable[NewJob], now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "kind": str(j.kind),
            "reference": j.reference,
            "payload": j.payload,
            "status": str(JobStatus.TODO),
            "attempts": 0,
            "run_after": j.run_after,
            "claimed_by": None,
            "claimed_until": None,
            "claim_token": None,
            "external_id": j.external_id,
            "last_error": None,
            "created_at": now,
            "updated_at": now,
        }
        for j in jobs
    ]


class JobRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    # -- enqueue ---------------------------------------------------------------------------------
    def add(self, jobs: Iterable[NewJob], now: datetime) -> int:
        """Enqueue; a job of the same (kind, reference) already there is left as it is."""
        rows = job_rows(jobs, now)
        if not rows:
            return 0
        dialect_insert = postgresql.insert if self._postgres else sqlite.insert
        result = self.session.execute(
            dialect_insert(JOBS).values(rows).on_conflict_do_nothing(index_elements=["kind", "reference"])
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # -- claims and leases -----------------------------------------------------------------------
    def any_due(self, kinds: Collection[JobKind], now: datetime) -> bool:
        """A cheap read (no write lock on SQLite): is there a job to claim?"""
        return (
            self.session.scalar(
                select(J.id)
                .where(
                    J.status == str(JobStatus.TODO),
                    J.kind.in_([str(k) for k in kinds]),
                    J.run_after <= now,
                    or_(J.claimed_until.is_(None), J.claimed_until < now),
                )
                .limit(1)
            )
            is not None
        )

    def any_claimed(self) -> bool:
        return self.session.scalar(select(J.id).where(J.claimed_by.is_not(None)).limit(1)) is not None

    def claim(
        self,
        worker_id: str,
        kinds: Collection[JobKind],
        now: datetime,
        lease_seconds: float,
        limit: int,
        running: Collection[int] = (),
    ) -> JobClaim:
        token = uuid.uuid4().hex
        query = (
            select(J.id)
            .where(
                J.status == str(JobStatus.TODO),
                J.kind.in_([str(k) for k in kinds]),
                J.run_after <= now,
                or_(J.claimed_until.is_(None), J.claimed_until < now),
            )
            .order_by(J.run_after, J.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if running:
            query = query.where(J.id.not_in(list(running)))
        ids = list(self.session.scalars(query))
        if not ids:
            return JobClaim(token, [])
        self.session.execute(
            update(J)
            .where(J.id.in_(ids))
            .values(
                claimed_by=worker_id, claimed_until=now + timedelta(seconds=lease_seconds), claim_token=token
            )
            .execution_options(synchronize_session=False)
        )
        rows = self.session.execute(select(JOBS).where(J.id.in_(ids)).order_by(J.id))
        return JobClaim(token, [_job(r) for r in rows])

    def renew(self, worker_id: str, tokens: Collection[str], until: datetime) -> int:
        if not tokens:
            return 0
        held = select(J.id).where(
            J.claimed_by == worker_id, J.claim_token.in_(list(tokens)), J.status == str(JobStatus.TODO)
        )
        return self._update_unlocked(held, claimed_until=until)

    def release_stale(self, heartbeat_before: datetime, worker_id: str) -> int:
        H = orm.WorkerHeartbeat
        stale = select(H.worker_id).where(H.last_seen < heartbeat_before, H.worker_id != worker_id)
        orphans = select(J.id).where(
            J.status == str(JobStatus.TODO), J.claimed_by.in_(stale.scalar_subquery())
        )
        return self._update_unlocked(orphans, claimed_by=None, claimed_until=None, claim_token=None)

    def _update_unlocked(self, rows: Any, **values: Any) -> int:
        ids = rows.order_by(J.id).with_for_update(skip_locked=True).scalar_subquery()
        result = self.session.execute(
            update(J).where(J.id.in_(ids)).values(**values).execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def lock_held(self, held: Mapping[int, str]) -> dict[int, Job]:
        """Lock and load the jobs still carrying the claim token given (id -> token)."""
        if not held:
            return {}
        rows = self.session.execute(  # plain rows (no ORM objects): the hot path of every record
            select(JOBS).where(J.id.in_(sorted(held))).order_by(J.id).with_for_update()
        )
        return {r.id: _job(r) for r in rows if r.claim_token is not None and r.claim_token == held[r.id]}

    def save(self, jobs: Iterable[Job], now: datetime, release_claim: bool = True) -> None:
        """Write the jobs' state (and enqueue their follow-ups); release their claims."""
        todo = [j for j in jobs if j.changed or release_claim]
        if not todo:
            return
        t = JOBS
        values: dict[str, Any] = {
            "status": bindparam("b_status"),
            "attempts": bindparam("b_attempts"),
            "run_after": bindparam("b_run_after", type_=t.c.run_after.type),
            "external_id": bindparam("b_external"),
            "last_error": bindparam("b_error"),
            "updated_at": bindparam("b_updated", type_=t.c.updated_at.type),
        }
        if release_claim:
            values.update(claimed_by=None, claimed_until=None, claim_token=None)
        self.session.execute(
            t.update().where(t.c.id == bindparam("b_id")).values(values),
            [
                {
                    "b_id": j.id,
                    "b_status": str(j.status),
                    "b_attempts": j.attempts,
                    "b_run_after": j.run_after,
                    "b_external": j.external_id,
                    "b_error": j.last_error,
                    "b_updated": j.updated_at or now,
                }
                for j in todo
            ],
        )
        follow = [f for j in todo for f in j.follow_ups]
        if follow:
            self.add(follow, now)
        for j in todo:
            j.changed = False
            j.follow_ups.clear()

    def cancel(self, kind: JobKind, references: Collection[str], reason: str, now: datetime) -> int:
        """Cancel these jobs still to do (and not held by a worker: a held one's handler settles it)."""
        if not references:
            return 0
        result = self.session.execute(
            update(J)
            .where(
                J.kind == str(kind),
                J.reference.in_(list(references)),
                J.status == str(JobStatus.TODO),
                J.claim_token.is_(None),
            )
            .values(status=str(JobStatus.CANCELLED), last_error=reason, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def finish(self, kind: JobKind, references: Collection[str], now: datetime) -> int:
        """Mark these jobs still to do ``succeeded`` (their work was finished from outside: a vendor
        receipt made a forwarding final). A job held by a worker, or locked by another transaction,
        is left alone: its handler sees the work finished and settles it itself."""
        if not references:
            return 0
        free = select(J.id).where(
            J.kind == str(kind),
            J.reference.in_(list(references)),
            J.status == str(JobStatus.TODO),
            J.claim_token.is_(None),
        )
        return self._update_unlocked(free, status=str(JobStatus.SUCCEEDED), updated_at=now)

    def wake(self, kind: JobKind, external_ids: Collection[str], now: datetime) -> int:
        """Run these jobs (by the other side's id) now: an Altinn event says there is news."""
        if not external_ids:
            return 0
        result = self.session.execute(
            update(J)
            .where(
                J.kind == str(kind), J.external_id.in_(list(external_ids)), J.status == str(JobStatus.TODO)
            )
            .values(run_after=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # -- reads for status ------------------------------------------------------------------------
    def for_references(self, kinds: Collection[JobKind], references: Collection[str]) -> list[Job]:
        if not references:
            return []
        rows = self.session.execute(
            select(JOBS)
            .where(J.kind.in_([str(k) for k in kinds]), J.reference.in_(list(references)))
            .order_by(J.id)
        )
        return [_job(r) for r in rows]

    # -- the Altinn copy -------------------------------------------------------------------------
    def copy_sources(self, correspondence_ids: Collection[int]) -> dict[int, CopySource]:
        """The letters of ``inbox_copy`` jobs with their sender, service mapping and attachments."""
        if not correspondence_ids:
            return {}
        Own, S = orm.ServiceOwner, orm.OwnerService
        rows = self.session.execute(
            select(
                C.id,
                C.system_user_code,
                C.external_shipment_reference,
                C.service_code,
                C.service_edition,
                C.reportee,
                C.language_code,
                C.message_title,
                C.message_summary,
                C.message_body,
                C.visible_date_time,
                C.due_date_time,
                C.allow_forwarding,
                C.contract_fields,
                Own.organisation_number,
                Own.name,
                S.altinn3_resource_id,
                S.requires_confirmation,
            )
            .join(Own, Own.id == C.owner_id)
            .outerjoin(S, and_(S.service_code == C.service_code, S.service_edition == C.service_edition))
            .where(C.id.in_(list(correspondence_ids)))
        ).all()
        A = orm.Attachment
        files: dict[int, list[Document]] = {}
        for a in self.session.execute(
            select(A.correspondence_id, A.file_name, A.name, A.data)
            .where(A.correspondence_id.in_(list(correspondence_ids)))
            .order_by(A.id)
        ):
            files.setdefault(a.correspondence_id, []).append(
                Document(a.file_name, a.name or a.file_name, _mime(a.file_name), a.data)
            )
        return {
            r.id: CopySource(
                correspondence_id=r.id,
                owner_orgnr=r.organisation_number,
                owner_name=r.name,
                system_user_code=r.system_user_code,
                reference=r.external_shipment_reference,
                service_code=r.service_code,
                service_edition=r.service_edition,
                resource_id=r.altinn3_resource_id,
                requires_confirmation=bool(r.requires_confirmation),
                reportee=r.reportee,
                language_code=r.language_code,
                title=r.message_title,
                summary=r.message_summary,
                body=r.message_body,
                visible_date_time=r.visible_date_time,
                due_date_time=r.due_date_time,
                allow_forwarding=r.allow_forwarding,
                contract_fields=dict(r.contract_fields or {}),
                attachments=tuple(files.get(r.id, ())),
            )
            for r in rows
        }

    def status_changes(self, correspondence_id: int) -> list[tuple[str, datetime]]:
        return [
            (s, d)
            for s, d in self.session.execute(
                select(CS.c.status, CS.c.status_date)
                .where(CS.c.correspondence_id == correspondence_id)
                .order_by(CS.c.id)
            )
        ]

    def record_status(
        self, correspondence_id: int, changes: list[tuple[CorrespondenceStatus, datetime]]
    ) -> None:
        """New StatusChangeV2 entries of the copy, and its current status."""
        if not changes:
            return
        self.session.execute(
            insert(CS),
            [
                {"correspondence_id": correspondence_id, "status": str(s), "status_date": d}
                for s, d in changes
            ],
        )
        self.session.execute(
            update(C)
            .where(C.id == correspondence_id)
            .values(altinn_status=str(changes[-1][0]))
            .execution_options(synchronize_session=False)
        )

    def copies_without_job(self, since: datetime, limit: int) -> list[int]:
        """Letters given an Altinn copy after insert (the BackupAltinn fallback) and not yet enqueued:
        a forwarding given up with BackupAltinn whose letter has an Altinn status."""
        F = orm.Forwarding
        rows = self.session.scalars(
            select(F.correspondence_id)
            .join(C, C.id == F.correspondence_id)
            .where(
                F.backup_altinn.is_(True),
                F.last_changed >= since,
                C.altinn_status.is_not(None),
                ~exists().where(
                    J.kind == str(JobKind.INBOX_COPY), J.reference == _as_text(F.correspondence_id)
                ),
            )
            .order_by(F.correspondence_id)
            .limit(limit)
        )
        return [int(r) for r in rows if r is not None]


def _as_text(column: Any) -> Any:
    from sqlalchemy import String
    from sqlalchemy import cast as sa_cast

    return sa_cast(column, String)


def _mime(file_name: str | None) -> str:
    import mimetypes

    return mimetypes.guess_type(file_name or "")[0] or "application/octet-stream"
