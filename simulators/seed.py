"""The simulators' seed: synthetic persons (KRR data) and their postbox vendor's behaviour.

Format (JSON; ``simulators/seed.json`` is the default; ``innbyggerpost simulate --seed`` or
``INNBYGGERPOST_SIM_SEED`` replaces it)::

    {"vendors": {"984661185": {"name": "Digipost"}, ...},
     "persons": [{"id": "01018010018", "status": "AKTIV", "reservasjon": "NEI",
                  "epost": "...", "mobil": "...", "postkasseadresse": "...", "vendor": "984661185",
                  "behaviour": {"on_send": "deliver", "failures": 0, "delay_seconds": 0, "open": false}}],
     "default_person": {"status": "IKKE_REGISTRERT"}}

``behaviour.on_send``: ``deliver`` (accept, then queue a ``levering`` receipt), ``reject`` (answer
``feil`` KLIENT), ``fail_then_deliver`` (answer ``feil`` SERVER ``failures`` times, then deliver).
``delay_seconds`` slows every answer about this person (with ``delay_sends`` N: only the first N sends
of each message id); ``open`` queues an ``aapning`` after delivery.
Ids not listed get a record of the seed's synthetic ``population`` when they are valid numbers of
its range (``simulators/population.py``), else ``default_person``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .population import Population

DEFAULT_SEED = Path(__file__).with_name("seed.json")


@dataclass(frozen=True)
class Behaviour:
    on_send: str = "deliver"
    failures: int = 0
    delay_seconds: float = 0.0
    delay_sends: int = 0  # only the first N sends of a message id are delayed (0: every send)
    open: bool = False


@dataclass(frozen=True)
class SeedPerson:
    id: str
    status: str = "IKKE_REGISTRERT"
    reservasjon: str | None = None
    epost: str | None = None
    mobil: str | None = None
    postkasseadresse: str | None = None
    vendor: str | None = None
    # KAN_VARSLES | KAN_IKKE_VARSLES; None: KAN_VARSLES when not reserved and a contact is seeded
    varslingsstatus: str | None = None
    # KRR's postbox certificate: None: the vendor's (TestPki postbox), "none": KRR gives none,
    # "expired": an expired one
    sertifikat: str | None = None
    behaviour: Behaviour = field(default_factory=Behaviour)


@dataclass(frozen=True)
class Seed:
    persons: dict[str, SeedPerson]
    vendors: dict[str, str]  # orgnr -> name
    default_person: dict[str, str]
    # Maskinporten's registered clients (simulators/maskinporten.py: client_id, orgnr, scopes, ...)
    maskinporten_clients: tuple[dict[str, Any], ...] = ()
    population: Population | None = None

    def person(self, pid: str) -> SeedPerson:
        found = self.persons.get(pid)
        if found is not None:
            return found
        if self.population is not None:
            record = self.population.record(pid)
            if record is not None:
                return SeedPerson(id=pid, **record)
        return SeedPerson(id=pid, **self.default_person)  # type: ignore[arg-type]

    def person_at_postbox(self, address: str) -> SeedPerson | None:
        """The person whose postbox ``address`` is: a listed person's, or a population citizen's (the
        simulated postbox vendors' own users)."""
        listed = self._listed_postboxes.get(address)
        if listed is not None or self.population is None:
            return listed
        pid = self.population.citizen_at(address)
        return None if pid is None or pid in self.persons else self.person(pid)

    @cached_property
    def _listed_postboxes(self) -> dict[str, SeedPerson]:
        return {p.postkasseadresse: p for p in self.persons.values() if p.postkasseadresse}


def load_seed(path: str | os.PathLike[str] | None = None) -> Seed:
    path = path or DEFAULT_SEED  # the CLI passes --seed or INNBYGGERPOST_SIM_SEED (Settings.sim_seed)
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    persons = {}
    for p in raw.get("persons", []):
        behaviour = Behaviour(**p.get("behaviour", {}))
        fields = {k: v for k, v in p.items() if k != "behaviour"}
        persons[p["id"]] = SeedPerson(behaviour=behaviour, **fields)
    vendors = {orgnr: v.get("name", orgnr) for orgnr, v in raw.get("vendors", {}).items()}
    return Seed(
        persons=persons,
        vendors=vendors,
        default_person=raw.get("default_person", {"status": "IKKE_REGISTRERT"}),
        maskinporten_clients=tuple(raw.get("maskinporten_clients", [])),
        population=Population.from_seed(raw["population"]) if raw.get("population") else None,
    )
