"""An invoices file may write a status as the UI shows it, in any of the three languages."""

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from portal.credit.bulk import STATUS_WORDS

CATALOGS = Path(__file__).parents[2] / "portal" / "translations"


@pytest.mark.parametrize("language", ["pt_BR", "es"])
@pytest.mark.parametrize(
    "label, status",
    [("Open", "Opened"), ("Paid", "Paid"), ("Cancelled", "Cancelled"), ("Overdue", "Opened")],
)
def test_the_status_words_of_every_catalog_are_read(language, label, status):
    with open(CATALOGS / language / "LC_MESSAGES" / "messages.po", "rb") as file:
        catalog = read_po(file)
    shown = catalog.get(label).string
    assert shown, f"{label} is not translated in {language}"
    assert STATUS_WORDS.get(shown.strip().lower()) == status, (language, shown)
    assert STATUS_WORDS.get(label.lower()) == status
