"""DPI outcomes end to end (service, worker, the access point simulator with a seed of this test's own):
a letter the access point reports FEILET fails with BackupAltinn; a returpostkvittering after the
delivery fails it and puts the letter in the Altinn inbox; the history in
GetCorrespondenceStatusHistory."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from simulators.seed import DEFAULT_SEED
from tests.support import altinn as a
from tests.support.harness import Stack, wait_until

FEILET_PERSON = a.EBOKS  # behaviour changed in this test's seed
RETURPOST_PERSON = a.SLOW


@pytest.fixture(scope="module")
def dpi_stack(stack_with: Callable[..., Stack], tmp_path_factory: pytest.TempPathFactory) -> Stack:
    seed = json.loads(DEFAULT_SEED.read_text(encoding="utf-8"))
    for p in seed["persons"]:
        if p["id"] == FEILET_PERSON:
            p["behaviour"] = {"on_send": "feilet"}
        if p["id"] == RETURPOST_PERSON:
            p["behaviour"] = {"on_send": "returpost"}
    path = Path(tmp_path_factory.mktemp("seed")) / "seed.json"
    path.write_text(json.dumps(seed), encoding="utf-8")
    return stack_with(SIM_SEED=str(path), DPI_STATUS_CHECK_SECONDS="0.5").ensure_worker()


def history(stack: Stack, reference: str, final_count: int) -> list[str]:
    return wait_until(
        lambda: (h := a.sdp_history(stack.basic_url, reference)) and len(h) >= final_count and h,
        30,
        f"{final_count} SDP history entries of {reference}",
    )


def altinn_copy(stack: Stack, reference: str) -> list[str]:
    statuses = a.altinn_statuses(stack.basic_url, reference)
    return [c.StatusType for c in statuses[0].StatusChanges.StatusChangeV2] if statuses else []


def test_feilet_at_the_access_point_fails_with_backup_altinn(dpi_stack: Stack) -> None:
    reference = a.ref("feilet")
    r = a.insert(dpi_stack.basic_url, reference, a.letter(FEILET_PERSON, a.sdp("ForwardOnly", backup=True)))
    assert r.ReceiptStatusCode == "OK"
    assert history(dpi_stack, reference, 2) == ["Sent_Meldingsformidler", "Delivery_EndUser_Failed"]
    assert altinn_copy(dpi_stack, reference) == ["Created"]
    mid = dpi_stack.message_id(reference)
    vendor = dpi_stack.sim_stats()["dpi"]["vendors"]["922020175"]
    assert vendor["arrivals"][mid] == 1 and mid not in vendor["delivered"]  # the fault did happen


def test_returpost_after_delivery_fails_with_backup_altinn(dpi_stack: Stack) -> None:
    reference = a.ref("returpost")
    r = a.insert(
        dpi_stack.basic_url, reference, a.letter(RETURPOST_PERSON, a.sdp("ForwardOnly", backup=True))
    )
    assert r.ReceiptStatusCode == "OK"
    assert history(dpi_stack, reference, 3) == [
        "Sent_Meldingsformidler",
        "Delivered_EndUser",
        "Delivery_EndUser_Failed",
    ]
    assert altinn_copy(dpi_stack, reference) == ["Created"]
    mid = dpi_stack.message_id(reference)
    assert dpi_stack.sim_stats()["dpi"]["vendors"]["984661185"]["delivered"][mid] == 1
