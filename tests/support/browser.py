"""Headless Debian Chromium driven by Selenium, with nothing downloaded at run time.

The driver is /usr/bin/chromedriver (Service path given, so Selenium Manager is never run, and
SE_OFFLINE=true in case it were); the browser is /usr/bin/chromium with a fresh profile. Both come
from Debian's ``chromium`` and ``chromium-driver`` (deploy/system-deps.sh). Missing under CI=true
is a failure, elsewhere a skip that says what to install.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--window-size=1100,760",
)


def require_chromium() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        message = f"browser tests need Debian chromium and chromium-driver ({', '.join(missing)} missing): run make test as root or apt-get install chromium chromium-driver"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def chromium(download_dir: Path) -> Iterator[object]:
    require_chromium()
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="innbyggerpost-chromium-")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(download_dir),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def requests_with_cookies(driver: object) -> requests.Session:
    """A requests session carrying the browser's cookies (to fetch what the browser links to)."""
    s = requests.Session()
    for c in driver.get_cookies():  # type: ignore[attr-defined]
        s.cookies.set(c["name"], c["value"], path=c.get("path", "/"))
    return s
