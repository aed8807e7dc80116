"""Durable jobs: the one life cycle of outbound work (after procrastinate's jobs). Pure: no I/O.

A job is a row of the ``jobs`` table: a ``kind`` (which handler runs it), a ``reference`` (what it
is about: for ``inbox_copy`` and ``inbox_status`` our CorrespondenceID, for ``notification`` the
notification message's id, for ``deliver`` the forwarding's message id: the SBDH InstanceIdentifier),
a ``payload``, and::

    status:   todo --claim--> (todo, leased: claimed_by/claimed_until/claim_token)
                  --succeed--> succeeded
                  --retry_later (attempts < max)--> todo, run_after = now + backoff
                  --retry_later (attempts = max) / fail--> failed (last_error says why)
                  --reschedule(delay)--> todo, run_after = now + delay   (periodic jobs: status polls)
                  --cancel--> cancelled (nothing to do any more: a notification of a letter now read)

The status vocabulary (``todo``, ``succeeded``, ``failed``, ``cancelled``) is procrastinate's; a job
being worked on stays ``todo`` with a live lease, so a dead worker's job needs no repair: its lease
lapses (or the keeper releases it when the worker's heartbeat stops) and another worker claims it.
Every claim writes a new fencing token; an outcome is written only while the row carries the token
it was claimed with. One retry rule for every kind: ``domain.forwarding.backoff_delay``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .forwarding import backoff_delay

TEXT_LIMIT = 2000


class JobStatus(enum.StrEnum):
    TODO = "todo"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobKind(enum.StrEnum):
    INBOX_COPY = "inbox_copy"  # publish a letter's Altinn copy (AltinnInbox.publish)
    INBOX_STATUS = "inbox_status"  # read the copy's status back (AltinnInbox.status), until final
    NOTIFICATION = "notification"  # send one Altinn notification message (e-mail / SMS); reference: its id
    DELIVER = "deliver"  # send a forwarding to its postbox vendor, then await its receipt; ref: message id


class IllegalJobTransition(Exception):
    pass


@dataclass(frozen=True)
class JobPolicy:
    max_attempts: int = 6
    backoff_seconds: float = 2.0
    backoff_max_seconds: float = 600.0
    lease_seconds: float = 60.0

    def next_delay(self, attempts: int) -> float:
        return backoff_delay(attempts, self.backoff_seconds, self.backoff_max_seconds)


@dataclass(frozen=True)
class NewJob:
    kind: JobKind
    reference: str
    run_after: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    external_id: str | None = None


@dataclass
class Job:
    id: int
    kind: JobKind
    reference: str
    status: JobStatus
    attempts: int
    run_after: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    external_id: str | None = None  # the other side's id (Altinn 3's correspondenceId)
    last_error: str | None = None
    updated_at: datetime | None = None
    changed: bool = False
    follow_ups: list[NewJob] = field(default_factory=list)

    def _require_todo(self, what: str) -> None:
        if self.status is not JobStatus.TODO:
            raise IllegalJobTransition(f"job {self.id} ({self.kind}) is {self.status}: cannot {what}")

    def succeed(self, now: datetime, external_id: str | None = None) -> None:
        self._require_todo("succeed")
        self.attempts += 1
        self.status = JobStatus.SUCCEEDED
        if external_id is not None:
            self.external_id = external_id
        self.last_error = None
        self.updated_at = now
        self.changed = True

    def fail(self, now: datetime, error: str) -> None:
        self._require_todo("fail")
        self.attempts += 1
        self.status = JobStatus.FAILED
        self.last_error = error[:TEXT_LIMIT]
        self.updated_at = now
        self.changed = True

    def cancel(self, now: datetime, reason: str) -> None:
        """Nothing to do any more (a notification whose letter left the inbox): final, not run."""
        self._require_todo("cancel")
        self.status = JobStatus.CANCELLED
        self.last_error = reason[:TEXT_LIMIT]
        self.updated_at = now
        self.changed = True

    def retry_later(self, now: datetime, error: str, policy: JobPolicy) -> None:
        """A temporary failure: again after the backoff, or ``failed`` after ``max_attempts``."""
        self._require_todo("retry")
        if self.attempts + 1 >= policy.max_attempts:
            self.fail(now, f"given up after {self.attempts + 1} attempts: {error}")
            return
        self.attempts += 1
        self.last_error = error[:TEXT_LIMIT]
        self.run_after = now + timedelta(seconds=policy.next_delay(self.attempts))
        self.updated_at = now
        self.changed = True

    def reschedule(self, now: datetime, delay_seconds: float) -> None:
        """A periodic job ran fine and wants to run again (a status poll of a copy not yet final)."""
        self._require_todo("reschedule")
        self.attempts = 0
        self.last_error = None
        self.run_after = now + timedelta(seconds=delay_seconds)
        self.updated_at = now
        self.changed = True

    def describe(self) -> str:
        """One line for ``innbyggerpost status``."""
        parts = [f"{self.kind}: {self.status}"]
        if self.attempts:
            parts.append(f"attempts {self.attempts}")
        if self.status is JobStatus.TODO:
            parts.append(f"next run {self.run_after.isoformat(timespec='seconds')}")
        if self.external_id:
            parts.append(f"Altinn 3 id {self.external_id}")
        if self.last_error:
            parts.append(f"last error: {self.last_error}")
        return "; ".join(parts)
