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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..adapters import orm
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
from .unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _pending_like(
    row: orm.NotificationRow, now: datetime, due: datetime | None, **fields: object
) -> orm.NotificationRow:
    """A new pending message of the same notification as ``row`` (another channel, or its reminder)."""
    return orm.NotificationRow(
        correspondence_id=row.correspondence_id,
        notification_index=row.notification_index,
        endpoint_index=row.endpoint_index,
        transport_type=row.transport_type,
        from_address=row.from_address,
        notification_type=row.notification_type,
        language_code=row.language_code,
        text_tokens=row.text_tokens,
        message_id=str(uuid.uuid4()),
        state=dn.NotificationState.PENDING.value,
        status_text="",
        attempts=0,
        next_attempt_at=due,
        created_at=now,
        **fields,
    )


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
    uow: UnitOfWork, corr: orm.Correspondence, person: Person | None, now: datetime | None = None
) -> int:
    """Outbox rows for a letter's ``Notifications``, in the caller's transaction (committed with the
    letter). Only for a letter with an Altinn inbox copy; at most once per letter. ``person``: KRR's
    answer when a look-up was made (else the worker looks the person up when the rows are due)."""
    if not dn.notifiable(corr.altinn_status) or uow.notifications.exist_for(corr.id):
        return 0
    when = now or _now()
    planned = dn.plan_for_letter(
        (corr.contract_fields or {}).get("Notifications"),
        validation.reportee_kind(corr.reportee) or "person",
        person,
        corr.visible_date_time,
        when,
    )
    return uow.notifications.add_planned(corr.id, planned, corr.language_code, when)


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
            for stale, reportee in claimed:
                row = uow.notifications.get(stale.id, lock=True)
                if row is None or row.state != "pending" or row.claimed_by != self.worker_id:
                    continue
                endpoint = dn.ReceiverEndPoint(row.transport_type, None)
                res = dn.resolve(endpoint, "person", dn.contact_from_krr(persons.get(reportee)))
                row.claimed_by = row.claimed_until = None
                if res.no_address_reason is not None:
                    row.state = dn.NotificationState.NO_ADDRESS.value
                    row.status_text = res.no_address_reason
                    row.next_attempt_at = None
                    continue
                first, *more = res.messages
                row.channel, row.recipient = first.channel.value, first.recipient
                for m in more:
                    uow.notifications.add(
                        _pending_like(
                            row, now, row.next_attempt_at, channel=m.channel.value, recipient=m.recipient
                        )
                    )
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

    def _render(self, uow: UnitOfWork, row: orm.NotificationRow, corr: orm.Correspondence) -> dn.Text:
        sender = (corr.contract_fields or {}).get("MessageSender") or uow.notifications.owner_name(
            corr.owner_id
        )
        letter = {
            "title": corr.message_title or "",
            "sender": str(sender),
            "reportee": corr.reportee,
            "inbox_url": self.inbox_url,
        }
        return self.templates.render(
            row.notification_type,
            row.language_code,
            dn.Channel(row.channel or ""),
            [(int(n), str(v)) for n, v in row.text_tokens],
            letter,
            reminder=row.reminder_of is not None,
        )

    def deliver(self, notification_id: int) -> str:
        """Send one claimed message. Returns what happened (for logs and counters)."""
        skip_reason: str | None = None
        with self.uow_factory().for_reading() as uow:
            row = uow.notifications.get(notification_id)
            if row is None or row.state != "pending" or row.claimed_by != self.worker_id:
                return "skipped"
            corr = uow.notifications.letter(row.correspondence_id)
            assert corr is not None
            if not dn.notifiable(corr.altinn_status):
                skip_reason = f"not sent: the letter is not in the Altinn inbox ({corr.altinn_status})"
            elif row.reminder_of is not None and not dn.reminder_wanted(corr.altinn_status):
                skip_reason = f"no reminder: the letter is {corr.altinn_status}"
            else:
                text = self._render(uow, row, corr)
                channel, recipient = dn.Channel(row.channel or ""), row.recipient or ""
                from_address, message_id = row.from_address, row.message_id
        if skip_reason is not None:
            return self._close(notification_id, dn.NotificationState.SKIPPED, skip_reason)
        try:
            if channel is dn.Channel.EMAIL:
                sender = dn.visible_sender(from_address, self.policy.allowed_from)
                self.email.send_email(EmailMessage(recipient, text.subject, text.body, sender, message_id))
            else:
                self.sms.send_sms(SmsMessage(recipient, text.body, None, message_id))
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
            row = uow.notifications.get(notification_id, lock=True)
            assert row is not None
            if row.state != "pending":
                return "skipped"
            row.state = dn.NotificationState.SENT.value
            row.sent_at = now
            row.attempts += 1
            row.status_text = f"sent to {row.recipient}"
            row.claimed_by = row.claimed_until = None
            row.next_attempt_at = None
            corr = uow.notifications.letter(row.correspondence_id)
            assert corr is not None
            corr.notification_sent = True
            if row.reminder_of is None and dn.has_reminder(row.notification_type):
                uow.notifications.add(
                    _pending_like(
                        row,
                        now,
                        dn.reminder_due(now, self.policy.reminder_days),
                        channel=row.channel,
                        recipient=row.recipient,
                        reminder_of=row.id,
                    )
                )
            uow.commit()
        return "sent"

    def _close(
        self, notification_id: int, state: dn.NotificationState, text: str, attempt: bool = False
    ) -> str:
        with self.uow_factory() as uow:
            row = uow.notifications.get(notification_id, lock=True)
            assert row is not None
            if row.state != "pending":
                return "skipped"
            row.state = state.value
            row.status_text = text[:2000]
            row.attempts += int(attempt)
            row.claimed_by = row.claimed_until = None
            row.next_attempt_at = None
            uow.commit()
        return state.value

    def _retry_later(self, notification_id: int, error: str) -> str:
        with self.uow_factory() as uow:
            row = uow.notifications.get(notification_id, lock=True)
            assert row is not None
            if row.state != "pending":
                return "skipped"
            row.attempts += 1
            row.status_text = error[:2000]
            if row.attempts >= self.policy.max_attempts:
                row.state = dn.NotificationState.FAILED.value
                row.status_text = f"given up after {row.attempts} attempts: {error}"[:2000]
                row.next_attempt_at = None
                outcome = "gave_up"
            else:
                row.next_attempt_at = self.clock() + timedelta(seconds=self.policy.next_delay(row.attempts))
                outcome = "retry"
            row.claimed_by = row.claimed_until = None
            uow.commit()
        return outcome
