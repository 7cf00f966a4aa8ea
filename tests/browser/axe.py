"""axe-core in a Playwright page: the WCAG 2 A and AA rules a page must pass.

axe-core comes from npm (tests/browser/package.json, installed by ``make install``) and is
injected from disk, so the check runs offline.
"""

from pathlib import Path

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page):
    """``[(rule id, [selector, ...]), ...]`` of every WCAG 2 A/AA violation on ``page``."""
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        WCAG_TAGS,
    )
    return [
        (violation["id"], [", ".join(node["target"]) for node in violation["nodes"]])
        for violation in results["violations"]
    ]
