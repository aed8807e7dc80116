"""A national population for the KRR simulators: deterministic synthetic records for every valid
fødselsnummer in a configured range (issue 17), so that a mass mailing can go to 100 000 distinct
citizens without a seed file of 100 000 persons.

Seed key (``simulators/seed.py``)::

    "population": {"from": "01018200000", "to": "31129999999", "key": "bench",
                   "mix": {"digipost": 45, "eboks": 30, "no_postbox": 15,
                           "reserved": 6, "not_registered": 4}}

``from``/``to``: 11-digit numbers, inclusive (compared as numbers). A number in the range is a
citizen when it is a valid fødselsnummer: a plausible date (day 01–31, or 41–71 for a D-number;
month 01–12, or 81–92 for Skatteetaten's synthetic test numbers) and both mod-11 control digits
right. Persons listed in the seed come first; other numbers get the seed's ``default_person``.

Each citizen's kind is drawn from ``mix`` (relative weights) by a hash of ``key`` and the number
(SHA-256: the same record on every run and in every process), and the record is that kind's:

==============  =================================================================================
digipost        AKTIV, not reserved, e-mail and mobile, a postbox at Digipost (984661185)
eboks           AKTIV, not reserved, e-mail and mobile, a postbox at e-Boks (922020175)
no_postbox      AKTIV, not reserved, e-mail and mobile, no postbox
reserved        AKTIV, reserved (``reservasjon`` JA)
not_registered  IKKE_REGISTRERT
==============  =================================================================================

A postbox person's certificate is the vendor's (``TestPki.postbox(orgnr)``, as for seeded persons
without ``sertifikat``). :func:`population_ids` lists N valid distinct numbers of a range (the bench).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

KINDS = ("digipost", "eboks", "no_postbox", "reserved", "not_registered")
VENDORS = {"digipost": "984661185", "eboks": "922020175"}
_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def control_digits(nine: str) -> str | None:
    """The two mod-11 control digits of the first nine digits, or None when none exist."""
    d = [int(c) for c in nine]
    k1 = 11 - sum(w * x for w, x in zip(_W1, d, strict=True)) % 11
    k1 = 0 if k1 == 11 else k1
    if k1 == 10:
        return None
    k2 = 11 - sum(w * x for w, x in zip(_W2, [*d, k1], strict=True)) % 11
    k2 = 0 if k2 == 11 else k2
    if k2 == 10:
        return None
    return f"{k1}{k2}"


def _plausible_date(pid: str) -> bool:
    day, month = int(pid[0:2]), int(pid[2:4])
    return (1 <= day <= 31 or 41 <= day <= 71) and (1 <= month <= 12 or 81 <= month <= 92)


def is_valid(pid: str) -> bool:
    """A valid fødselsnummer (or D-number / synthetic test number): 11 digits, a plausible date,
    both control digits right."""
    return len(pid) == 11 and pid.isdigit() and _plausible_date(pid) and control_digits(pid[:9]) == pid[9:]


def valid_ids(start: str, end: str) -> Iterator[str]:
    """Every valid number from ``start`` to ``end`` (inclusive), ascending."""
    lo, hi = int(start), int(end)
    prefix = lo // 100
    while prefix * 100 <= hi:
        nine = f"{prefix:09d}"
        day, month = int(nine[0:2]), int(nine[2:4])
        if not (1 <= day <= 31 or 41 <= day <= 71) or not (1 <= month <= 12 or 81 <= month <= 92):
            prefix += 1
            continue
        k = control_digits(nine)
        if k is not None:
            pid = nine + k
            if lo <= int(pid) <= hi:
                yield pid
        prefix += 1


def population_ids(n: int, start: str, end: str, exclude: Collection[str] = ()) -> list[str]:
    """``n`` valid distinct numbers of the range, the lowest first (skipping ``exclude``, e.g. the
    seed's listed persons); ValueError when the range holds fewer."""
    out: list[str] = []
    for pid in valid_ids(start, end):
        if pid not in exclude:
            out.append(pid)
            if len(out) == n:
                return out
    raise ValueError(f"the range {start}..{end} holds only {len(out)} valid numbers, {n} asked")


_POSTBOX_PREFIX = "innbygger#"


def postbox_address(pid: str) -> str:
    """A population citizen's postbox address at its vendor. The simulated vendors (the DPI access
    point simulator) find the citizen from it, as a real vendor finds its own user."""
    return f"{_POSTBOX_PREFIX}{pid}"


@dataclass(frozen=True)
class Population:
    start: int
    end: int
    mix: tuple[tuple[str, float], ...]  # (kind, cumulative share), the last 1.0
    key: str = "innbyggerpost"

    @classmethod
    def from_seed(cls, raw: Mapping[str, Any]) -> Population:
        start, end = str(raw["from"]), str(raw["to"])
        if not (len(start) == len(end) == 11 and start.isdigit() and end.isdigit() and start <= end):
            raise ValueError("population: from and to must be 11-digit numbers, from <= to")
        weights = {k: float(v) for k, v in raw.get("mix", {}).items()}
        unknown = set(weights) - set(KINDS)
        if unknown or not weights or any(v < 0 for v in weights.values()) or sum(weights.values()) <= 0:
            raise ValueError(f"population: mix needs non-negative weights of {', '.join(KINDS)}")
        total, acc, mix = sum(weights.values()), 0.0, []
        for kind in KINDS:
            if weights.get(kind):
                acc += weights[kind] / total
                mix.append((kind, acc))
        mix[-1] = (mix[-1][0], 1.0)
        return cls(int(start), int(end), tuple(mix), str(raw.get("key", "innbyggerpost")))

    def __contains__(self, pid: object) -> bool:
        return isinstance(pid, str) and is_valid(pid) and self.start <= int(pid) <= self.end

    def kind(self, pid: str) -> str:
        digest = hashlib.sha256(f"{self.key}:{pid}".encode()).digest()
        u = int.from_bytes(digest[:8], "big") / 2**64
        for kind, upto in self.mix:
            if u < upto:
                return kind
        return self.mix[-1][0]

    def citizen_at(self, address: str) -> str | None:
        """The fødselsnummer whose postbox ``address`` is (None: not one of this population's)."""
        if not address.startswith(_POSTBOX_PREFIX):
            return None
        pid = address[len(_POSTBOX_PREFIX) :]
        record = self.record(pid)
        return pid if record is not None and record.get("postkasseadresse") == address else None

    def record(self, pid: str) -> dict[str, Any] | None:
        """The seed fields (``SeedPerson``'s) of ``pid``, or None when it is not a citizen here."""
        if pid not in self:
            return None
        kind = self.kind(pid)
        if kind == "not_registered":
            return {"status": "IKKE_REGISTRERT"}
        if kind == "reserved":
            return {"status": "AKTIV", "reservasjon": "JA"}
        contact = {"epost": f"innbygger.{pid}@example.no", "mobil": f"+479{pid[-7:]}"}
        if kind == "no_postbox":
            return {"status": "AKTIV", "reservasjon": "NEI", **contact}
        return {
            "status": "AKTIV",
            "reservasjon": "NEI",
            **contact,
            "postkasseadresse": postbox_address(pid),
            "vendor": VENDORS[kind],
        }
