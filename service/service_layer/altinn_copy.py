"""Use cases of the Altinn copy (service/domain/altinn_copy.py): the two job handlers and the
enqueuing of copies made after insert.

- ``CopyHandler`` (``inbox_copy``): the letter -> ``AltinnInbox.publish``; success stores the
  copy's id and enqueues its ``inbox_status`` job; ``InboxRefused`` (a problem document, a service
  without a resource) fails the job with the reason; ``InboxUnavailable`` retries by the one rule.
- ``StatusHandler`` (``inbox_status``): ``AltinnInbox.status`` -> new ``StatusChangeV2`` entries
  (Read, Confirmed, Reserved with Altinn's times) and the copy's current status; runs again every
  ``poll_seconds`` until the status is final (an Altinn event wakes it at once: ``wake``);
  ``Failed`` at Altinn fails the job with Altinn's status text.
- ``enqueue_fallback_copies``: letters given an Altinn copy by the BackupAltinn fallback (the
  delivery side sets their Altinn status) get their ``inbox_copy`` job.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..domain import altinn_copy
from ..domain import notifications as dn
from ..domain.jobs import Job, JobKind, JobPolicy, NewJob
from ..domain.ports import AltinnInbox, CopyStatus, InboxRefused, InboxUnavailable
from .jobs import Outcome, apply_default
from .unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("innbyggerpost.altinn_copy")
NOTIFIED_BY_ALTINN = "sent by Altinn 3 with the copy (INNBYGGERPOST_INBOX_BACKEND=altinn3)"


def copy_job(correspondence_id: int, now: datetime) -> NewJob:
    return NewJob(JobKind.INBOX_COPY, str(correspondence_id), now)


@dataclass
class CopyHandler:
    inbox: AltinnInbox
    policy: JobPolicy
    poll_seconds: float
    templates: dn.TemplateLibrary | None = None
    inbox_url: str = ""
    kinds: tuple[JobKind, ...] = (JobKind.INBOX_COPY,)

    def prepare(self, uow: UnitOfWork, jobs: Sequence[Job]) -> dict[int, Any]:
        sources = uow.jobs.copy_sources([int(j.reference) for j in jobs])
        out: dict[int, Any] = {}
        for j in jobs:
            src = sources.get(int(j.reference))
            if src is None:
                out[j.id] = InboxRefused(f"letter {j.reference} not found")
                continue
            try:
                out[j.id] = (
                    altinn_copy.letter(src, self.templates, self.inbox_url),
                    src.requires_confirmation,
                )
            except altinn_copy.MissingResource as exc:
                out[j.id] = InboxRefused(str(exc))
        return out

    def run(self, job: Job, work: Any) -> Outcome:
        if isinstance(work, InboxRefused):
            return Outcome.fail(work.reason)
        letter, confirmation = work
        try:
            copy = self.inbox.publish(letter)
        except InboxRefused as exc:
            return Outcome.fail(exc.reason)
        except InboxUnavailable as exc:
            return Outcome.retry(str(exc))
        return Outcome.succeed(copy.correspondence_id, data={"confirmation_needed": confirmation})

    def record(self, uow: UnitOfWork, job: Job, outcome: Outcome, now: datetime) -> None:
        apply_default(job, outcome, now, self.policy)
        if outcome.kind == "succeed" and outcome.external_id:
            job.follow_ups.append(
                NewJob(
                    JobKind.INBOX_STATUS,
                    job.reference,
                    now + timedelta(seconds=self.poll_seconds),
                    payload=dict(outcome.data or {}),
                    external_id=outcome.external_id,
                )
            )
        if outcome.kind == "fail":
            log.warning("Altinn copy of letter %s failed: %s", job.reference, outcome.error)


@dataclass
class StatusHandler:
    inbox: AltinnInbox
    policy: JobPolicy
    poll_seconds: float
    kinds: tuple[JobKind, ...] = (JobKind.INBOX_STATUS,)

    def prepare(self, uow: UnitOfWork, jobs: Sequence[Job]) -> dict[int, Any]:
        return {}

    def run(self, job: Job, work: Any) -> Outcome:
        if not job.external_id:
            return Outcome.fail("no Altinn 3 correspondence id")
        try:
            return Outcome.succeed(data=self.inbox.status(job.external_id))
        except InboxRefused as exc:
            return Outcome.fail(exc.reason)
        except InboxUnavailable as exc:
            return Outcome.retry(str(exc))

    def record(self, uow: UnitOfWork, job: Job, outcome: Outcome, now: datetime) -> None:
        status = outcome.data
        if outcome.kind != "succeed" or not isinstance(status, CopyStatus):
            apply_default(job, outcome, now, self.policy)
            return
        cid = int(job.reference)
        changes = altinn_copy.status_changes(status, uow.jobs.status_changes(cid))
        uow.jobs.record_status(cid, changes)
        if status.status == "Failed":
            job.fail(now, f"Altinn 3: the correspondence failed ({status.status})")
        elif altinn_copy.final(status, bool(job.payload.get("confirmation_needed"))):
            job.succeed(now)
        else:
            job.reschedule(now, self.poll_seconds)


def wake(uow_factory: UnitOfWorkFactory, correspondence_ids: Collection[str], now: datetime) -> int:
    """An Altinn event names these correspondences: read their status now (never trusting the event's
    own claim: the status job asks Altinn)."""
    with uow_factory() as uow:
        n = uow.jobs.wake(JobKind.INBOX_STATUS, correspondence_ids, now)
        uow.commit()
    return n


def enqueue_fallback_copies(
    uow_factory: UnitOfWorkFactory, now: datetime, window_seconds: float, limit: int = 500
) -> int:
    """Enqueue the ``inbox_copy`` job of letters the BackupAltinn fallback gave an Altinn copy (their
    local notification rows are skipped: Altinn sends them with the copy)."""
    with uow_factory() as uow:
        ids = uow.jobs.copies_without_job(now - timedelta(seconds=window_seconds), limit)
        if not ids:
            return 0
        uow.jobs.add([copy_job(i, now) for i in ids], now)
        skipped = uow.notifications.skip_pending(ids, NOTIFIED_BY_ALTINN)
        uow.jobs.cancel(JobKind.NOTIFICATION, [str(i) for i in skipped], NOTIFIED_BY_ALTINN, now)
        uow.commit()
    return len(ids)
