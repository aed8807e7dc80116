"""Use cases of Altinn notifications: schedule them with the letter, and (in the delivery worker)
look up KRR where needed, send due messages by e-mail/SMS, record, retry, give up, remind.

Never twice by us: a message is claimed with a lease before it is sent and recorded ``sent`` right
after. A worker that dies *between* the SMTP server's / gateway's acceptance and our commit leaves
the claim to lapse; another worker then sends the message again (at least once in that window,
with the same ``Message-ID`` header / SMS ``reference``, so a de-duplicating relay drops it).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ..domain import notifications as dn
from ..domain import validation
from ..domain.lifecycle import backoff_delay
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
    """The worker side. ``clock`` is injectable so tests can move time without sleeping."""

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
            uow.commit()
        return len(claimed)

    # -- sending --------------------------------------------------------------------------------
    def claim(self, max_jobs: int) -> list[int]:
        with self.uow_factory() as uow:
            ids = uow.notifications.claim_due(
                self.worker_id, self.clock(), self.policy.lease_seconds, max_jobs
            )
            uow.commit()
        return ids

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

    def deliver(self, notification_id: int) -> str:
        """Send one claimed message. Returns what happened (for logs and counters)."""
        with self.uow_factory().for_reading() as uow:
            n = uow.notifications.get(notification_id)
            if n is None or n.state is not dn.NotificationState.PENDING or n.claimed_by != self.worker_id:
                return "skipped"
            letter = uow.notifications.letter(n.correspondence_id)
            assert letter is not None
        skip_reason = n.skip_reason(letter)
        if skip_reason is not None:
            return self._close(notification_id, dn.NotificationState.SKIPPED, skip_reason)
        text = self._render(n, letter)
        try:
            if n.channel is dn.Channel.EMAIL:
                sender = dn.visible_sender(n.from_address, self.policy.allowed_from)
                self.email.send_email(
                    EmailMessage(n.recipient or "", text.subject, text.body, sender, n.message_id)
                )
            else:
                self.sms.send_sms(SmsMessage(n.recipient or "", text.body, None, n.message_id))
        except ChannelRefused as exc:
            return self._close(notification_id, dn.NotificationState.FAILED, f"refused: {exc}", attempt=True)
        except ChannelUnavailable as exc:
            return self._retry_later(notification_id, str(exc))
        except Exception as exc:  # an adapter bug or misconfiguration: retry, bounded
            log.exception("notification %s: unexpected error sending", notification_id)
            return self._retry_later(notification_id, f"unexpected error: {exc}")
        return self._record_sent(notification_id)

    def _record_sent(self, notification_id: int) -> str:
        now = self.clock()
        with self.uow_factory() as uow:
            n = uow.notifications.get(notification_id, lock=True)
            assert n is not None
            if n.state is not dn.NotificationState.PENDING:
                return "skipped"
            reminder = n.record_sent(now, self.policy.reminder_days, _message_id())
            uow.notifications.mark_notified(n.correspondence_id)
            uow.notifications.save([n] if reminder is None else [n, reminder], now)
            uow.commit()
        return "sent"

    def _close(
        self, notification_id: int, state: dn.NotificationState, text: str, attempt: bool = False
    ) -> str:
        with self.uow_factory() as uow:
            n = uow.notifications.get(notification_id, lock=True)
            assert n is not None
            if n.state is not dn.NotificationState.PENDING:
                return "skipped"
            n.close(state, text, attempt)
            uow.notifications.save([n], self.clock())
            uow.commit()
        return state.value

    def _retry_later(self, notification_id: int, error: str) -> str:
        now = self.clock()
        with self.uow_factory() as uow:
            n = uow.notifications.get(notification_id, lock=True)
            assert n is not None
            if n.state is not dn.NotificationState.PENDING:
                return "skipped"
            outcome = n.retry_later(now, error, self.policy.max_attempts, self.policy.next_delay)
            uow.notifications.save([n], now)
            uow.commit()
        return outcome
