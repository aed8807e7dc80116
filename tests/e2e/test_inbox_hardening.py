"""Issue 14's inbox findings, each reproduced against the running stack and now refused:

- a letter with ``<img src="/inbox/letters/N">`` marked another owner's letter N Read when opened in
  Chromium (Read was recorded on a plain GET);
- sign-out did not end the session: a copy of the cookie kept working, Confirm included;
- a CRLF in ``next=`` gave an HTML 500 with a traceback; the language switch changed state on GET;
- 72 stalled downloads of a 22 MiB attachment raised a worker to 1.24 GB (the file was read whole).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support import altinn as a
from tests.support import inbox as ib
from tests.support.browser import chromium
from tests.support.harness import Stack, children, wait_until


def _get(s: requests.Session, url: str) -> requests.Response:
    return s.get(url, timeout=10, allow_redirects=False)


def test_an_image_in_a_letter_never_marks_another_letter_read(stack: Stack, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    other_ref, other_id = ib.send(stack.basic_url, a.NO_POSTBOX, owner=a.OTHER)
    body = (
        f'<p>Hei</p><img id="one" src="/inbox/letters/{other_id}">'
        f'<img id="two" src="{stack.url}/inbox/letters/{other_id}">'
        f'<img id="three" src="/inbox/letters/{other_id}/open"><a id="four" href="/inbox/logout">x</a>'
    )
    ref, letter_id = ib.send(stack.basic_url, a.NO_POSTBOX, body=body)
    with chromium(tmp_path) as driver:
        driver.get(stack.url + "/inbox/login")
        driver.find_element(By.ID, f"signin-{a.NO_POSTBOX}").click()
        wait_until(lambda: driver.current_url.endswith("/inbox/"), 10, "the inbox after sign-in")
        driver.find_element(By.CSS_SELECTOR, f'tr[data-letter-id="{letter_id}"] .title .open').click()
        wait_until(lambda: driver.find_elements(By.ID, "letter-body"), 10, "the opened letter")
        images = driver.find_elements(By.CSS_SELECTOR, "#letter-body img")
        assert len(images) == 3 and all(not img.get_attribute("src") for img in images)
        assert not driver.find_element(By.CSS_SELECTOR, "#letter-body a").get_attribute("href")
        # Even if such a URL were requested, a GET of a letter records nothing.
        driver.get(f"{stack.url}/inbox/letters/{other_id}")
        assert driver.find_elements(By.ID, "open-letter")
    assert ib.status_types(ib.statuses_v3(stack.basic_url, ref)[0]) == ["Created", "Read"]
    assert ib.status_types(ib.statuses_v3(stack.basic_url, other_ref, owner=a.OTHER)[0]) == ["Created"]


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(stack: Stack) -> None:
    reference, letter_id = ib.send(stack.basic_url, a.NO_POSTBOX, edition=2)
    person = ib.signed_in(stack.url, a.NO_POSTBOX)
    stolen = requests.Session()
    stolen.cookies.update(person.cookies)
    token = ib.csrf_of(_get(person, f"{stack.url}/inbox/").text)
    page = _get(stolen, f"{stack.url}/inbox/")
    assert page.status_code == 200  # the copy works before sign-out
    stolen_token = ib.csrf_of(page.text)  # and has its own valid CSRF token
    r = person.post(f"{stack.url}/inbox/logout", data={"csrf": token}, allow_redirects=False, timeout=10)
    assert r.status_code == 303
    r = _get(stolen, f"{stack.url}/inbox/")
    assert r.status_code == 303 and r.headers["Location"].endswith("/inbox/login")
    for action in ("open", "confirm"):
        r = stolen.post(
            f"{stack.url}/inbox/letters/{letter_id}/{action}",
            data={"csrf": stolen_token},
            allow_redirects=False,
            timeout=10,
        )
        assert r.status_code == 404, action
    assert ib.status_types(ib.statuses_v3(stack.basic_url, reference, 2)[0]) == ["Created"]


def test_crlf_in_next_and_the_language_switch_by_get_change_nothing(stack: Stack) -> None:
    log = stack.workdir / "web.log"
    before = log.stat().st_size if log.exists() else 0
    crlf = "/inbox/%0D%0ASet-Cookie:%20inbox_lang=en"
    s = requests.Session()
    r = s.get(f"{stack.url}/inbox/lang?to=en&next={crlf}", timeout=10, allow_redirects=False)
    assert r.status_code == 405 and "inbox_lang" not in r.headers.get("Set-Cookie", "")
    page = s.get(f"{stack.url}/inbox/login", timeout=10)
    assert "Logg inn" in page.text  # still Norwegian
    r = s.post(
        f"{stack.url}/inbox/lang",
        data={"csrf": ib.csrf_of(page.text), "to": "en", "next": "/inbox/\r\nSet-Cookie: x=1"},
        timeout=10,
        allow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["Location"].endswith("/inbox/")
    assert "Sign in" in s.get(f"{stack.url}/inbox/login", timeout=10).text
    written = log.read_bytes()[before:] if log.exists() else b""
    assert b"Traceback" not in written


def _rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children(p)
    return out


@pytest.fixture(scope="module")
def big_stack(stack_with: Callable[..., Stack]) -> Stack:
    return stack_with(WEB_WORKERS="1", MAX_REQUEST_BYTES=str(32 * 1024 * 1024))


STALLED = 6


def test_stalled_attachment_downloads_hold_a_chunk_each_not_the_file(big_stack: Stack) -> None:
    """Six downloads of a 20 MiB attachment that read nothing. Read whole (and joined again by the
    request log), each held two copies of the file or more: 240 MiB in all. Streamed in 256 KiB
    chunks from the database (SQLite incremental blob I/O) and passed on piece by piece (the request
    log no longer joins this body), they hold a chunk each: measured well under 1 MiB each. The
    bound is one file for all six together."""
    data = bytes(range(256)) * (20 * 1024 * 4)  # 20 MiB
    big = {"FunctionType": "Unspecified", "FileName": "stor.bin", "Name": "Stor", "Encrypted": False}
    reference = a.ref("inbox-big")
    corr = a.letter(a.NO_POSTBOX, None, attachments=[{**big, "Data": data}])
    assert a.insert(big_stack.basic_url, reference, corr).ReceiptStatusCode == "OK"
    letter_id = ib.correspondence_id(big_stack.basic_url, reference)
    with big_stack.engine.connect() as c:
        att = c.exec_driver_sql(f"SELECT id FROM attachments WHERE correspondence_id={letter_id}").scalar()
    person = ib.signed_in(big_stack.url, a.NO_POSTBOX)
    assert ib.open_letter(person, big_stack.url, letter_id).status_code == 303
    url = f"{big_stack.url}/inbox/letters/{letter_id}/attachments/{att}"
    whole = person.get(url, timeout=30)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["Content-Length"] == str(len(data))
    web = _tree(big_stack.procs[1].pid)
    baseline = _rss_kib(web)
    stalled: list[Any] = []
    try:
        for _ in range(STALLED):
            r = person.get(url, timeout=30, stream=True)
            assert r.status_code == 200
            stalled.append(r)
        for r in stalled:  # every download is under way: its first bytes arrived
            assert r.raw.read(1024) == data[:1024]
        grown = _rss_kib(_tree(big_stack.procs[1].pid)) - baseline
        assert grown < len(data) // 1024, f"web processes grew by {grown} KiB"
        # Meanwhile the service answers.
        assert _get(person, f"{big_stack.url}/inbox/").status_code == 200
    finally:
        for r in stalled:
            r.close()
    assert base64.b64encode(data[:3])  # the attachment went in as base64 through SOAP
