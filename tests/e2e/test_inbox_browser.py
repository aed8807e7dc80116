"""The inbox in a real browser (headless Debian Chromium + Selenium), against the running stack.

A letter goes in through real SOAP (mode 2: ForwardOnly + BackupAltinn=true to the citizen without a
postbox, so it lands in the Altinn inbox); the citizen signs in with the demo sign-in, finds it
unread, opens it, downloads an attachment, confirms; then GetCorrespondenceStatusDetailsBasicV3 and
GetCorrespondenceStatusHistoryBasic report Read and Confirmed. A second person cannot reach the
letter, and a form with a forged CSRF token is refused. Screenshots go to the test's directory, and
to ``INNBYGGERPOST_SCREENSHOTS`` (e.g. docs/screenshots) when that is set.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from tests.support import altinn as a
from tests.support import inbox as ib
from tests.support.browser import chromium, requests_with_cookies
from tests.support.harness import Stack, wait_until


def _shot(driver: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    assert driver.save_screenshot(str(path)) and path.stat().st_size > 1000
    target = os.environ.get("INNBYGGERPOST_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(target) / path.name)


def _sign_in(driver: Any, url: str, pid: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url + "/inbox/")
    assert driver.current_url.endswith("/inbox/login")
    driver.find_element(By.ID, f"signin-{pid}").click()
    wait_until(lambda: driver.current_url.endswith("/inbox/"), 10, "the inbox after sign-in")
    assert pid in driver.find_element(By.ID, "signed-in").text


def _switch_language(driver: Any) -> None:
    """Press the language switch (a form POST) and wait until the browser shows the page it leads to
    (the old page's elements are gone), so that nothing is looked up on the page being left."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, "lang-switch").click()

    def left() -> bool:
        try:
            page.is_enabled()
            return False
        except StaleElementReferenceException:
            return True

    wait_until(left, 10, "the page after the language switch")


def _sign_out(driver: Any) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "sign-out").click()
    wait_until(lambda: driver.current_url.endswith("/inbox/login"), 10, "the sign-in page after sign-out")


def test_citizen_reads_downloads_and_confirms_in_the_browser(stack: Stack, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    reference = a.ref("browser")
    corr = a.letter(a.NO_POSTBOX, a.sdp("ForwardOnly", backup=True), title="Vedtak om bostøtte")
    corr["ServiceEdition"] = "2"  # DEMO's 4503:2 asks for confirmation
    corr["Content"]["MessageBody"] = "<p>Du har fått <b>innvilget</b> bostøtte.</p><script>alert(1)</script>"
    corr["ReplyOptions"] = {
        "ReplyOption": [{"URL": {"LinkText": "Klag på vedtaket", "LinkURL": "https://etat.example/klage"}}]
    }
    receipt = a.insert(stack.basic_url, reference, corr)
    assert receipt.ReceiptStatusCode == "OK", receipt.ReceiptText
    letter_id = ib.correspondence_id(stack.basic_url, reference, 2)
    other_ref, other_id = ib.send(stack.basic_url, a.DIGIPOST)
    downloads = tmp_path / "downloads"
    downloads.mkdir()

    with chromium(downloads) as driver:
        driver.get(stack.url + "/inbox/")
        assert driver.find_element(By.ID, "demo-banner").text.startswith("DEMO")
        _shot(driver, tmp_path, "inbox-sign-in")
        _sign_in(driver, stack.url, a.NO_POSTBOX)

        row = driver.find_element(By.CSS_SELECTOR, f'tr[data-letter-id="{letter_id}"]')
        assert "unread" in row.get_attribute("class").split()
        assert row.find_element(By.CSS_SELECTOR, ".sender").text == "Demo service owner"
        assert row.find_element(By.CSS_SELECTOR, ".title").text == "Vedtak om bostøtte"
        assert row.find_element(By.CSS_SELECTOR, ".due").text  # DueDateTime shown
        ids = [
            int(r.get_attribute("data-letter-id")) for r in driver.find_elements(By.CSS_SELECTOR, "tr.letter")
        ]
        assert ids == sorted(ids, reverse=True) and other_id not in ids  # newest first, only her own
        _shot(driver, tmp_path, "inbox-list")

        row.find_element(By.CSS_SELECTOR, ".title .open").click()  # the POST that opens (records Read)
        wait_until(lambda: driver.find_elements(By.ID, "letter-title"), 10, "the letter page")
        assert driver.find_element(By.ID, "letter-title").text == "Vedtak om bostøtte"
        assert driver.find_element(By.ID, "letter-summary").text == "Sammendrag"
        body = driver.find_element(By.ID, "letter-body")
        assert body.find_element(By.TAG_NAME, "b").text == "innvilget"
        assert not body.find_elements(By.TAG_NAME, "script")
        link = driver.find_element(By.CSS_SELECTOR, "#reply-options a")
        assert link.text == "Klag på vedtaket" and link.get_attribute("href") == "https://etat.example/klage"
        _shot(driver, tmp_path, "inbox-letter")

        # Download: fetched with the browser's session cookie, and saved by the browser itself.
        anchors = driver.find_elements(By.CSS_SELECTOR, "#attachments a")
        by_name = {el.get_attribute("data-file-name"): el for el in anchors}
        assert set(by_name) == {"brev.pdf", "vedlegg.txt"}
        r = requests_with_cookies(driver).get(by_name["brev.pdf"].get_attribute("href"), timeout=10)
        assert r.status_code == 200 and r.content == a.PDF
        assert r.headers["Content-Type"] == "application/pdf"
        assert r.headers["Content-Disposition"].startswith('attachment; filename="brev.pdf"')
        by_name["vedlegg.txt"].click()
        saved = downloads / "vedlegg.txt"
        wait_until(lambda: saved.exists() and saved.read_bytes() == b"hei", 15, "the browser's download")

        # The forged token is refused and records nothing; the real one confirms.
        driver.execute_script(
            "document.querySelector('form[action$=\"/confirm\"] input[name=csrf]').value = 'forged';"
        )
        driver.find_element(By.ID, "confirm").click()
        wait_until(lambda: driver.find_elements(By.ID, "error-title"), 10, "the refusal page")
        assert driver.find_element(By.ID, "error-title").text == "Forespørselen ble avvist"
        assert ib.status_types(ib.statuses_v3(stack.basic_url, reference, 2)[0]) == ["Created", "Read"]
        driver.get(f"{stack.url}/inbox/letters/{letter_id}")
        driver.find_element(By.ID, "confirm").click()
        wait_until(lambda: driver.find_elements(By.ID, "confirmed"), 10, "the confirmation")
        assert not driver.find_elements(By.ID, "confirm")

        # English.
        _switch_language(driver)
        wait_until(lambda: driver.find_elements(By.ID, "confirmed"), 10, "the letter page in English")
        assert driver.find_element(By.ID, "confirmed").text.startswith("Confirmed:")
        driver.find_element(By.ID, "back").click()
        wait_until(lambda: driver.find_elements(By.ID, "letters"), 10, "the list in English")
        assert driver.find_element(By.TAG_NAME, "h1").text == "Inbox"
        row = driver.find_element(By.CSS_SELECTOR, f'tr[data-letter-id="{letter_id}"]')
        assert "unread" not in row.get_attribute("class").split()
        _shot(driver, tmp_path, "inbox-list-en")
        _switch_language(driver)

        # A second person: her letter is not there, not even by its URL, nor its attachment.
        _sign_out(driver)
        _sign_in(driver, stack.url, a.DIGIPOST)
        ids = [
            int(r.get_attribute("data-letter-id")) for r in driver.find_elements(By.CSS_SELECTOR, "tr.letter")
        ]
        assert other_id in ids and letter_id not in ids
        driver.get(f"{stack.url}/inbox/letters/{letter_id}")
        assert driver.find_element(By.ID, "error-title").text == "Fant ikke siden"
        href = f"{stack.url}/inbox/letters/{letter_id}/attachments/1"
        assert requests_with_cookies(driver).get(href, timeout=10).status_code == 404

    v3 = ib.statuses_v3(stack.basic_url, reference, 2)[0]
    assert ib.status_types(v3) == ["Created", "Read", "Confirmed"]
    assert ib.history_types(stack.basic_url, reference) == ["Created", "Read", "Confirmed"]
    # Listing is not reading: the second person's letter, listed but not opened, is still only Created.
    assert ib.status_types(ib.statuses_v3(stack.basic_url, other_ref)[0]) == ["Created"]


def test_representative_opens_an_organisations_letter_in_the_browser(stack: Stack, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    pid = a.EBOKS  # seed.json: the demo representative of 910646192
    reference, letter_id = ib.send(stack.basic_url, a.ORGANISATION)
    with chromium(tmp_path) as driver:
        driver.get(stack.url + "/inbox/login")
        driver.find_element(By.ID, f"signin-org-{a.ORGANISATION}-{pid}").click()
        wait_until(lambda: driver.find_elements(By.ID, "reportees"), 10, "the reportee choice")
        driver.find_element(By.ID, f"for-{a.ORGANISATION}").click()
        wait_until(
            lambda: driver.find_elements(By.CSS_SELECTOR, f'tr[data-letter-id="{letter_id}"]'),
            10,
            "the organisation's letter",
        )
        driver.find_element(By.CSS_SELECTOR, f'tr[data-letter-id="{letter_id}"] .title .open').click()
        wait_until(lambda: driver.find_elements(By.ID, "letter-title"), 10, "the letter page")
    assert ib.status_types(ib.statuses_v3(stack.basic_url, reference)[0]) == ["Created", "Read"]
