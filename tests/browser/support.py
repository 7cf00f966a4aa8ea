"""What the browser tests share: Debian's chromium, how it is launched, screenshots, and the
marks that skip a test where chromium or axe-core is missing. The fixtures (``server``,
``browser``, ``open_as``) are in this folder's conftest.py."""

from pathlib import Path

import pytest

from tests.browser.axe import AXE

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 15_000

NEEDS_CHROMIUM = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)"
)
NEEDS_AXE = pytest.mark.skipif(
    not AXE.exists(), reason="needs axe-core: make install (npm ci in tests/browser)"
)


def screenshot(page, name):
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
