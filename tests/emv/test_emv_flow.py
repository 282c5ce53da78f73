"""The EMV contact flow (kiosk.payments.emv) against every virtual card profile."""

from __future__ import annotations

import pytest

from kiosk.domain import tlv
from kiosk.payments import emv
from kiosk.payments.emv import EmvError
from kiosk.payments.emv_config import AidConfig, TerminalConfig
from kiosk.sim.emvcard import PROFILES, VISA, VISA_ELECTRON, make_card
from tests.emv.conftest import NOW, UN, run, start

ALL_TVR_BITS = [(byte, bit) for byte in range(1, 6) for bit in range(1, 9)]


def tvr_bits(txn) -> set[tuple[int, int]]:
    return {b for b in ALL_TVR_BITS if txn.tvr_set(b)}


def gac_commands(sale) -> list[bytes]:
    return [a for a in sale.channel.sent if a[:2] == b"\x80\xae"]


def gac_fields(sale, index: int) -> dict[str, bytes]:
    """The DOL values the terminal sent in GENERATE AC number ``index``."""
    cmd = gac_commands(sale)[index]
    data = cmd[5 : 5 + cmd[4]]
    dol = sale.txn.card["8C" if index == 0 else "8D"]
    out, pos = {}, 0
    for tag, length in tlv.parse_dol(dol):
        out[tag] = data[pos : pos + length]
        pos += length
    return out


EXPECTED = {
    # profile: (result or EmvError reason, label, brand)
    "visa": ("TC", "VISA CREDIT", "visa"),
    "mastercard": ("TC", "MASTERCARD", "mastercard"),
    "unionpay": ("TC", "UNIONPAY DEBIT", "unionpay"),
    "t0_visa": ("TC", "VISA CREDIT", "visa"),
    "blocked": ("card_blocked", None, None),
    "app_blocked": ("TC", "VISA DEBIT", "visa"),
    "app_blocked_only": ("no_application", None, None),
    "cobadged": ("TC", "DEBIT MASTERCARD", "mastercard"),
    "aac_after_approval": ("AAC", "VISA CREDIT", "visa"),
    "ppse_only": ("unsupported_card", None, None),
    "gpo_6985": ("TC", "MAESTRO", "maestro"),
    "unionpay_credit": ("TC", "UNIONPAY CREDIT", "unionpay"),
    "unionpay_dual": ("TC", "UNIONPAY DEBIT", "unionpay"),   # the chooser takes the first
    "bad_pan": ("card_data_error", None, None),
    "bad_atr": ("TC", "VISA CREDIT", "visa"),    # the ATR is the reader's business
}


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile(profile):
    outcome, label, brand = EXPECTED[profile]
    if label is None:
        with pytest.raises(EmvError) as err:
            run(profile)
        assert err.value.reason == outcome
        return
    sale = run(profile)
    assert sale.result == outcome
    summary = sale.txn.summary()
    assert (summary["label"], summary["brand"]) == (label, brand)
    assert summary["first_cid"] == "ARQC" and summary["second_cid"] == outcome
    assert summary["arqc"] == sale.txn.arqc.hex().upper()
    assert summary[outcome.lower()] == sale.txn.final_cryptogram.hex().upper()
    assert summary["pan_masked"] == sale.card.apps[0].pan[:6] + "******" + \
        sale.card.apps[0].pan[-4:]


def test_visa_bits_one_by_one():
    sale = run("visa")
    txn = sale.txn
    # exactly: offline data authentication not performed (B1b8), exceeds floor limit (B4b8)
    assert tvr_bits(txn) == {emv.TVR_ODA_NOT_PERFORMED, emv.TVR_EXCEEDS_FLOOR_LIMIT}
    assert txn.tvr_hex == "8000008000"
    # TSI: CV performed, card RM, issuer authentication, terminal RM; no ODA
    assert txn.tsi_hex == "7800"
    # CVM list 4203 5E03 1F03: online PIN / signature "if terminal supports" are skipped
    # without any TVR bit, then No CVM required succeeds
    assert txn.cvm_results == bytes.fromhex("1F0302")
    assert txn.issuer_auth is True
    assert b"\x00\x82\x00\x00" in [c[:4] for c in sale.channel.sent]  # EXTERNAL AUTHENTICATE
    first = gac_fields(sale, 0)
    assert first["95"] == bytes.fromhex("8000008000")
    assert first["9F02"] == bytes.fromhex("000000001234")
    assert first["5F2A"] == bytes.fromhex("0840")
    assert first["9A"] == bytes.fromhex("261125")
    assert first["9F37"] == UN
    assert first["9C"] == b"\x00"
    assert gac_commands(sale)[0][2] == 0x80  # ARQC requested
    assert gac_commands(sale)[1][2] == 0x40  # TC requested
    assert gac_fields(sale, 1)["8A"] == b"00"


def test_mastercard_no_pse_uses_aid_list_and_sets_pin_pad_bit():
    sale = run("mastercard")
    txn = sale.txn
    assert sale.channel.sent[0][5:19] == b"1PAY.SYS.DDF01"
    selects = [a[5 : 5 + a[4]] for a in sale.channel.sent if a[1] == 0xA4]
    # PSE 6A82, Visa and Visa Electron not found, then Mastercard; final SELECT
    assert selects[:4] == [b"1PAY.SYS.DDF01", bytes.fromhex("A0000000031010"),
                           bytes.fromhex("A0000000032010"), bytes.fromhex("A0000000041010")]
    assert selects[-1] == bytes.fromhex("A0000000041010")
    # CVM 4200 (online PIN, apply next) then 1F00: PIN pad bit B3b5, then No CVM succeeds
    assert tvr_bits(txn) == {emv.TVR_ODA_NOT_PERFORMED, emv.TVR_PIN_PAD_NOT_PRESENT,
                             emv.TVR_EXCEEDS_FLOOR_LIMIT}
    assert txn.tvr_hex == "8000108000"
    assert txn.cvm_results == bytes.fromhex("1F0002")
    # AIP 1900: no issuer authentication → no EXTERNAL AUTHENTICATE; 91 travels in CDOL2
    assert txn.issuer_auth is None and txn.tsi_hex == "6800"
    assert not any(a[1] == 0x82 for a in sale.channel.sent)
    assert gac_fields(sale, 1)["91"] == sale.card.arpc(txn.arqc, b"00")
    first = gac_fields(sale, 0)
    assert first["9F35"] == b"\x24" and first["9F34"] == bytes.fromhex("1F0002")


def test_t0_card_version_mismatch_and_get_response():
    sale = run("t0_visa")
    assert sale.result == "TC"
    assert tvr_bits(sale.txn) == {emv.TVR_ODA_NOT_PERFORMED, emv.TVR_VERSIONS_DIFFER,
                                  emv.TVR_EXCEEDS_FLOOR_LIMIT}
    headers = [a[:2] for a in sale.channel.sent]
    assert b"\x00\xc0" in headers  # GET RESPONSE after 61xx
    reads = [a for a in sale.channel.sent if a[1] == 0xB2]
    assert any(a[4] != 0 for a in reads)  # resent with the Le from 6Cxx


def test_unionpay_international_card_allowed():
    sale = run("unionpay")
    assert sale.txn.card["5F28"] == bytes.fromhex("0156")
    assert not sale.txn.tvr_set(emv.TVR_SERVICE_NOT_ALLOWED)
    assert sale.txn.cvm_results == bytes.fromhex("1F0002")
    # PDOL 9F02 06 5F2A 02 filled from the transaction
    gpo = next(a for a in sale.channel.sent if a[:2] == b"\x80\xa8")
    assert gpo[5:] == bytes.fromhex("8308") + bytes.fromhex("000000001234") + \
        bytes.fromhex("0840") + b"\x00"


def test_blocked_card_stops_after_one_apdu():
    sale = start("blocked")
    with pytest.raises(EmvError) as err:
        sale.txn.select(lambda c: 0)
    assert err.value.reason == "card_blocked"
    assert sale.channel.apdu_count == 1


def test_app_blocked_final_select_6283_then_next_candidate():
    offered = []
    sale = run("app_blocked", choose=lambda c: offered.append(len(c)) or 0)
    assert offered == [2]  # PSE lists both; the blocked one is found at final selection
    assert sale.txn.blocked_aids == [VISA]
    assert sale.txn.selected.aid == VISA_ELECTRON


def test_app_blocked_in_aid_list_is_skipped_without_asking():
    card = make_card("app_blocked")
    card.pse = False
    offered = []
    sale = run(card, choose=lambda c: offered.append(len(c)) or 0)
    assert offered == [] and sale.result == "TC"
    assert sale.txn.blocked_aids == [VISA]
    assert [c.aid for c in sale.txn.candidates] == [VISA_ELECTRON]


def test_cobadged_shopper_chooses_in_priority_order():
    sale = run("cobadged", choose=lambda c: 1)
    assert sale.offered == [["DEBIT MASTERCARD", "MAESTRO"]]
    assert sale.txn.selected.label == "MAESTRO" and sale.result == "TC"
    for bad in (-1, 2, None):
        with pytest.raises(EmvError) as err:
            run("cobadged", choose=lambda c, b=bad: b)
        assert err.value.reason == "cancelled"


def test_confirmation_bit_asks_even_for_one_application():
    card = make_card("visa")
    card.apps[0].priority = 0x81  # b8: cardholder confirmation required
    sale = run(card)
    assert sale.offered == [["VISA CREDIT"]]
    assert sale.txn.selected.needs_confirmation is True


def test_gpo_6985_drops_application_and_reselects():
    sale = run("gpo_6985")
    assert sale.offered == [["MASTERCARD", "MAESTRO"]]  # asked once; then one remains
    gpos = [a for a in sale.channel.sent if a[:2] == b"\x80\xa8"]
    assert len(gpos) == 2
    assert sale.txn.selected.label == "MAESTRO"


def test_ppse_only_card_is_unsupported():
    sale = start("ppse_only")
    with pytest.raises(EmvError) as err:
        sale.txn.select(lambda c: 0)
    assert err.value.reason == "unsupported_card"
    assert emv.is_contactless_atr(bytes.fromhex("3B8F8001804F0CA000000306030001000000006A"))
    assert not emv.is_contactless_atr(make_card("visa").atr())


def test_partial_aid_matching_and_select_next():
    card = make_card("app_blocked")
    card.pse = False
    card.apps[0].select_sw = 0x9000
    term = TerminalConfig(aids=[AidConfig(name="Visa RID", aid="A000000003", brand="visa")])
    sale = run(card, terminal=term, choose=lambda c: 1)
    assert sale.offered == [["VISA CREDIT", "VISA DEBIT"]]
    p2s = [a[3] for a in sale.channel.sent if a[1] == 0xA4][1:]
    assert p2s[:3] == [0x00, 0x02, 0x02]  # first, next, next (until 6A82)
    exact = TerminalConfig(aids=[AidConfig(name="Visa RID", aid="A000000003", brand="visa",
                                           partial=False)])
    with pytest.raises(EmvError) as err:
        run(card, terminal=exact)
    assert err.value.reason == "no_application"


def test_malformed_pse_directory_falls_back_to_aid_list():
    sale = start("visa")

    def tamper(apdu, resp):
        if apdu[1] == 0xB2 and sale.card._selected == "pse":
            return bytes.fromhex("7005610A4F") + b"\x90\x00"
        return resp

    sale.channel.tamper = tamper
    sale.txn.select(lambda c: 0)
    assert sale.txn.selected.aid == VISA


def test_host_unreachable_requests_aac_with_z3():
    sale = run("visa", host="unreachable")
    assert sale.result == "AAC"
    assert gac_commands(sale)[1][2] == 0x00
    assert gac_fields(sale, 1)["8A"] == b"Z3"
    assert sale.txn.summary()["arc"] == "Z3"
    assert not any(a[1] == 0x82 for a in sale.channel.sent)


def test_host_decline_requests_aac():
    sale = run("visa", host="decline")
    assert sale.result == "AAC" and gac_fields(sale, 1)["8A"] == b"05"


def test_partial_approval_refused_by_caller():
    sale = start("visa")
    sale.txn.select(lambda c: 0)
    sale.txn.read_data()
    sale.txn.analyse()
    sale.txn.first_ac()
    assert sale.txn.second_ac(b"10", None, approved=False) == "AAC"


def test_approval_without_arpc_skips_external_authenticate():
    sale = run("visa", host="approve_no_arpc")
    assert sale.result == "TC" and sale.txn.issuer_auth is None
    assert sale.txn.tsi_hex == "6800"


def test_wrong_arpc_fails_issuer_authentication():
    sale = start("visa")
    sale.txn.select(lambda c: 0)
    sale.txn.read_data()
    sale.txn.analyse()
    sale.txn.first_ac()
    result = sale.txn.second_ac(b"00", tlv.encode("91", bytes(8) + b"00"))
    assert sale.txn.issuer_auth is False
    assert sale.txn.tvr_set(emv.TVR_ISSUER_AUTH_FAILED)
    assert result == "AAC"  # the card refuses a TC after failed issuer authentication


def test_issuer_scripts_before_and_after():
    sale = start("visa")
    sale.txn.select(lambda c: 0)
    sale.txn.read_data()
    sale.txn.analyse()
    arqc = sale.txn.first_ac()
    good = tlv.encode("71", tlv.encode("9F18", b"\x00\x00\x00\x01")
                      + tlv.encode("86", bytes.fromhex("841E000008") + bytes(8)))
    bad = tlv.encode("72", tlv.encode("9F18", b"\x00\x00\x00\x02")
                     + tlv.encode("86", bytes.fromhex("84FF000000")))
    issuer = tlv.encode("91", sale.card.arpc(arqc, b"00")) + good + bad
    assert sale.txn.second_ac(b"00", issuer) == "TC"
    order = [a[1] for a in sale.channel.sent[-4:]]
    assert order == [0x82, 0x1E, 0xAE, 0xFF]  # EXT AUTH, script 71, GAC 2, script 72
    assert sale.card.script_log and sale.card.script_log[0][:2] == b"\x84\x1e"
    assert [s["ok"] for s in sale.txn.scripts] == [True, False]
    assert sale.txn.tvr_set(emv.TVR_SCRIPT_FAILED_AFTER)
    assert not sale.txn.tvr_set(emv.TVR_SCRIPT_FAILED_BEFORE)
    assert sale.txn.tsi_hex == "7C00"  # script processing performed (B1b3) as well


def test_malformed_issuer_data_still_completes():
    sale = start("visa")
    sale.txn.select(lambda c: 0)
    sale.txn.read_data()
    sale.txn.analyse()
    sale.txn.first_ac()
    assert sale.txn.second_ac(b"00", b"\x91\x0a\x01") == "TC"
    assert sale.txn.tvr_set(emv.TVR_ISSUER_AUTH_FAILED)


@pytest.mark.parametrize("tag", ["5A", "5F24", "8C", "8D"])
def test_mandatory_data_missing_declines_without_request(tag):
    card = make_card("visa")
    card.apps[0].overrides[tag] = None
    sale = start(card)
    sale.txn.select(lambda c: 0)
    with pytest.raises(EmvError) as err:
        sale.txn.read_data()
    assert err.value.reason == "card_data_missing"
    assert sale.txn.tvr_set(emv.TVR_ICC_DATA_MISSING)
    assert not gac_commands(sale)
    with pytest.raises(EmvError):
        sale.txn.first_ac()


@pytest.mark.parametrize("now, bit", [
    (NOW.replace(year=2031), emv.TVR_EXPIRED),
    (NOW.replace(year=2019), emv.TVR_NOT_YET_EFFECTIVE),
])
def test_dates(now, bit):
    sale = run("visa", now=now)
    assert tvr_bits(sale.txn) == {emv.TVR_ODA_NOT_PERFORMED, emv.TVR_EXCEEDS_FLOOR_LIMIT, bit}
    assert sale.result == "TC"  # the issuer decides online


def test_auc_forbidding_domestic_goods_is_denied_offline():
    card = make_card("visa")
    card.apps[0].auc = bytes([0xDF, 0x00])  # domestic goods (B1b6) cleared
    sale = start(card)
    sale.txn.select(lambda c: 0)
    sale.txn.read_data()
    sale.txn.analyse()
    assert sale.txn.tvr_set(emv.TVR_SERVICE_NOT_ALLOWED)
    assert sale.txn.decision == "AAC"  # TAC-Denial 0010000000 matches
    with pytest.raises(EmvError) as err:
        sale.txn.first_ac()
    assert err.value.reason == "terminal_declined"
    assert gac_commands(sale)[0][2] == 0x00
    assert "aac" in sale.txn.summary()


def _analysed(card, **kw):
    sale = start(card, **kw)
    sale.txn.select(lambda c: 0)
    sale.txn.read_data()
    sale.txn.analyse()
    return sale.txn


@pytest.mark.parametrize("cvm, amount, results, bits, tsi_cv", [
    # online PIN without apply-next: fails; PIN pad bit and CV not successful
    ("0200", 1234, "020001", {emv.TVR_PIN_PAD_NOT_PRESENT, emv.TVR_CV_NOT_SUCCESSFUL}, True),
    # offline plaintext PIN, apply next, then signature (not supported), nothing left
    ("4100" "1E00", 1234, "1E0001",
     {emv.TVR_PIN_PAD_NOT_PRESENT, emv.TVR_CV_NOT_SUCCESSFUL}, True),
    # unrecognised CVM code 0x2A with apply next, then No CVM
    ("6A00" "1F00", 1234, "1F0002", {emv.TVR_UNRECOGNISED_CVM}, True),
    # "fail CVM processing"
    ("0000", 1234, "000001", {emv.TVR_CV_NOT_SUCCESSFUL}, True),
    # no condition satisfied (manual cash only): 3F0001
    ("1F04", 1234, "3F0001", {emv.TVR_CV_NOT_SUCCESSFUL}, True),
    # amount conditions (X = 10.00): under X no CVM, else online PIN
    ("1F06" "0200", 500, "1F0602", set(), True),
    ("1F06" "0200", 5000, "020001",
     {emv.TVR_PIN_PAD_NOT_PRESENT, emv.TVR_CV_NOT_SUCCESSFUL}, True),
    # no CVM list at all: ICC data missing, CVM results 3F0000, TSI CV bit clear
    (None, 1234, "3F0000", {emv.TVR_ICC_DATA_MISSING}, False),
])
def test_cvm_list_processing(cvm, amount, results, bits, tsi_cv):
    card = make_card("visa")
    card.apps[0].overrides["8E"] = (bytes.fromhex("000003E800000000" + cvm)
                                    if cvm is not None else None)
    txn = _analysed(card, amount=amount)
    assert txn.cvm_results.hex().upper() == results
    assert tvr_bits(txn) == {emv.TVR_ODA_NOT_PERFORMED, emv.TVR_EXCEEDS_FLOOR_LIMIT} | bits
    assert bool(txn.tsi[0] & 0x40) == tsi_cv
    assert txn.decision == "ARQC"


def test_card_without_cv_support_skips_cvm():
    card = make_card("visa")
    card.apps[0].aip = bytes.fromhex("0C00")
    txn = _analysed(card)
    assert txn.cvm_results == bytes.fromhex("3F0000") and not txn.tsi[0] & 0x40


def test_amount_conditions_need_matching_currency():
    card = make_card("visa")
    card.apps[0].overrides["8E"] = bytes.fromhex("000003E800000000" "1F06" "1F00")
    txn = _analysed(card, amount=500, currency=978)  # EUR sale, USD application currency
    assert txn.cvm_results == bytes.fromhex("1F0002")  # the "under X" rule was skipped


def test_krw_exponent_zero():
    sale = run("unionpay", amount=15000, currency=410, exponent=0)
    assert sale.result == "TC"
    first = gac_fields(sale, 0)
    assert first["9F02"] == bytes.fromhex("000000015000")
    assert first["5F2A"] == bytes.fromhex("0410")
    icc = tlv.primitives(tlv.parse(sale.txn.icc_data(["9F02", "5F2A", "5F36"])))
    assert icc == {"9F02": bytes.fromhex("000000015000"), "5F2A": bytes.fromhex("0410"),
                   "5F36": b"\x00"}


def test_icc_data_and_card_fields():
    sale = run("visa")
    tags = ["82", "84", "95", "9A", "9C", "5F2A", "9F02", "9F03", "9F10", "9F1A", "9F26",
            "9F27", "9F33", "9F34", "9F35", "9F36", "9F37", "9F41"]
    icc = tlv.primitives(tlv.parse(sale.txn.icc_data(tags)))
    assert list(icc) == tags
    assert icc["9F41"] == bytes.fromhex("00000007")  # from the counter callback
    assert icc["9F33"] == bytes.fromhex("200800")
    assert icc["84"] == VISA
    for secret in ("57", "5A", "5F20", "56", "9F6B"):
        with pytest.raises(ValueError):
            sale.txn.icc_data(["9F02", secret])
    assert sale.txn.track2_equivalent() == sale.card.apps[0].track2()
    assert sale.txn.pan() == sale.card.apps[0].pan


def test_amount_validation():
    card = make_card("visa")
    for amount in (0, -1, 10**12):
        with pytest.raises(ValueError):
            start(card, amount=amount)


def test_calls_out_of_order():
    sale = start("visa")
    with pytest.raises(EmvError) as err:
        sale.txn.read_data()
    assert err.value.reason == "sequence"
    with pytest.raises(EmvError):
        sale.txn.second_ac(b"00", None)
