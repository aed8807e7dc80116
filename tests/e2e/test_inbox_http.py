"""The inbox over plain HTTP against the running stack: isolation between persons, CSRF refusals,
visibility rules, Read recorded once (only by the citizen's explicit, CSRF-checked open) and reported
by every status operation, confirmation, sign-out, attachments streamed, security levels.

The browser flow itself is tests/e2e/test_inbox_browser.py; these are the checks a browser adds
nothing to (direct URLs, forged forms), each asserting what the service stored or answered.
"""

from __future__ import annotations

import datetime as dt

import requests

from tests.support import altinn as a
from tests.support import inbox as ib
from tests.support.harness import Stack


def _get(s: requests.Session, url: str) -> requests.Response:
    return s.get(url, timeout=10, allow_redirects=False)


def test_a_person_never_sees_another_persons_letters(stack: Stack) -> None:
    ref_a, id_a = ib.send(stack.basic_url, a.NO_POSTBOX)
    ref_b, id_b = ib.send(stack.basic_url, a.DIGIPOST)
    with stack.engine.connect() as c:
        att_a = c.exec_driver_sql(f"SELECT min(id) FROM attachments WHERE correspondence_id={id_a}").scalar()
    alice = ib.signed_in(stack.url, a.NO_POSTBOX)
    bob = ib.signed_in(stack.url, a.DIGIPOST)
    assert id_a in ib.letter_ids(alice, stack.url) and id_b not in ib.letter_ids(alice, stack.url)
    assert id_b in ib.letter_ids(bob, stack.url) and id_a not in ib.letter_ids(bob, stack.url)
    # Bob guesses Alice's URLs: letter, attachment, confirm, and the list "for" her.
    assert _get(bob, f"{stack.url}/inbox/letters/{id_a}").status_code == 404
    assert _get(bob, f"{stack.url}/inbox/letters/{id_a}/attachments/{att_a}").status_code == 404
    assert _get(bob, f"{stack.url}/inbox/?for={a.NO_POSTBOX}").status_code == 404
    token = ib.csrf_of(_get(bob, f"{stack.url}/inbox/").text)
    r = bob.post(f"{stack.url}/inbox/letters/{id_a}/confirm", data={"csrf": token}, allow_redirects=False)
    assert r.status_code == 404
    assert ib.open_letter(bob, stack.url, id_a).status_code == 404
    # Alice's own attachment is there (the 404 above is about Bob, not about the URL).
    own = _get(alice, f"{stack.url}/inbox/letters/{id_a}/attachments/{att_a}")
    assert own.status_code == 200 and own.content == a.PDF
    # Bob's probing recorded nothing on Alice's letter.
    assert ib.status_types(ib.statuses_v3(stack.basic_url, ref_a)[0]) == ["Created"]
    # Anonymous: sent to the sign-in page, never the letter.
    anon = _get(requests.Session(), f"{stack.url}/inbox/letters/{id_a}")
    assert anon.status_code == 303 and anon.headers["Location"].endswith("/inbox/login")


def test_state_changing_forms_refuse_a_missing_or_wrong_csrf_token(stack: Stack) -> None:
    reference, letter_id = ib.send(stack.basic_url, a.NO_POSTBOX, edition=2)
    # Sign-in form: no token, a wrong token, a token from another session.
    s = requests.Session()
    page = s.get(f"{stack.url}/inbox/login", timeout=10)
    other_token = ib.csrf_of(requests.get(f"{stack.url}/inbox/login", timeout=10).text)
    for data in (
        {"pid": a.NO_POSTBOX},
        {"pid": a.NO_POSTBOX, "csrf": "wrong"},
        {"pid": a.NO_POSTBOX, "csrf": other_token},
    ):
        r = s.post(f"{stack.url}/inbox/login", data=data, allow_redirects=False, timeout=10)
        assert r.status_code == 403, data
    assert _get(s, f"{stack.url}/inbox/").status_code == 303  # still not signed in
    assert ib.csrf_of(page.text)  # the page did offer a token
    # Open form and Confirm form of a letter that takes confirmation.
    person = ib.signed_in(stack.url, a.NO_POSTBOX)
    for data in ({}, {"csrf": "wrong"}, {"csrf": other_token}):
        r = person.post(f"{stack.url}/inbox/letters/{letter_id}/open", data=data, allow_redirects=False)
        assert r.status_code == 403, data
    assert ib.status_types(ib.statuses_v3(stack.basic_url, reference, 2)[0]) == ["Created"]
    assert ib.open_letter(person, stack.url, letter_id).status_code == 303
    page = _get(person, f"{stack.url}/inbox/letters/{letter_id}")
    assert 'id="confirm"' in page.text
    for data in ({}, {"csrf": "wrong"}, {"csrf": other_token}):
        r = person.post(f"{stack.url}/inbox/letters/{letter_id}/confirm", data=data, allow_redirects=False)
        assert r.status_code == 403, data
    assert ib.status_types(ib.statuses_v3(stack.basic_url, reference, 2)[0]) == ["Created", "Read"]
    # Sign-out form.
    r = person.post(f"{stack.url}/inbox/logout", data={"csrf": "wrong"}, allow_redirects=False)
    assert r.status_code == 403
    assert _get(person, f"{stack.url}/inbox/").status_code == 200  # still signed in
    token = ib.csrf_of(_get(person, f"{stack.url}/inbox/").text)
    r = person.post(
        f"{stack.url}/inbox/letters/{letter_id}/confirm", data={"csrf": token}, allow_redirects=False
    )
    assert r.status_code == 303
    assert ib.status_types(ib.statuses_v3(stack.basic_url, reference, 2)[0]) == [
        "Created",
        "Read",
        "Confirmed",
    ]
    r = person.post(f"{stack.url}/inbox/logout", data={"csrf": token}, allow_redirects=False)
    assert r.status_code == 303
    assert _get(person, f"{stack.url}/inbox/").status_code == 303


def test_session_cookie_is_signed_httponly_samesite(stack: Stack) -> None:
    s = ib.signed_in(stack.url, a.NO_POSTBOX)
    r = requests.get(f"{stack.url}/inbox/login", timeout=10)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/inbox" in cookie
    value = s.cookies.get("inbox_session")
    assert value and value.count(".") == 2  # itsdangerous: payload.timestamp.signature
    # Change one character of the signed payload: the session is not accepted.
    payload, rest = value.split(".", 1)
    forged = requests.Session()
    forged.cookies.set("inbox_session", payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + rest)
    assert _get(forged, f"{stack.url}/inbox/").status_code == 303
    genuine = requests.Session()
    genuine.cookies.set("inbox_session", value)
    assert _get(genuine, f"{stack.url}/inbox/").status_code == 200


def test_reading_records_read_once_and_every_status_operation_reports_it(stack: Stack) -> None:
    reference, letter_id = ib.send(stack.basic_url, a.NO_POSTBOX)
    s = ib.signed_in(stack.url, a.NO_POSTBOX)
    listing = _get(s, f"{stack.url}/inbox/").text
    assert f'class="letter unread" data-letter-id="{letter_id}"' in listing
    # Viewing by GET (a link, a prefetch, an <img> somewhere) records nothing and shows no body.
    for _ in range(2):
        page = _get(s, f"{stack.url}/inbox/letters/{letter_id}")
        assert (
            page.status_code == 200
            and 'id="open-letter"' in page.text
            and 'id="letter-body"' not in page.text
        )
    assert ib.status_types(ib.statuses_v3(stack.basic_url, reference)[0]) == ["Created"]
    for _ in range(3):
        r = ib.open_letter(s, stack.url, letter_id)
        assert r.status_code == 303 and r.headers["Location"].endswith(f"/inbox/letters/{letter_id}")
    assert 'id="letter-body"' in _get(s, f"{stack.url}/inbox/letters/{letter_id}").text
    assert f'class="letter" data-letter-id="{letter_id}"' in _get(s, f"{stack.url}/inbox/").text
    v3 = ib.statuses_v3(stack.basic_url, reference)[0]
    assert ib.status_types(v3) == ["Created", "Read"]
    read_at = v3.StatusChanges.StatusChangeV2[1].StatusDate
    assert abs((dt.datetime.now(dt.UTC) - read_at).total_seconds()) < 120
    assert ib.status_types(ib.statuses_v2(stack.basic_url, reference)[0]) == ["Created", "Read"]
    assert ib.history_types(stack.basic_url, reference) == ["Created", "Read"]
    # CurrentStatus filter: the letter's current status is Read now.
    user, password, _, service = a.DEMO
    for status, expected in (("Read", True), ("Created", False)):
        flt = {
            "ServiceCode": service,
            "ServiceEditionCode": 1,
            "SendersReference": reference,
            "CurrentStatus": status,
        }
        result = a.basic(stack.basic_url).GetCorrespondenceStatusDetailsBasicV2(user, password, flt)
        found = list(result.StatusList.StatusV2) if result.StatusList else []
        assert bool(found) is expected, status
    # Service edition 1 takes no confirmation: no button, and a forged confirm records nothing.
    page = _get(s, f"{stack.url}/inbox/letters/{letter_id}").text
    assert 'id="confirm"' not in page
    r = s.post(
        f"{stack.url}/inbox/letters/{letter_id}/confirm",
        data={"csrf": ib.csrf_of(page)},
        allow_redirects=False,
    )
    assert r.status_code == 303
    assert ib.status_types(ib.statuses_v3(stack.basic_url, reference)[0]) == ["Created", "Read"]


def test_not_yet_visible_and_reserved_letters_are_not_in_the_inbox(stack: Stack) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    _ref, future_id = ib.send(stack.basic_url, a.NO_POSTBOX, VisibleDateTime=later)
    reserved_ref = a.ref("inbox-reserved")
    receipt = a.insert(stack.basic_url, reserved_ref, a.letter(a.RESERVED, None, IsReservable=True))
    assert receipt.ReceiptStatusCode == "Rejected"
    [reserved] = ib.statuses_v3(stack.basic_url, reserved_ref)
    assert ib.status_types(reserved) == ["Reserved"]
    person = ib.signed_in(stack.url, a.NO_POSTBOX)
    assert future_id not in ib.letter_ids(person, stack.url)
    assert _get(person, f"{stack.url}/inbox/letters/{future_id}").status_code == 404
    reserved_person = ib.signed_in(stack.url, a.RESERVED)
    assert int(reserved.CorrespondenceID) not in ib.letter_ids(reserved_person, stack.url)
    assert _get(reserved_person, f"{stack.url}/inbox/letters/{reserved.CorrespondenceID}").status_code == 404


def test_an_organisations_letters_are_visible_to_its_demo_representative(stack: Stack) -> None:
    reference, letter_id = ib.send(stack.basic_url, a.ORGANISATION)
    rep = ib.signed_in(stack.url, a.EBOKS)  # seed.json: representative of 910646192
    assert letter_id not in ib.letter_ids(rep, stack.url)  # her own mail
    assert letter_id in ib.letter_ids(rep, stack.url, a.ORGANISATION)
    assert _get(rep, f"{stack.url}/inbox/letters/{letter_id}").status_code == 200
    assert ib.open_letter(rep, stack.url, letter_id).status_code == 303
    assert ib.status_types(ib.statuses_v3(stack.basic_url, reference)[0]) == ["Created", "Read"]
    outsider = ib.signed_in(stack.url, a.DIGIPOST)
    assert _get(outsider, f"{stack.url}/inbox/?for={a.ORGANISATION}").status_code == 404
    assert _get(outsider, f"{stack.url}/inbox/letters/{letter_id}").status_code == 404
    assert ib.open_letter(outsider, stack.url, letter_id).status_code == 404


def test_letter_page_sanitises_the_body_and_shows_reply_options_and_attachments(stack: Stack) -> None:
    body = '<p onclick="steal()">Hei <b>du</b></p><script>alert(1)</script><a href="javascript:x()">j</a>'
    replies = {
        "ReplyOption": [
            {"URL": {"LinkText": "Svar på vedtaket", "LinkURL": "https://etat.example/svar?id=1"}},
            {"URL": {"LinkText": "Skadelig", "LinkURL": "javascript:alert(1)"}},
        ]
    }
    corr = a.letter(a.NO_POSTBOX, None, ReplyOptions=replies)
    corr["Content"]["MessageBody"] = body
    reference = a.ref("inbox-body")
    assert a.insert(stack.basic_url, reference, corr).ReceiptStatusCode == "OK"
    letter_id = ib.correspondence_id(stack.basic_url, reference)
    s = ib.signed_in(stack.url, a.NO_POSTBOX)
    assert ib.open_letter(s, stack.url, letter_id).status_code == 303
    page = _get(s, f"{stack.url}/inbox/letters/{letter_id}")
    html = page.text
    assert "<b>du</b>" in html and "Hei" in html
    assert "<script>alert(1)</script>" not in html and "onclick" not in html and "javascript:" not in html
    assert 'href="https://etat.example/svar?id=1"' in html and "Svar på vedtaket" in html
    assert "Skadelig" not in html
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    with stack.engine.connect() as c:
        rows = c.exec_driver_sql(
            f"SELECT id, file_name FROM attachments WHERE correspondence_id={letter_id} ORDER BY id"
        ).all()
    expected = {"brev.pdf": ("application/pdf", a.PDF), "vedlegg.txt": ("text/plain", b"hei")}
    for att_id, name in rows:
        r = _get(s, f"{stack.url}/inbox/letters/{letter_id}/attachments/{att_id}")
        ctype, data = expected[name]
        assert r.status_code == 200 and r.content == data
        assert r.headers["Content-Type"] == ctype
        assert r.headers["Content-Disposition"].startswith(f'attachment; filename="{name}"')
