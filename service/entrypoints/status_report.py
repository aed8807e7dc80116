"""``innbyggerpost status <ExternalShipmentReference>``: receipt, Altinn and SDP history in a terminal."""

from __future__ import annotations

from collections.abc import Callable

from ..domain.forwarding import job_state_of
from ..domain.jobs import JobKind
from ..service_layer.unit_of_work import UnitOfWork

# jobs whose reference is the letter's CorrespondenceID (a notification's job names the message)
LETTER_JOBS = (JobKind.INBOX_COPY, JobKind.INBOX_STATUS)


def _ts(d: object) -> str:
    return d.strftime("%Y-%m-%d %H:%M:%S") if hasattr(d, "strftime") else str(d)


def print_status(uow_factory: Callable[[], UnitOfWork], reference: str, code: str | None) -> int:
    with uow_factory().for_reading() as uow:
        stories = uow.status.shipment_stories(reference, code)
        if not stories:
            print(f"no shipment with ExternalShipmentReference {reference!r}")
            return 1
        for story in stories:
            r, corr, fwd = story.receipt, story.correspondence, story.forwarding
            print(
                f"ExternalShipmentReference {reference}  (SystemUserCode {r.system_user_code}, ReceiptId {r.id})"
            )
            print(f"  receipt      {r.status_code}: {r.text}")
            for sub in r.sub_receipts:
                print(f"  sub-receipt  {sub.status_code}: {sub.text}  (ReceiptId {sub.id})")
            if corr is not None:
                where = (
                    f"Altinn inbox, CorrespondenceID {corr.id}, status {corr.altinn_status}"
                    if corr.altinn_status
                    else "no Altinn copy (forwarded only)"
                )
                print(f"  letter       {corr.message_title!r} to {corr.reportee}: {where}")
                for ch in corr.status_changes:
                    print(f"    {_ts(ch.status_date)}  Altinn  {ch.status}")
                for work in uow.jobs.for_references(LETTER_JOBS, [str(corr.id)]):
                    print(f"  job          {work.describe()}")
                for n in uow.notifications.for_correspondences([corr.id]).get(corr.id, []):
                    kind = "reminder" if n.reminder_of else "notification"
                    to = (
                        f"{n.channel} {n.recipient}"
                        if n.channel
                        else f"{n.transport_type} (address from KRR)"
                    )
                    when = (
                        _ts(n.sent_at)
                        if n.sent_at
                        else f"due {_ts(n.next_attempt_at)}"
                        if n.next_attempt_at
                        else ""
                    )
                    print(f"  {kind:<12} {to}: {n.state} {when}  {n.status_text}".rstrip())
            if fwd is not None:
                vendor = f" via {fwd.vendor_orgnr}" if fwd.vendor_orgnr else ""
                state = job_state_of(fwd.status)
                job = f", {state}, attempts {fwd.attempts}" if state else ""
                print(f"  forwarding   SdpId {fwd.id}{vendor}: {fwd.status}{job}")
                for sc in fwd.status_changes:
                    print(f"    {_ts(sc.status_date)}  SDP    {sc.status:<24} {sc.text}")
                for work in uow.jobs.for_references([JobKind.DELIVER], [fwd.message_id]):
                    print(f"  job          {work.describe()}")
    return 0
