"""What /health, /metrics and the worker heartbeat read and write."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from .. import orm


@dataclass(frozen=True)
class Heartbeat:
    worker_id: str
    last_seen: datetime
    jobs_done: int


class MonitoringRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def ping(self) -> None:
        self.session.execute(text("SELECT 1"))

    def heartbeats_since(self, cutoff: datetime) -> list[Heartbeat]:
        H = orm.WorkerHeartbeat
        rows = self.session.execute(
            select(H.worker_id, H.last_seen, H.jobs_done).where(H.last_seen >= cutoff).order_by(H.worker_id)
        )
        return [Heartbeat(*r) for r in rows]

    def beat(self, worker_id: str, now: datetime, jobs_done: int) -> None:
        hb = self.session.get(orm.WorkerHeartbeat, worker_id)
        if hb is None:
            self.session.add(orm.WorkerHeartbeat(worker_id=worker_id, last_seen=now, jobs_done=jobs_done))
        else:
            hb.last_seen = now
            hb.jobs_done = jobs_done

    def counts(self) -> dict[str, dict[str, int]]:
        """Gauges for /metrics: main receipts by ReceiptStatusCode, forwardings by SdpStatusType,
        delivery jobs by state."""
        F, R, J = orm.Forwarding, orm.Receipt, orm.Job
        out: dict[str, dict[str, int]] = {}
        for name, column, where in (
            ("receipts", R.status_code, R.parent_id.is_(None)),
            ("forwardings", F.status, None),
            ("jobs", J.status, J.kind == "deliver"),
        ):
            stmt = select(column, func.count()).group_by(column)
            if where is not None:
                stmt = stmt.where(where)
            out[name] = {str(value): int(n) for value, n in self.session.execute(stmt)}
        return out
