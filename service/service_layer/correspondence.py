"""Use case: InsertCorrespondenceV2 (docs/specification.md §2): validate, de-duplicate, look up KRR,
decide, store.

The steps, each in its own module: ``domain.validation`` (the rules), ``domain.forwarding_decision`` (the
decision table), ``domain.insert`` (what is stored), the KRR gateway (``adapters.krr_gateway``:
batched, bounded, with a time budget and a circuit breaker) and the group commit
(``group_commit``: one writer per process, one commit for the letters of concurrent requests).
Nothing is stored before KRR has answered, so a KRR failure stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from ..domain import forwarding_decision, insert, validation
from ..domain.altinn_copy import MissingResource, may_get_a_copy
from ..domain.model import InsertCorrespondence
from ..domain.ports import ContactRegistry, Person, RegistryUnavailable
from ..domain.receipt import Receipt, validation_failed
from .group_commit import GroupCommit
from .owners import Principal, owns_service
from .ports import UnitOfWorkPortFactory

ReceiptView = Receipt  # the name the SOAP mapping uses
STORE_TIMEOUT_SECONDS = 30.0


class NotAuthorised(Exception):
    def __init__(self, error_id: int, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id
        self.message = message


def _not_authorised(service_code: str, edition: int) -> NotAuthorised:
    return NotAuthorised(
        5, f"Not authorised for service {service_code} edition {edition} (ServiceCode/ServiceEdition)"
    )


def _now() -> datetime:
    return datetime.now(UTC)


def insert_correspondence(
    uow_factory: UnitOfWorkPortFactory,
    registry: ContactRegistry,
    principal: Principal,
    req: InsertCorrespondence,
    writer: GroupCommit | None = None,
    clock: Callable[[], datetime] = _now,
    inbox_backend: str = "local",
) -> Receipt:
    errors = validation.validate(req)
    if errors:
        text = "Validation failed: " + "; ".join(str(e) for e in errors)
        return validation_failed(text, clock(), insert.references(req))
    assert req.system_user_code and req.external_shipment_reference and req.reportee and req.service_code
    if req.system_user_code != principal.system_user_code:
        raise NotAuthorised(5, f"SystemUserCode '{req.system_user_code}' does not belong to this system user")
    edition = int(req.service_edition or "0")
    key = (req.system_user_code, req.external_shipment_reference)
    if principal.services is not None and writer is not None:
        # The common case, without a database round trip: an owner whose services we know. No
        # repeat check before the insert either: the writer checks the batch's keys in its
        # transaction and answers a repeat with the stored receipt (only a KRR failure, below,
        # looks for one first).
        if (req.service_code, edition) not in principal.services:
            raise _not_authorised(req.service_code, edition)
    else:
        with uow_factory().for_reading() as uow:
            existing = uow.correspondences.receipt(*key)
            if existing is not None:
                return existing
            if not owns_service(uow, principal, req.service_code, edition):
                raise _not_authorised(req.service_code, edition)

    if inbox_backend == "altinn3" and may_get_a_copy(req.sdp_options):
        # Altinn 3 has no computed resource: the owner maps each service edition (owner add --resource).
        with uow_factory().for_reading() as uow:
            if not uow.owners.altinn3_resource(req.service_code, edition):
                raise MissingResource(req.service_code, edition)
    kind = validation.reportee_kind(req.reportee) or "person"
    person: Person | None = None
    if forwarding_decision.needs_lookup(kind, req.sdp_options, req.is_reservable):
        try:
            person = registry.hent_personer([req.reportee]).get(req.reportee)
        except RegistryUnavailable:
            # Nothing is stored for a new letter; a repeat of a stored one gets its receipt.
            with uow_factory().for_reading() as uow:
                existing = uow.correspondences.receipt(*key)
            if existing is not None:
                return existing
            raise
    now = clock()
    decision = forwarding_decision.decide(kind, req.sdp_options, req.is_reservable, person, now)
    plan = insert.plan(req, principal.owner_id, decision, person, now, inbox_backend)
    if writer is None:
        return GroupCommit(uow_factory).store_now(plan)
    # Bounded: a stalled disk faults the request (a retry with the same reference is safe: it finds
    # the receipt if the write did land) instead of holding the request thread.
    return writer.store(plan, timeout=STORE_TIMEOUT_SECONDS)
