"""Printer pieces without a port: status bytes, config rules, encoding, the interpreter."""

from __future__ import annotations

import itertools

import pytest
from kiosk_drivers.printer.config import (
    PrinterConfig,
    check_printer_locales,
    locales_needing_raster,
)
from kiosk_drivers.printer.raster import line_image
from kiosk_drivers.printer.sim.decoder import Interpreter
from kiosk_drivers.printer.sim.render import Page
from kiosk_drivers.printer.status import PrinterStatus
from kiosk_drivers.printer.transport import chunks, wire_seconds
from pydantic import ValidationError

from kiosk.domain.receipt import Receipt
from kiosk.printing.encoder import FS_KANJI_ON, ReceiptEncoder, realtime_sequences, scrub_raster
from kiosk.printing.store import ReceiptNotFound, ReceiptStore
from tests.drivers.receipts import make_receipt, receipt_fields

RASTER = b"\x1dv0"


# -- status ------------------------------------------------------------------------------

def test_status_bytes_of_a_printer_out_of_paper_decode_to_paper_out():
    # DLE EOT 1, 2, 3, 4 answers of a printer that ran out of paper
    st = PrinterStatus.decode(0x1A, 0x32, 0x12, 0x7E)
    assert st.paper_out and st.paper_near_end and not st.online
    assert st.fault == "paper_out"


def test_status_of_a_ready_printer_has_no_fault_and_near_end_is_only_a_warning():
    assert PrinterStatus.decode(0x12, 0x12, 0x12, 0x12).fault == ""
    near = PrinterStatus.decode(0x12, 0x12, 0x12, 0x1E)
    assert near.fault == "" and near.warning == "paper_near_end"
    cover = PrinterStatus.decode(0x3A, 0x16, 0x12, 0x12)
    assert cover.fault == "cover_open"


@pytest.mark.parametrize("flags", list(itertools.product([False, True], repeat=4)))
def test_status_encode_decode_round_trip(flags):
    cover, paper_out, near, error = flags
    st = PrinterStatus(online=True, cover_open=cover, paper_out=paper_out,
                       paper_near_end=near, error=error)
    answers = [st.encode(n) for n in (1, 2, 3, 4)]
    assert all(b & 0x93 == 0x12 for b in answers)  # fixed bits of every status byte
    back = PrinterStatus.decode(*answers)
    assert (back.cover_open, back.paper_out, back.error) == (cover, paper_out, error)
    assert back.online == (not (cover or paper_out or error))
    assert back.paper_near_end == (near or paper_out)


# -- config --------------------------------------------------------------------------------

def test_raster_needs_38400_baud():
    with pytest.raises(ValidationError, match="need baudrate >= 38400"):
        PrinterConfig(baudrate=9600)
    assert PrinterConfig(baudrate=9600, raster_fallback=False).baudrate == 9600
    assert PrinterConfig(baudrate=38400).baudrate == 38400


def test_printer_config_is_strict_and_knows_its_width():
    with pytest.raises(ValidationError):
        PrinterConfig(bogus=1)
    with pytest.raises(ValidationError, match="code page"):
        PrinterConfig(code_page="CP9999")
    with pytest.raises(ValidationError, match="baudrate"):
        PrinterConfig(baudrate=12345)
    assert PrinterConfig(paper_width_mm=80).columns == 48
    assert PrinterConfig(paper_width_mm=58).columns == 32


def test_code_page_list_matches_python_escpos():
    from escpos.printer import Dummy
    from kiosk_drivers.printer.config import CODE_PAGES

    assert set(CODE_PAGES) == set(Dummy().profile.get_code_pages()) - {"Unknown"}


def test_locales_that_need_raster_follow_the_printer_font():
    locales = ["en", "zh_Hans", "ko"]
    assert locales_needing_raster(PrinterConfig(cjk_font="gbk"), locales) == ["ko"]
    assert locales_needing_raster(PrinterConfig(cjk_font="ksc5601"), locales) == ["zh_Hans"]
    assert locales_needing_raster(PrinterConfig(), locales) == ["zh_Hans", "ko"]
    with pytest.raises(ValueError, match="raster_fallback is false"):
        check_printer_locales(PrinterConfig(cjk_font="gbk", raster_fallback=False,
                                            baudrate=9600), locales)
    check_printer_locales(PrinterConfig(raster_fallback=False, baudrate=9600), ["en"])


# -- encoding ----------------------------------------------------------------------------------

def _transcript(data: bytes, cjk_font: str = "gbk", width: int = 576) -> tuple[list[str], list]:
    """Run bytes through the simulator's interpreter; returns (text lines, pages)."""
    from kiosk_drivers.printer.config import NOTO_CJK

    pages: list[tuple[Page, bool]] = []
    charset = {"gbk": "gbk", "ksc5601": "euc_kr"}.get(cjk_font)
    interp = Interpreter(lambda: Page(width, NOTO_CJK, 7), lambda p, ok: pages.append((p, ok)),
                         double_byte=charset)
    pos = 0
    while pos < len(data):
        used = interp.step(data, pos)
        assert used, f"interpreter stuck at byte {pos}: {data[pos:pos + 8]!r}"
        pos += used
    assert interp.unknown == 0
    lines = [line for page, _ in pages for line in page.text]
    return lines, pages


def _shows_all(receipt: Receipt, lines: list[str]) -> list[str]:
    """Fields of the receipt missing from the printed lines (a long one may wrap)."""
    joined = "\n".join(" ".join(line.split()) for line in lines)
    wrapped = "".join(lines)
    return [f for f in receipt_fields(receipt) if f not in joined and f not in wrapped]


def test_english_receipt_is_plain_text_with_every_field(config):
    receipt = make_receipt(config, "en")
    enc = ReceiptEncoder(PrinterConfig()).encode(receipt)
    assert enc.mode == "text" and enc.raster_lines == 0
    assert RASTER not in enc.data and FS_KANJI_ON not in enc.data
    lines, pages = _transcript(enc.data, "none")
    assert _shows_all(receipt, lines) == []
    page, complete = pages[0]
    assert complete and page.qr_payloads == [receipt.qr_payload]


def test_chinese_receipt_on_a_gbk_printer_is_text_mode_with_gbk_bytes(config):
    receipt = make_receipt(config, "zh_Hans")
    enc = ReceiptEncoder(PrinterConfig(cjk_font="gbk")).encode(receipt)
    assert enc.raster_lines == 0
    assert FS_KANJI_ON + "辛拉面".encode("gbk") in enc.data
    lines, _ = _transcript(enc.data, "gbk")
    assert _shows_all(receipt, lines) == []


def test_chinese_receipt_without_a_cjk_font_prints_raster_lines(config):
    receipt = make_receipt(config, "zh_Hans")
    enc = ReceiptEncoder(PrinterConfig(cjk_font="none")).encode(receipt)
    assert enc.raster_lines > 0 and FS_KANJI_ON not in enc.data
    lines, pages = _transcript(enc.data, "none")
    assert pages[0][0].images == enc.raster_lines
    # the lines without Chinese are still text
    assert any("US$4.99" in line for line in lines)
    assert not any(ch in "".join(lines) for ch in "辛拉面")


def test_korean_is_raster_on_a_chinese_printer_and_text_on_a_korean_one(config):
    receipt = make_receipt(config, "ko")
    on_gbk = ReceiptEncoder(PrinterConfig(cjk_font="gbk")).encode(receipt)
    assert on_gbk.raster_lines > 0 and FS_KANJI_ON not in on_gbk.data
    on_ksc = ReceiptEncoder(PrinterConfig(cjk_font="ksc5601")).encode(receipt)
    assert on_ksc.raster_lines == 0
    assert FS_KANJI_ON + "신라면".encode("euc_kr") in on_ksc.data
    lines, _ = _transcript(on_ksc.data, "ksc5601")
    assert _shows_all(receipt, lines) == []
    assert on_gbk.size > 10 * on_ksc.size  # why raster needs a fast line


def test_a_character_missing_from_the_font_rasters_only_its_line(config):
    receipt = make_receipt(config, "zh_Hans")
    receipt.lines.insert(0, ("鿐鿐 rare", "US$1.00"))  # U+9FD0: newer than GBK
    enc = ReceiptEncoder(PrinterConfig(cjk_font="gbk")).encode(receipt)
    assert enc.raster_lines == 1


def test_without_raster_fallback_missing_characters_print_as_question_marks(config):
    receipt = make_receipt(config, "ko")
    enc = ReceiptEncoder(PrinterConfig(cjk_font="gbk", raster_fallback=False,
                                       baudrate=9600)).encode(receipt)
    assert enc.raster_lines == 0 and enc.substituted > 0
    lines, _ = _transcript(enc.data, "gbk")
    assert any("?" in line for line in lines)


def test_won_sign_uses_the_full_width_form_of_a_korean_font(config):
    receipt = Receipt(txn="T1", locale="ko", header=["가게"], lines=[("합계", "₩1,000")])
    enc = ReceiptEncoder(PrinterConfig(cjk_font="ksc5601")).encode(receipt)
    assert enc.raster_lines == 0 and "￦".encode("euc_kr") in enc.data


def test_58mm_receipt_fits_32_columns(config):
    receipt = make_receipt(config, "en")
    enc = ReceiptEncoder(PrinterConfig(paper_width_mm=58)).encode(receipt)
    lines, _ = _transcript(enc.data, "none", width=384)
    assert max(len(line) for line in lines) <= 32
    assert _shows_all(receipt, lines) == []


def test_no_segment_carries_a_realtime_command(config):
    for font, locale in itertools.product(["none", "gbk", "ksc5601"], ["en", "zh_Hans", "ko"]):
        enc = ReceiptEncoder(PrinterConfig(cjk_font=font)).encode(make_receipt(config, locale))
        assert [realtime_sequences(s) for s in enc.segments if realtime_sequences(s)] == []


def test_scrub_clears_the_dot_that_would_read_as_dle_eot():
    img = line_image("x", "", 64, font_path=PrinterConfig().raster_font, locale="en")
    from escpos.printer import Dummy

    p = Dummy()
    p.image(img, impl="bitImageRaster")
    seg = bytearray(p.output)
    seg[20:23] = b"\x10\x04\x01"  # image data that says DLE EOT 1
    clean = scrub_raster(bytes(seg))
    assert realtime_sequences(clean) == 0 and len(clean) == len(seg)
    assert sum(a != b for a, b in zip(clean, seg, strict=True)) == 1


def test_chunks_never_split_a_segment():
    segments = [b"a" * 300, b"b" * 900, b"c" * 2000, b"d" * 10]
    out = list(chunks(segments, 1024))
    assert out == [b"a" * 300, b"b" * 900, b"c" * 2000, b"d" * 10]
    assert list(chunks([b"x" * 10] * 5, 25)) == [b"x" * 20, b"x" * 20, b"x" * 10]
    assert wire_seconds(9600, 9600) == 10.0


def test_receipt_store_round_trip_and_refuses_paths(tmp_path, config):
    store = ReceiptStore(tmp_path)
    receipt = make_receipt(config, "ko")
    store.save(receipt)
    assert store.load(receipt.txn) == receipt
    with pytest.raises(ReceiptNotFound):
        store.load("S001-L01-999999")
    with pytest.raises(ValueError):
        store.load("../etc/passwd")


def test_long_lines_wrap_at_spaces_in_text_and_in_raster(config):
    name = "Extra Long Imported Product Name With Many Words 1kg"
    receipt = Receipt(txn="T2", locale="en", header=["Shop"], lines=[(name, "$12,345.67")])
    enc = ReceiptEncoder(PrinterConfig(paper_width_mm=58)).encode(receipt)
    lines, _ = _transcript(enc.data, "none", width=384)
    assert max(len(line) for line in lines) <= 32
    assert " ".join(" ".join(lines).split()).startswith("Shop " + name)  # no word cut
    ko = Receipt(txn="T3", locale="ko", header=["가게"],
                 lines=[("아주 아주 긴 상품 이름이 들어가는 줄입니다 정말로 긴 이름", "₩12,345")])
    one_line = ReceiptEncoder(PrinterConfig(paper_width_mm=80)).encode(
        Receipt(txn="T4", locale="ko", header=["가게"], lines=[("짧은 이름", "₩12,345")]))
    wrapped = ReceiptEncoder(PrinterConfig(paper_width_mm=58)).encode(ko)
    assert one_line.raster_lines == 2  # header + the item line
    assert wrapped.raster_lines >= 3   # header + the long name over two rows (amount on the last)


#: printer commands a hostile text could carry: reset, cut, a real-time status request,
#: NUL, a C1 control and bidi overrides/isolates
HOSTILE_NAME = "Milk\x1b@\x1dV\x00\x10\x04\x01\x85\u202e1L\u2066\u2069\x00"


def _hostile_receipt(config) -> Receipt:
    receipt = make_receipt(config, "en")
    receipt.lines.insert(0, (HOSTILE_NAME, "US$1.00"))
    receipt.header[0] += "\x1b!\x38"          # ESC ! : print mode
    receipt.footer.append("bye\x1bd\x05\x1dV\x41\x00")  # feed, then a partial cut
    receipt.qr_payload += "\x10\x04\x02"
    return receipt


@pytest.mark.parametrize("font", ["none", "gbk", "ksc5601"])
def test_control_characters_in_any_text_never_reach_the_printer(config, font):
    receipt = _hostile_receipt(config)
    enc = ReceiptEncoder(PrinterConfig(cjk_font=font)).encode(receipt)
    assert enc.data.count(b"\x1dV") == 1 and enc.data.rindex(b"\x1dV") == len(enc.data) - 3
    assert enc.data.count(b"\x1b@") == 1 and enc.data.startswith(b"\x1b@")  # INIT only
    assert [realtime_sequences(s) for s in enc.segments if realtime_sequences(s)] == []
    assert "\u202e".encode() not in enc.data and b"\x00\x10" not in enc.data
    lines, pages = _transcript(enc.data, font)
    assert [complete for _, complete in pages] == [True]  # one receipt, one cut at its end
    assert any("Milk@V1L" in line for line in lines)
    assert any(line.strip() == "bye" + "dVA" for line in lines)
    assert pages[0][0].qr_payloads == [make_receipt(config, "en").qr_payload]


# -- raster lines on the printer's column grid (issue 21, item 6) ----------------------------

def _ink_columns(img) -> set[int]:
    """Printer columns (12 dots each) of a raster line that hold any black dot."""
    width, height = img.size
    px = img.load()
    return {x // 12 for x in range(width) for y in range(height) if not px[x, y]}


@pytest.mark.parametrize("locale", ["ko", "zh_Hans"])
def test_a_raster_line_keeps_the_printers_columns(locale):
    # "  2 x $4.99" with the price at the right edge, as a text line prints it: the indent
    # is two columns, each character sits in its own column, a wide one in two, and the
    # price ends in the last column, whatever the font's own advances
    left, right = "  신라면 2 x $4.99" if locale == "ko" else "  辛拉面 2 x $4.99", "$9.98"
    img = line_image(left, right, 576, font_path=PrinterConfig().raster_font, locale=locale)
    cols, expected = [], set()
    for ch in left:
        width = 2 if ord(ch) > 0x1100 else 1
        if not ch.isspace():
            expected |= set(range(len(cols), len(cols) + width))
        cols += [ch] * width
    expected |= set(range(48 - len(right), 48))
    assert _ink_columns(img) == expected
