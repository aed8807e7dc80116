"""In-memory stand-ins for the unit of work and the outside world, for use-case tests without a
database or servers (after cosmicpython's FakeRepository / FakeUnitOfWork)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType

from service.domain.insert import InsertPlan
from service.domain.ports import Person, RegistryUnavailable
from service.domain.receipt import Receipt


@dataclass
class FakeOwners:
    services: dict[tuple[str, int], int] = field(default_factory=dict)  # (code, edition) -> owner id

    def owns_service(self, owner_id: int, service_code: str, service_edition: int) -> bool:
        return self.services.get((service_code, service_edition)) == owner_id


@dataclass
class FakeCorrespondences:
    stored: dict[tuple[str, str], Receipt] = field(default_factory=dict)
    plans: list[InsertPlan] = field(default_factory=list)
    next_id: int = 1

    def receipts(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Receipt]:
        return {k: self.stored[k] for k in keys if k in self.stored}

    def receipt(self, system_user_code: str, reference: str) -> Receipt | None:
        return self.stored.get((system_user_code, reference))

    def add(self, plan: InsertPlan) -> Receipt:
        r = plan.receipt
        rid = self.next_id
        subs = tuple(
            Receipt(rid + 1 + i, s.status_code, s.text, s.history, s.last_changed, s.references, rid)
            for i, s in enumerate(r.sub_receipts)
        )
        self.next_id += 1 + len(subs)
        self.plans.append(plan)
        return Receipt(rid, r.status_code, r.text, r.history, r.last_changed, r.references, 0, subs)


class FakeUnitOfWork:
    """Shares its repositories across instances (the 'database'); commit makes pending adds visible."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.owners = db.owners
        self.correspondences = _Pending(db)
        self.committed = False

    def for_reading(self) -> FakeUnitOfWork:
        return self

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.correspondences.pending.clear()  # rollback of whatever was not committed

    def commit(self) -> None:
        for plan, receipt in self.correspondences.pending:
            self.db.correspondences.stored[plan.key] = receipt
            self.db.correspondences.plans.append(plan)
        self.db.commits += 1
        self.correspondences.pending.clear()
        self.committed = True

    def rollback(self) -> None:
        self.correspondences.pending.clear()


class _Pending:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.pending: list[tuple[InsertPlan, Receipt]] = []

    def receipts(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Receipt]:
        return self.db.correspondences.receipts(keys)

    def receipt(self, system_user_code: str, reference: str) -> Receipt | None:
        return self.db.correspondences.receipt(system_user_code, reference)

    def add(self, plan: InsertPlan) -> Receipt:
        receipt = self.db.correspondences.add(plan)
        self.db.correspondences.plans.pop()  # counted at commit
        self.pending.append((plan, receipt))
        return receipt


@dataclass
class FakeDatabase:
    owners: FakeOwners = field(default_factory=FakeOwners)
    correspondences: FakeCorrespondences = field(default_factory=FakeCorrespondences)
    commits: int = 0

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)


@dataclass
class FakeRegistry:
    """KRR: persons by id; ``fail`` makes every call raise RegistryUnavailable."""

    persons: dict[str, Person] = field(default_factory=dict)
    fail: bool = False
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def hent_personer(self, ids: Sequence[str]) -> dict[str, Person]:
        self.calls.append(tuple(ids))
        if self.fail:
            raise RegistryUnavailable("KRR is down (fake)")
        return {i: self.persons.get(i, Person(i, status="IKKE_REGISTRERT")) for i in ids}


def person_with_postbox(pid: str, vendor: str = "984661185") -> Person:
    return Person(pid, "AKTIV", "NEI", "KAN_VARSLES", "a@example.org", "+4799999999", f"box.{pid}", vendor)
