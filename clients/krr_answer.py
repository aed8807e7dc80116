"""What both KRR clients (REST and SOAP 16-02) share: the ids of a look-up checked and split into calls
of at most ``batch_size`` (:func:`look_up_in_calls`), and the rule an answer is held to: every
requested id exactly once, nothing else; an answer that breaks it is treated as KRR being unavailable
(retried), never half-applied (:func:`persons_of_answer`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from clients.transport import call_with_retries
from service.domain.ports import Person, RegistryUnavailable


def persons_of_answer(
    batch: Sequence[str], raws: Iterable[Any], parse: Callable[[Any], Person]
) -> dict[str, Person]:
    """``parse`` each raw person of KRR's answer to a call for ``batch``; id -> person, or
    ``RegistryUnavailable`` naming the first problems (an unparsable, unrequested, repeated or
    missing person)."""
    wanted = set(batch)
    out: dict[str, Person] = {}
    problems: list[str] = []
    for raw in raws:
        try:
            person = parse(raw)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        pid = person.personidentifikator
        if pid not in wanted:
            problems.append(f"unrequested personidentifikator {pid}")
        elif pid in out:
            problems.append(f"personidentifikator {pid} returned twice")
        else:
            out[pid] = person
    missing = [pid for pid in batch if pid not in out]
    if missing:
        problems.append(f"{len(missing)} requested id(s) missing from the answer (first: {missing[0]})")
    if problems:
        raise RegistryUnavailable(
            f"KRR answer inconsistent for a call of {len(batch)} ids: " + "; ".join(problems[:5])
        )
    return out


def look_up_in_calls(
    personidentifikatorer: Sequence[str],
    batch_size: int,
    call: Callable[[list[str]], dict[str, Person]],
) -> dict[str, Person]:
    """One ``Person`` per distinct requested id, asked in calls of at most ``batch_size`` ids.
    Ids must be 11 digits (``ValueError`` otherwise: that is a caller bug, not a KRR outage)."""
    ids = list(dict.fromkeys(personidentifikatorer))
    bad = [i for i in ids if not (isinstance(i, str) and len(i) == 11 and i.isdigit())]
    if bad:
        raise ValueError(f"personidentifikator must be 11 digits: {bad[:5]!r}")
    result: dict[str, Person] = {}
    for start in range(0, len(ids), batch_size):
        result.update(call(ids[start : start + batch_size]))
    return result


class Retryable(Exception):
    """A failure worth resending the same call for (transport, timeout, 5xx, a Receiver fault)."""


def call_with_retries_or_unavailable(
    call: Callable[[], Any], attempts: int, backoff: float, what: str
) -> Any:
    """``call()`` retried with the one backoff rule while it raises :class:`Retryable`; after
    ``attempts``, ``RegistryUnavailable`` naming the last failure."""
    try:
        return call_with_retries(call, attempts=attempts, backoff=backoff, retry_on=(Retryable,), what=what)
    except Retryable as exc:
        raise RegistryUnavailable(f"KRR unavailable after {attempts} attempts: {exc}") from exc
