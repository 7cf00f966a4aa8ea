"""The documentation site builds in strict mode: a broken link or reference fails the suite."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
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
