"""Every string the portal shows is translated in each catalog, placeholders intact.

Extracts the messages afresh from portal/ and templates/ (as `make translations` does), so
a new `_()` without its pt_BR and es translations fails here, naming it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
CATALOGS = ROOT / "portal" / "translations"
LANGUAGES = ("pt_BR", "es")
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd%]|\{[A-Za-z]+\}")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [str(Path(sys.executable).parent / "pybabel"), "-q", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-k", "ngettext:1,2", "--no-location",
         "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
    )  # fmt: skip
    with open(pot, "rb") as file:
        return read_po(file)


def _catalog(language: str):
    with open(CATALOGS / language / "LC_MESSAGES" / "messages.po", "rb") as file:
        return read_po(file)


def _forms(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(extracted, language):
    catalog = _catalog(language)
    missing = [
        message.id
        for message in extracted
        if message.id
        and (
            catalog.get(message.id) is None
            or catalog.get(message.id).fuzzy
            or not all(_forms(catalog.get(message.id)))
        )
    ]
    assert not missing, (
        f"{len(missing)} untranslated in {language} (make translations): {missing[:10]}"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_their_placeholders(language):
    """A translation uses only the message's placeholders, and all of them (a plural's
    singular form may leave out the count)."""
    wrong = []
    for message in _catalog(language):
        if not message.id:
            continue
        plural = isinstance(message.id, tuple)
        ids = message.id if plural else (message.id,)
        known = set().union(*(PLACEHOLDER.findall(text) for text in ids))
        for form in filter(None, _forms(message)):
            used = set(PLACEHOLDER.findall(form))
            if used - known or (not plural and known - used):
                wrong.append((ids[0], form))
    assert not wrong, wrong[:10]
