"""Headless Debian Chromium driven by Selenium, for the sandbox page tests.

The binaries come from Debian (``chromium``, ``chromium-driver``; ``.ci/run`` installs them): giving
Selenium the driver's path keeps Selenium Manager from trying to download one. The flags keep Chromium
off the network (this machine has none) and out of a sandbox it cannot have as root.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def is_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_browser() -> None:
    """Skips the test locally when Chromium is missing; under CI a missing browser is a failure."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if not missing:
        return
    message = f"{', '.join(missing)} missing (apt-get install chromium chromium-driver)"
    if is_ci():
        pytest.fail(f"CI needs the browser tests' Chromium: {message}")
    pytest.skip(message)


@contextmanager
def headless_chromium(profile: Path, window: str = "1400,1000") -> Iterator[Any]:
    """A fresh browser with its own profile folder; quit afterwards whatever happened."""
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (*FLAGS, f"--window-size={window}", f"--user-data-dir={profile}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
