"""The KRR simulators' synthetic national population (simulators/population.py, issue 17)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from simulators import population as pop
from simulators.seed import DEFAULT_SEED, load_seed

MIX = {"digipost": 45, "eboks": 30, "no_postbox": 15, "reserved": 6, "not_registered": 4}
RANGE = {"from": "01018200000", "to": "31129999999"}


def test_control_digits_of_the_seeds_persons() -> None:
    """Every person of the default seed is a valid fødselsnummer by the mod-11 rule."""
    ids = [p["id"] for p in json.loads(DEFAULT_SEED.read_text())["persons"]]
    assert ids and all(pop.is_valid(i) for i in ids), [i for i in ids if not pop.is_valid(i)]
    assert not pop.is_valid("01018010019")  # last control digit wrong
    assert not pop.is_valid("01018010028")  # first control digit wrong
    assert not pop.is_valid("32018010018") and not pop.is_valid("0101801001")


def test_population_ids_are_valid_distinct_in_range_and_deterministic() -> None:
    ids = pop.population_ids(20_000, RANGE["from"], RANGE["to"])
    assert len(ids) == len(set(ids)) == 20_000
    assert all(pop.is_valid(i) and RANGE["from"] <= i <= RANGE["to"] for i in ids)
    # each number's own check, independent of the generator: weights 3 7 6 1 8 9 4 5 2 / 5 4 3 2 7 6 5 4 3 2
    for i in ids[::997]:
        d = [int(c) for c in i]
        assert sum(w * x for w, x in zip((3, 7, 6, 1, 8, 9, 4, 5, 2, 1), d[:10], strict=True)) % 11 == 0
        assert sum(w * x for w, x in zip((5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1), d, strict=True)) % 11 == 0
    assert pop.population_ids(20_000, RANGE["from"], RANGE["to"]) == ids
    skipped = pop.population_ids(3, RANGE["from"], RANGE["to"], exclude={ids[0]})
    assert skipped == ids[1:4]
    with pytest.raises(ValueError, match="holds only"):
        pop.population_ids(1000, "01018200000", "01018200999")


def test_records_follow_the_mix_and_are_deterministic(tmp_path: Path) -> None:
    raw = json.loads(DEFAULT_SEED.read_text())
    raw["population"] = {**RANGE, "key": "unit", "mix": MIX}
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(raw))
    seed, again = load_seed(path), load_seed(path)
    ids = pop.population_ids(20_000, RANGE["from"], RANGE["to"], exclude=set(seed.persons))
    assert [seed.person(i) for i in ids[:500]] == [again.person(i) for i in ids[:500]]
    kinds: Counter[str] = Counter()
    for i in ids:
        p = seed.person(i)
        if p.status == "IKKE_REGISTRERT":
            kinds["not_registered"] += 1
        elif p.reservasjon == "JA":
            kinds["reserved"] += 1
        elif p.vendor == pop.VENDORS["digipost"]:
            kinds["digipost"] += 1
        elif p.vendor == pop.VENDORS["eboks"]:
            kinds["eboks"] += 1
        else:
            assert p.status == "AKTIV" and p.postkasseadresse is None and p.epost
            kinds["no_postbox"] += 1
        if p.vendor:
            assert p.postkasseadresse and p.sertifikat is None  # the vendor's certificate
    total = sum(MIX.values())
    for kind, weight in MIX.items():
        share = kinds[kind] / len(ids)
        assert abs(share - weight / total) < 0.015, (kind, share)
    # listed persons keep their seed records; numbers outside the range or invalid get the default
    assert seed.person("01018010018").postkasseadresse == "ola.nordmann#1A2B"
    assert seed.person("01018010019").status == "IKKE_REGISTRERT"  # invalid control digit
    outside = pop.population_ids(1, "01010100000", "01010199999")[0]
    assert pop.is_valid(outside) and seed.person(outside).status == "IKKE_REGISTRERT"


def test_a_bad_population_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mix"):
        pop.Population.from_seed({**RANGE, "mix": {"digipost": 1, "martians": 1}})
    with pytest.raises(ValueError, match="11-digit"):
        pop.Population.from_seed({"from": "1", "to": "2", "mix": MIX})


def test_a_citizens_postbox_leads_the_simulated_vendor_back_to_the_citizen(tmp_path: Path) -> None:
    """The DPI access point simulator finds the recipient by postbox address (Seed.person_at_postbox):
    for a population citizen too, else every letter to the population would be refused as 'no
    postbox' (the mass mailing measured rejections)."""
    raw = json.loads(DEFAULT_SEED.read_text())
    raw["population"] = {**RANGE, "key": "unit", "mix": MIX}
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(raw))
    seed = load_seed(path)
    ids = pop.population_ids(200, RANGE["from"], RANGE["to"], exclude=set(seed.persons))
    with_postbox = [seed.person(i) for i in ids if seed.person(i).postkasseadresse]
    assert len(with_postbox) > 100
    for p in with_postbox:
        assert seed.person_at_postbox(p.postkasseadresse or "") == p
    without = next(i for i in ids if not seed.person(i).postkasseadresse)
    assert seed.person_at_postbox(pop.postbox_address(without)) is None  # no postbox: not found
    assert seed.person_at_postbox("innbygger#01018010019") is None  # not a valid number
    listed = seed.person("01018010018")
    assert seed.person_at_postbox("ola.nordmann#1A2B") == listed
