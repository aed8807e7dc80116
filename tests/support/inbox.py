"""Helpers for the inbox tests: sign in over HTTP (requests) and read the pages' markers."""

from __future__ import annotations

import re
from typing import Any

import requests

from . import altinn as a

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LETTER_ROW = re.compile(r'data-letter-id="(\d+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def signed_in(base_url: str, pid: str) -> requests.Session:
    """A requests session signed in through the demo sign-in form, as a browser would."""
    s = requests.Session()
    page = s.get(base_url + "/inbox/login", timeout=10)
    assert page.status_code == 200, page.text
    r = s.post(
        base_url + "/inbox/login",
        data={"csrf": csrf_of(page.text), "pid": pid},
        timeout=10,
        allow_redirects=False,
    )
    assert r.status_code == 303, (r.status_code, r.text)
    return s


def open_letter(s: requests.Session, base_url: str, letter_id: int) -> requests.Response:
    """Open a letter as the citizen does: the CSRF-checked POST that records Read (a GET never does)."""
    token = csrf_of(s.get(base_url + "/inbox/", timeout=10).text)
    return s.post(
        f"{base_url}/inbox/letters/{letter_id}/open", data={"csrf": token}, timeout=10, allow_redirects=False
    )


def letter_ids(s: requests.Session, base_url: str, reportee: str | None = None) -> list[int]:
    r = s.get(base_url + "/inbox/", params={"for": reportee} if reportee else None, timeout=10)
    assert r.status_code == 200, r.text
    return [int(i) for i in LETTER_ROW.findall(r.text)]


def correspondence_id(
    url: str, reference: str, edition: int = 1, owner: tuple[str, str, str, str] = a.DEMO
) -> int:
    statuses = statuses_v3(url, reference, edition, owner)
    assert len(statuses) == 1, statuses
    return int(statuses[0].CorrespondenceID)


def statuses_v3(
    url: str, reference: str, edition: int = 1, owner: tuple[str, str, str, str] = a.DEMO
) -> list[Any]:
    user, password, _, service = owner
    flt = {"ServiceCode": service, "ServiceEditionCode": edition, "SendersReference": reference}
    info = (
        a.basic(url)
        .GetCorrespondenceStatusDetailsBasicV3(user, password, flt)
        .CorrespondenceStatusInformation
    )
    if info is None or info.CorrespondenceStatusDetailsList is None:
        return []
    return list(info.CorrespondenceStatusDetailsList.StatusV2)


def status_types(status: Any) -> list[str]:
    return [c.StatusType for c in status.StatusChanges.StatusChangeV2]


def history_types(url: str, reference: str) -> list[str]:
    info = a.history_basic(url, [reference]).CorrespondenceStatusInformation
    items = (
        info.CorrespondenceStatusDetailsList.StatusV2 if info and info.CorrespondenceStatusDetailsList else []
    )
    assert len(items) == 1, items
    return status_types(items[0])


def statuses_v2(url: str, reference: str, edition: int = 1) -> list[Any]:
    user, password, _, service = a.DEMO
    flt = {"ServiceCode": service, "ServiceEditionCode": edition, "SendersReference": reference}
    result = a.basic(url).GetCorrespondenceStatusDetailsBasicV2(user, password, flt)
    return list(result.StatusList.StatusV2) if result.StatusList else []


def send(
    url: str,
    reportee: str,
    edition: int = 1,
    owner: tuple[str, str, str, str] = a.DEMO,
    body: str | None = None,
    **extra: Any,
) -> tuple[str, int]:
    """An Altinn-only letter (no SdpOptions) through real SOAP; returns (reference, CorrespondenceID)."""
    reference = a.ref("inbox")
    corr = a.letter(reportee, None, **extra)
    corr["ServiceCode"] = owner[3]
    corr["ServiceEdition"] = str(edition)
    if body is not None:
        corr["Content"]["MessageBody"] = body
    receipt = a.insert(url, reference, corr, owner)
    assert receipt.ReceiptStatusCode == "OK", receipt.ReceiptText
    return reference, correspondence_id(url, reference, edition, owner)
