"""The gettext catalogs: complete, in step with the code, placeholders intact.

Extraction is reproducible (config/i18n/update-catalogs.sh runs the same Babel
extraction); this test re-extracts into a scratch file and compares, so a
string added to the code without updating the catalogs fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po

from kiosk.i18n import I18N_DIR, catalog_path
from tests.harness import REPO

pytestmark = pytest.mark.ui
RECEIPT_MSGIDS = {"Subtotal", "Tax", "Incl. tax", "Total", "You saved", "Card", "Mobile QR",
                  "Approval code", "Transaction", "Thank you for shopping with us"}


def ids(catalog) -> set:
    return {m.id for m in catalog if m.id}


def load(locale: str):
    with catalog_path(locale).open("rb") as fh:
        return read_po(fh, locale=locale)


def test_catalogs_match_the_code(tmp_path):
    pot = tmp_path / "kiosk.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract",
                    "-F", str(I18N_DIR / "babel.cfg"), "-k", "tr", "-k", "ntr:1,2", "-k", "N_",
                    "-o", str(pot), "."], cwd=REPO, check=True, capture_output=True)
    with pot.open("rb") as fh:
        extracted = ids(read_po(fh))
    assert RECEIPT_MSGIDS <= extracted
    for locale in ("en", "zh_Hans", "ko"):
        in_po = ids(load(locale))
        assert extracted - in_po == set(), f"{locale}: run config/i18n/update-catalogs.sh"
        assert in_po - extracted == set(), f"{locale}: obsolete entries"


@pytest.mark.parametrize("locale", ["zh_Hans", "ko"])
def test_every_string_is_translated_with_its_placeholders(locale):
    catalog = load(locale)
    assert catalog.plural_forms == "nplurals=1; plural=0;"
    for m in catalog:
        if not m.id:
            continue
        sources = m.id if isinstance(m.id, tuple) else (m.id,)
        targets = m.string if isinstance(m.string, tuple) else (m.string,)
        assert all(targets) and not m.fuzzy, f"{locale}: untranslated {m.id!r}"
        wanted = set(re.findall(r"\{\w+\}", sources[0]))
        for target in targets:
            assert set(re.findall(r"\{\w+\}", target)) == wanted, f"{locale}: {m.id!r}"


def test_no_shopper_text_sends_them_to_a_camera_the_lane_may_not_have():
    """The lane's code reader is ``devices.scanner``: a camera OR a wedge (a handheld or
    presentation scanner, no camera). The wallet screen said "show your code to the camera"
    over "hold it under the scanner": one device, named "the scanner", true of both."""
    camera = re.compile(r"\bcamera\b|摄像头|카메라", re.IGNORECASE)
    for domain in ("kiosk", "voice"):
        for locale in ("en", "zh_Hans", "ko"):
            with catalog_path(locale, domain).open("rb") as fh:
                for m in read_po(fh, locale=locale):
                    texts = [m.id, m.string] if isinstance(m.id, str) else [*m.id, *m.string]
                    assert not any(camera.search(t or "") for t in texts), (locale, m.id)


def test_no_message_is_in_a_catalog_twice():
    """A message id written twice in a .po (a hand edit next to an existing one) is an error
    for msgfmt, and Babel's reader silently keeps one of the two translations."""
    for domain in ("kiosk", "voice"):
        for path in [I18N_DIR / f"{domain}.pot"] + [catalog_path(locale, domain)
                                                   for locale in ("en", "zh_Hans", "ko")]:
            ids = re.findall(r'^msgid ((?:".*"\n)+)(?=msgid_plural|msgstr)', path.read_text(),
                             re.MULTILINE)
            twice = {i for i in ids if ids.count(i) > 1}
            assert not twice, (path.name, twice)
