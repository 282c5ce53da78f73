"""E-receipt links (pure, plus the key file): signed, expiring, nothing personal in them."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from kiosk.printing.ereceipt import (
    KeyFileError,
    LinkError,
    LinkSigner,
    load_key,
    make_token,
    open_signer,
    read_token,
)

KEY = bytes(range(32))
NOW = 1_780_000_000
TEMPLATE = "https://receipts.harbour-street.test/r/{txn}"


def signer(valid_s: int = 30 * 86400) -> LinkSigner:
    return LinkSigner(KEY, TEMPLATE, valid_s)


def token_of(link: str) -> str:
    return urlsplit(link).path.rsplit("/", 1)[1]


@pytest.mark.parametrize("lang", ["en", "zh_Hans", "ko"])
def test_a_link_carries_the_receipt_its_language_and_expiry_and_opens_until_then(lang):
    link = signer().link("S001-L01-000042", lang, now=NOW)
    assert link.startswith("https://receipts.harbour-street.test/r/S001-L01-000042.")
    claim = read_token(KEY, token_of(link), now=NOW + 30 * 86400 - 1)
    assert (claim.txn, claim.lang, claim.expires) == ("S001-L01-000042", lang,
                                                      NOW + 30 * 86400)
    with pytest.raises(LinkError) as err:
        read_token(KEY, token_of(link), now=NOW + 30 * 86400)
    assert (err.value.reason, err.value.lang) == ("expired", lang)


def test_nothing_but_id_language_expiry_and_signature_is_in_the_link():
    link = signer().link("S001-L01-000042", "ko", now=NOW)
    txn, lang, expires, sig = token_of(link).rsplit(".", 3)
    assert (txn, lang, expires) == ("S001-L01-000042", "ko", str(NOW + 30 * 86400))
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", sig)        # HMAC-SHA256, base64url
    assert "?" not in link and "#" not in link


def test_a_transaction_id_with_dots_still_reads_back():
    token = make_token(KEY, "S001.L01.000042", "en", NOW + 60)
    assert read_token(KEY, token, now=NOW).txn == "S001.L01.000042"


@pytest.mark.parametrize("field", [0, 1, 2, 3])
def test_any_change_to_a_link_is_refused_as_tampered(field):
    parts = make_token(KEY, "S001-L01-000042", "en", NOW + 60).rsplit(".", 3)
    changed = {0: "S001-L01-000043", 1: "ko", 2: str(NOW + 10 ** 6),
               3: ("B" if parts[3][0] != "B" else "C") + parts[3][1:]}[field]
    parts[field] = changed
    with pytest.raises(LinkError) as err:
        read_token(KEY, ".".join(parts), now=NOW)
    assert err.value.reason == "tampered"
    assert err.value.lang == ("ko" if field == 1 else "en")  # readable: the page's language


def test_a_link_signed_with_another_key_is_tampered():
    token = make_token(bytes(32), "S001-L01-000042", "en", NOW + 60)
    with pytest.raises(LinkError, match="tampered"):
        read_token(KEY, token, now=NOW)


def test_an_expired_link_is_only_called_expired_when_genuine():
    token = make_token(bytes(32), "S001-L01-000042", "en", NOW - 60)
    with pytest.raises(LinkError, match="tampered"):
        read_token(KEY, token, now=NOW)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "S1.en.12.", "../x.en.1.AAAA",
                                   "S1.en.١٢٣." + "A" * 43, "S1.xx-YY.12." + "A" * 43,
                                   "S1.en.-12." + "A" * 43, "S1.en.12." + "A" * 500,
                                   "S1..en.12." + "A" * 43, "x" * 10_000])
def test_a_malformed_link_is_refused_as_malformed(token):
    with pytest.raises(LinkError) as err:
        read_token(KEY, token, now=NOW)
    assert err.value.reason in ("malformed", "tampered")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_claim_or_a_link_error_never_a_crash(text):
    try:
        read_token(KEY, text, now=NOW)
    except LinkError as exc:
        assert exc.reason in ("malformed", "tampered", "expired")


def test_the_key_file_is_made_once_private_and_then_reused(tmp_path):
    path = tmp_path / "state" / "ereceipt.key"
    key = load_key(path, create=True)
    assert len(key) == 32 and path.stat().st_mode & 0o777 == 0o600
    assert load_key(path, create=True) == key == load_key(path)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_key_file_looser_than_0600_is_refused(tmp_path, mode):
    path = tmp_path / "ereceipt.key"
    load_key(path, create=True)
    path.chmod(mode)
    with pytest.raises(KeyFileError, match="looser than 0600"):
        load_key(path)


def test_a_key_file_of_another_user_or_malformed_or_missing_is_refused(tmp_path):
    path = tmp_path / "ereceipt.key"
    with pytest.raises(KeyFileError, match="cannot read"):
        load_key(path)
    load_key(path, create=True)
    if os.geteuid() == 0:
        os.chown(path, 4242, -1)
        with pytest.raises(KeyFileError, match="not owned"):
            load_key(path)
        os.chown(path, 0, -1)
    path.write_text("00" * 16 + "\n")
    with pytest.raises(KeyFileError, match="32 bytes"):
        load_key(path)


def test_links_are_on_only_when_the_store_has_an_e_receipt_url(config):
    assert open_signer(config) is None
    store = config.store.model_copy(update={"e_receipt_url": TEMPLATE})
    made = open_signer(config.model_copy(update={"store": store}), create=True)
    assert made is not None and config.ereceipt_key_file.exists()
    assert made.valid_s == config.ereceipt.valid_days * 86400 == 30 * 86400


@pytest.mark.parametrize("url", ["http://127.0.0.1:8088/r/{txn}", "http://localhost/r/{txn}",
                                 "http://[::1]:8088/r/{txn}"])
def test_plain_http_is_allowed_on_loopback_only(config, url):
    data = config.store.model_dump()
    data["e_receipt_url"] = url
    assert type(config.store).model_validate(data).e_receipt_url == url
    data["e_receipt_url"] = url.replace("127.0.0.1", "10.0.0.7").replace(
        "localhost", "shop.test").replace("[::1]", "[fe80::1]")
    with pytest.raises(ValidationError, match="e_receipt_url"):
        type(config.store).model_validate(data)


def test_the_longest_link_fits_the_state_message_field(config):
    from kiosk.bus.messages import StateMessage

    template = "https://" + "r" * (120 - len("https:///{txn}")) + "/{txn}"
    store = config.store.model_copy(update={"e_receipt_url": template})
    type(config.store).model_validate(store.model_dump())
    link = LinkSigner(KEY, template, 10 ** 9).link("S" * 64, "zh_Hans", now=NOW)
    StateMessage.model_validate({"v": 1, "type": "state", "seq": 1, "state": "approved",
                                 "e_receipt": link})
    with pytest.raises(ValidationError, match="e_receipt_url"):
        type(config.store).model_validate(dict(store.model_dump(), e_receipt_url="https://"
                                               + "r" * 120 + "/{txn}"))
