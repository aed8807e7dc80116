"""Use cases of Altinn notifications: schedule them with the letter, and (in the delivery worker)
look up KRR where needed, send due messages by e-mail/SMS, record, retry, give up, remind.

Each message with an address is sent by a ``notification`` job (service_layer/jobs.py: one claim
with a lease and a fencing token, one retry rule, one status vocabulary); ``Notifier`` is its
handler. Never twice by us: the outcome is recorded only while the job still carries its claim's
token. A worker that dies *between* the SMTP server's / gateway's acceptance and our commit leaves
its claim to be released (lease lapsed, or its heartbeat stopped); another worker then sends the
message again (at least once in that window, with the same ``Message-ID`` header / SMS
``reference``, so a de-duplicating relay drops it).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..domain import notifications as dn
from ..domain import validation
from ..domain.forwarding import backoff_delay
from ..domain.jobs import Job, JobKind, JobPolicy, JobStatus
from ..domain.ports import (
    ChannelRefused,
    ChannelUnavailable,
    ContactRegistry,
    EmailMessage,
    EmailSender,
    Person,
    RegistryUnavailable,
    SmsGateway,
    SmsMessage,
)
from .jobs import Outcome, apply_default
from .ports import UnitOfWorkPort
from .unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _message_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class NotificationPolicy:
    max_attempts: int = 6
    backoff_seconds: float = 2.0
    backoff_max_seconds: float = 600.0
    lease_seconds: float = 60.0
    reminder_days: float = 7.0
    # FromAddress values that may be the visible From (INNBYGGERPOST_NOTIFICATION_FROM_ADDRESSES).
    allowed_from: tuple[str, ...] = ()

    def next_delay(self, attempts: int) -> float:
        return backoff_delay(attempts, self.backoff_seconds, self.backoff_max_seconds)


def schedule_for_letter(
    uow: UnitOfWork, correspondence_id: int, person: Person | None, now: datetime | None = None
) -> int:
    """Outbox rows for a letter's ``Notifications``, in the caller's transaction (committed with the
    letter). Only for a letter with an Altinn inbox copy; at most once per letter. ``person``: KRR's
    answer when a look-up was made (else the worker looks the person up when the rows are due)."""
    when = now or _now()
    added = 0
    for src in uow.notifications.plan_sources([correspondence_id]):
        if dn.notifiable(src.altinn_status):
            added += _schedule(uow, src, person, when)
    return added


def schedule_for_copies(uow: UnitOfWorkPort, copies: Sequence[tuple[int, datetime]]) -> int:
    """Notifications of letters that just got their Altinn copy through BackupAltinn, ``(letter id,
    when)`` (in the transaction that creates the copy), with the KRR answer the forwarding stored."""
    if not copies:
        return 0
    when = min(t for _c, t in copies)
    return sum(
        _schedule(uow, src, dn.person_from_krr_record(src.reportee, src.krr), when)
        for src in uow.notifications.plan_sources([c for c, _t in copies])
    )


def _schedule(uow: UnitOfWorkPort, src: dn.PlanSource, person: Person | None, when: datetime) -> int:
    planned = dn.plan_for_letter(
        src.notifications, validation.reportee_kind(src.reportee) or "person", person, src.visible, when
    )
    return uow.notifications.add_planned(src.correspondence_id, planned, src.language_code, when)


def person_from_options(reportee: str, options: dict | None) -> Person | None:
    """The KRR answer a forwarding stored (``options["krr"]``), if it has ``varslingsstatus``."""
    return dn.person_from_krr_record(reportee, (options or {}).get("krr"))


class Notifier:
    """The worker side: KRR look-ups for messages without an address (``resolve_addresses``), and the
    handler of the ``notification`` job kind (``prepare`` / ``run`` / ``record``: one message sent per
    job). ``clock`` is injectable so tests can move time without sleeping."""

    kinds: tuple[JobKind, ...] = (JobKind.NOTIFICATION,)

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        registry: ContactRegistry,
        email: EmailSender,
        sms: SmsGateway,
        templates: dn.TemplateLibrary,
        policy: NotificationPolicy,
        worker_id: str,
        inbox_url: str = "",
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.uow_factory = uow_factory
        self.registry = registry
        self.email = email
        self.sms = sms
        self.templates = templates
        self.policy = policy
        self.worker_id = worker_id
        self.inbox_url = inbox_url
        self.clock = clock

    @property
    def job_policy(self) -> JobPolicy:
        """The jobs' one retry rule with the notifications' own limits."""
        p = self.policy
        return JobPolicy(p.max_attempts, p.backoff_seconds, p.backoff_max_seconds, p.lease_seconds)

    # -- KRR look-ups for rows whose address only KRR knows ---------------------------------------
    def resolve_addresses(self, limit: int = 1000) -> int:
        """Claim due rows without an address, look their persons up in one batched KRR call, and
        turn each row into its messages (a ``Both`` endpoint becomes two rows) or a final outcome."""
        now = self.clock()
        with self.uow_factory() as uow:
            claimed = uow.notifications.claim_unresolved(
                self.worker_id, now, self.policy.lease_seconds, limit
            )
            uow.commit()
        if not claimed:
            return 0
        ids = sorted({reportee for _, reportee in claimed})
        try:
            persons = self.registry.hent_personer(ids)
        except RegistryUnavailable as exc:
            log.warning("notifications: KRR unavailable (%s); %d rows wait for the lease", exc, len(claimed))
            return 0
        with self.uow_factory() as uow:
            changed: list[dn.AltinnNotification] = []
            for stale, reportee in claimed:
                n = uow.notifications.get(stale.id or 0, lock=True)
                if n is None or n.state is not dn.NotificationState.PENDING or n.claimed_by != self.worker_id:
                    continue
                more = n.resolve(dn.contact_from_krr(persons.get(reportee)), _message_id)
                changed += [n, *more]
            uow.notifications.save(changed, now)
            uow.jobs.add([j for n in changed if (j := n.send_job(now)) is not None], now)
            uow.commit()
        return len(claimed)

    # -- sending: the ``notification`` job kind (service_layer/jobs.py claims, leases, fences, retries)
    def prepare(self, uow: UnitOfWork, jobs: Sequence[Job]) -> dict[int, Any]:
        """Per job: the message and its text, or why it is not sent (a ``_Skip``)."""
        found = uow.notifications.by_ids([int(j.reference) for j in jobs])
        letters = uow.notifications.letters({n.correspondence_id for n in found.values()})
        out: dict[int, Any] = {}
        for j in jobs:
            n = found.get(int(j.reference))
            if n is None or n.state is not dn.NotificationState.PENDING or n.channel is None:
                out[j.id] = _Skip("the notification is no longer pending", final=False)
                continue
            letter = letters[n.correspondence_id]
            reason = n.skip_reason(letter)
            out[j.id] = _Skip(reason) if reason is not None else (n, self._render(n, letter))
        return out

    def run(self, job: Job, work: Any) -> Outcome:
        """Send one message (no database transaction held)."""
        if isinstance(work, _Skip):
            return Outcome("cancel", error=work.reason, data=work)
        n, text = work
        try:
            if n.channel is dn.Channel.EMAIL:
                sender = dn.visible_sender(n.from_address, self.policy.allowed_from)
                self.email.send_email(
                    EmailMessage(n.recipient or "", text.subject, text.body, sender, n.message_id)
                )
            else:
                self.sms.send_sms(SmsMessage(n.recipient or "", text.body, None, n.message_id))
        except ChannelRefused as exc:
            return Outcome.fail(f"refused: {exc}")
        except ChannelUnavailable as exc:
            return Outcome.retry(str(exc))
        except Exception as exc:  # an adapter bug or misconfiguration: retried by the one rule, bounded
            log.exception("notification %s: unexpected error sending", job.reference)
            return Outcome.retry(f"unexpected error: {exc}")
        return Outcome.succeed()

    def record(self, uow: UnitOfWork, job: Job, outcome: Outcome, now: datetime) -> None:
        """The job's transition and the message's, in the transaction that saves the job (only while
        the job carries its claim's fencing token)."""
        n = uow.notifications.get(int(job.reference), lock=True)
        pending = n is not None and n.state is dn.NotificationState.PENDING
        if outcome.kind == "cancel" or n is None or not pending:
            job.cancel(now, outcome.error or "the notification is no longer pending")
            skip = outcome.data
            if n is not None and pending and isinstance(skip, _Skip) and skip.final:
                n.close(dn.NotificationState.SKIPPED, skip.reason)
                uow.notifications.save([n], now)
            return
        apply_default(job, outcome, now, self.job_policy)
        if outcome.kind == "succeed":
            reminder = n.record_sent(now, job.attempts, self.policy.reminder_days, _message_id())
            uow.notifications.mark_notified(n.correspondence_id)
            uow.notifications.save([n] if reminder is None else [n, reminder], now)
            if reminder is not None and (follow := reminder.send_job(now)) is not None:
                job.follow_ups.append(follow)
        elif job.status is JobStatus.FAILED:
            n.close(dn.NotificationState.FAILED, job.last_error or outcome.error, job.attempts)
            uow.notifications.save([n], now)
        else:
            n.retry_at(job.run_after, job.attempts, outcome.error)
            uow.notifications.save([n], now)

    def _render(self, n: dn.AltinnNotification, letter: dn.NotifiedLetter) -> dn.Text:
        fields = {
            "title": letter.title,
            "sender": letter.sender,
            "reportee": letter.reportee,
            "inbox_url": self.inbox_url,
        }
        return self.templates.render(
            n.notification_type,
            n.language_code,
            dn.Channel(n.channel or ""),
            n.text_tokens,
            fields,
            reminder=n.is_reminder,
        )


@dataclass(frozen=True)
class _Skip:
    """Not sent: ``final`` -> the message is ``skipped`` with the reason; else it was settled already."""

    reason: str
    final: bool = True
