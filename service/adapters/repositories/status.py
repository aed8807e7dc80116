"""Reads of the status operations: Altinn correspondences and forwardings with their histories.

Each answer is a handful of queries whatever its size: the rows (columns only, no ORM objects;
a forwarding's row says whether its letter has an Altinn copy), then every history of those rows
in one query per table (no query per row); lists of keys go in
one statement each (:mod:`.keys`: an array parameter on PostgreSQL, up to 10 000 on SQLite).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ...domain import notifications as dn
from ...domain.status import NotificationView, SdpDetailsView, StatusFilter, StatusV2View
from .. import orm
from .keys import among, chunks

C, F = orm.Correspondence, orm.Forwarding
CS, FS = orm.CorrespondenceStatusChange, orm.SdpStatusChange
_CORR_COLUMNS = (C.id, C.created_at, C.reportee, C.external_shipment_reference)
_FWD_COLUMNS = (
    F.id,
    F.correspondence_id,
    F.created_at,
    F.last_changed,
    F.external_shipment_reference,
    F.reportee,
)
# Whether the forwarding's letter has an Altinn copy, in the forwardings' own query (a left join on
# the letter's primary key) instead of a query of its own with the letters' ids sent back.
_WITH_COPY = (C.altinn_status.is_not(None)).label("with_copy")


def _forwardings(*where: Any) -> Select:
    return select(*_FWD_COLUMNS, _WITH_COPY).outerjoin(C, C.id == F.correspondence_id).where(*where)


def _common(stmt: Select, model: Any, flt: StatusFilter) -> Select:
    """The filter criteria correspondences and forwardings share (SendersReference = ExternalShipmentReference)."""
    if flt.reportee:
        stmt = stmt.where(model.reportee == flt.reportee)
    if flt.senders_reference:
        stmt = stmt.where(model.external_shipment_reference == flt.senders_reference)
    if flt.created_after:
        stmt = stmt.where(model.created_at >= flt.created_after)
    if flt.created_before:
        stmt = stmt.where(model.created_at <= flt.created_before)
    return stmt


class StatusRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- building views ---------------------------------------------------------------------------
    def _corr_views(self, rows: Sequence[Any]) -> list[StatusV2View]:
        changes: dict[int, list[tuple[Any, str]]] = {}
        ids = [r.id for r in rows]
        for chunk in chunks(self.session, ids):
            for cid, status, date in self.session.execute(
                select(CS.correspondence_id, CS.status, CS.status_date)
                .where(among(self.session, CS.correspondence_id, chunk))
                .order_by(CS.id)
            ):
                changes.setdefault(cid, []).append((date, status))
        notes = self._notification_views(ids)
        return [
            StatusV2View(
                r.id,
                r.created_at,
                r.reportee,
                r.external_shipment_reference,
                tuple(changes.get(r.id, ())),
                notes.get(r.id, ()),
            )
            for r in rows
        ]

    def _notification_views(
        self, correspondence_ids: Sequence[int]
    ) -> dict[int, tuple[NotificationView, ...]]:
        """``Notifications`` of the status answers: sent, given up and no-address messages, in order."""
        N = orm.NotificationRow
        out: dict[int, list[NotificationView]] = {}
        ids = list(correspondence_ids)
        reported = (dn.NotificationState.SENT, dn.NotificationState.FAILED, dn.NotificationState.NO_ADDRESS)
        states = [r.value for r in reported]
        for chunk in chunks(self.session, ids):
            for cid, recipient, sent_at, channel, tt in self.session.execute(
                select(N.correspondence_id, N.recipient, N.sent_at, N.channel, N.transport_type)
                .where(among(self.session, N.correspondence_id, chunk), N.state.in_(states))
                .order_by(N.id)
            ):
                out.setdefault(cid, []).append(NotificationView(recipient, sent_at, channel or tt))
        return {cid: tuple(v) for cid, v in out.items()}

    def _sdp_views(self, rows: Sequence[Any]) -> list[SdpDetailsView]:
        history: dict[int, list[tuple[str, Any]]] = {}
        ids = [r.id for r in rows]
        for chunk in chunks(self.session, ids):
            for fid, status, date in self.session.execute(
                select(FS.forwarding_id, FS.status, FS.status_date)
                .where(among(self.session, FS.forwarding_id, chunk))
                .order_by(FS.id)
            ):
                history.setdefault(fid, []).append((status, date))
        return [
            SdpDetailsView(
                sdp_id=r.id,
                correspondence_id=r.correspondence_id if r.with_copy else None,
                created=r.created_at,
                last_changed=r.last_changed,
                reference=r.external_shipment_reference,
                reportee=r.reportee,
                history=tuple(history.get(r.id, ())),
            )
            for r in rows
        ]

    def _limited(self, stmt: Select, limit: int) -> tuple[list[Any], bool]:
        rows = list(self.session.execute(stmt.limit(limit + 1)))
        return rows[:limit], len(rows) > limit

    # -- GetCorrespondenceStatusDetailsV2/V3 ------------------------------------------------------
    def correspondences(
        self, owner_id: int, flt: StatusFilter, limit: int
    ) -> tuple[list[StatusV2View], bool]:
        stmt = select(*_CORR_COLUMNS).where(
            C.owner_id == owner_id,
            C.service_code == flt.service_code,
            C.service_edition == flt.service_edition,
            C.altinn_status.is_not(None),
        )
        stmt = _common(stmt, C, flt)
        if flt.current_status and flt.current_status != "NotSet":
            stmt = stmt.where(C.altinn_status == flt.current_status)
        if flt.notification_sent is not None:
            stmt = stmt.where(C.notification_sent == flt.notification_sent)
        rows, reached = self._limited(stmt.order_by(C.id), limit)
        return self._corr_views(rows), reached

    def forwardings(self, owner_id: int, flt: StatusFilter, limit: int) -> tuple[list[SdpDetailsView], bool]:
        stmt = _forwardings(
            F.owner_id == owner_id,
            F.service_code == flt.service_code,
            F.service_edition == flt.service_edition,
        )
        rows, reached = self._limited(_common(stmt, F, flt).order_by(F.id), limit)
        return self._sdp_views(rows), reached

    # -- GetCorrespondenceStatusHistory -----------------------------------------------------------
    def by_references(
        self, system_user_code: str, references: Sequence[str]
    ) -> tuple[list[StatusV2View], list[SdpDetailsView]]:
        corr_rows: list[Any] = []
        fwd_rows: list[Any] = []
        for chunk in chunks(self.session, references):
            corr_rows += self.session.execute(
                select(*_CORR_COLUMNS).where(
                    C.system_user_code == system_user_code,
                    among(self.session, C.external_shipment_reference, chunk),
                    C.altinn_status.is_not(None),
                )
            )
            fwd_rows += self.session.execute(
                _forwardings(
                    F.system_user_code == system_user_code,
                    among(self.session, F.external_shipment_reference, chunk),
                )
            )
        corr_rows.sort(key=lambda r: r.id)
        fwd_rows.sort(key=lambda r: r.id)
        return self._corr_views(corr_rows), self._sdp_views(fwd_rows)

    def shipment_stories(self, reference: str, system_user_code: str | None) -> list[ShipmentStory]:
        return shipment_stories(self.session, reference, system_user_code)


class ShipmentStory:
    """Everything stored for one main receipt, for ``innbyggerpost status``."""

    def __init__(self, receipt: Any, correspondence: Any, forwarding: Any) -> None:
        self.receipt, self.correspondence, self.forwarding = receipt, correspondence, forwarding


def shipment_stories(session: Session, reference: str, system_user_code: str | None) -> list[ShipmentStory]:
    stmt = select(orm.Receipt).where(
        orm.Receipt.external_shipment_reference == reference, orm.Receipt.parent_id.is_(None)
    )
    if system_user_code:
        stmt = stmt.where(orm.Receipt.system_user_code == system_user_code)
    return [
        ShipmentStory(
            r,
            session.scalar(select(orm.Correspondence).where(orm.Correspondence.receipt_id == r.id)),
            session.scalar(select(orm.Forwarding).where(orm.Forwarding.receipt_id == r.id)),
        )
        for r in session.scalars(stmt)
    ]
