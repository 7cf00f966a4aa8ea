"""The documentation site builds in strict mode: a broken link or reference fails the suite; and
what the pages include (``--8<-- "path"``) is on the built pages, line for line."""

import html
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# A whole file included (a section, "path:section", is checked by test_docs_snippets), or what
# meant to include one: ruff's Markdown formatting rewrites the line as `--8 < --"path"`.
WHOLE_FILE_INCLUDE = re.compile(r'^\s*--\s*8\s*<\s*--\s*"(?P<path>[^":]+)"$', re.MULTILINE)
DOCS_TOOLS = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")


def missing_docs_tools():
    return [
        name
        for name in DOCS_TOOLS
        if importlib.util.find_spec(name.split(".")[0]) is None or importlib.util.find_spec(name) is None
    ]


@pytest.mark.skipif(
    bool(missing_docs_tools()),
    reason=f"the docs extra is not installed (missing {', '.join(missing_docs_tools())}): "
    "pip install -e '.[docs]'",
)
@pytest.mark.timeout(300)
def test_the_site_builds_strictly(tmp_path):
    site = tmp_path / "site"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(site),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    assert (site / "index.html").is_file()
    assert (site / "api" / "messages" / "index.html").is_file()
    assert missing_included_lines(site) == {}


def page_text(site, page):
    """The text a reader sees on the built page of ``page`` (a path relative to docs/)."""
    folder = page.parent if page.name == "index.md" else page.with_suffix("")
    markup = (site / folder / "index.html").read_text()
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def missing_included_lines(site):
    """``{"page: path": [lines of the file not on the page]}``: a mangled include line
    (``--8 < --"path"``, as ruff's Markdown formatting writes it) shows itself, not the file."""
    missing = {}
    for page in sorted(DOCS.rglob("*.md")):
        for include in WHOLE_FILE_INCLUDE.finditer(page.read_text()):
            text = page_text(site, page.relative_to(DOCS))
            absent = [
                line.strip()
                for line in (ROOT / include["path"]).read_text().splitlines()
                if line.strip() and line.strip() not in text
            ]
            if absent:
                missing[f"{page.relative_to(DOCS)}: {include['path']}"] = absent[:3]
    return missing
