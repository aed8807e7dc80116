"""``ReceiptExternal``: the answer to an insert, stored with the letter and answered again on a repeat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from .model import ReceiptStatus


def history_line(when: datetime, status: str, text: str) -> str:
    """One ``ReceiptHistory`` line as Altinn writes it: ``<date> - <status> - <text>``."""
    return f"{when.astimezone(UTC).strftime('%d.%m.%Y %H:%M:%S')} - {status} - {text}"


@dataclass(frozen=True)
class Receipt:
    """``ReceiptExternal``. ``receipt_id`` 0: not stored (``ValidationFailed``). A sub-receipt (the
    forwarding outcome) has ``parent_receipt_id`` set."""

    receipt_id: int
    status_code: str
    text: str
    history: str
    last_changed: datetime
    references: tuple[tuple[str, str], ...]  # (ReferenceTypeName, ReferenceValue)
    parent_receipt_id: int = 0
    sub_receipts: tuple[Receipt, ...] = ()

    @classmethod
    def new(cls, status: str, text: str, now: datetime, references: tuple[tuple[str, str], ...]) -> Receipt:
        return cls(0, status, text, history_line(now, status, text), now, references)


def validation_failed(text: str, now: datetime, references: tuple[tuple[str, str], ...]) -> Receipt:
    return Receipt.new(ReceiptStatus.VALIDATION_FAILED, text, now, references)
