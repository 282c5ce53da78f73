"""Confirmation votes, conflicts and de-duplication (no camera: votes fed directly)."""

from __future__ import annotations

from kiosk_drivers.scanner.confirm import Confirmer, Presence, same_place

BOX = (100, 100, 300, 180)


def confirmer() -> Confirmer:
    return Confirmer(votes_1d=2, votes_2d=1, window_s=0.6, votes_1d_one_decoder=3)


def test_two_decoders_on_one_frame_confirm_a_1d_code():
    c = confirmer()
    c.vote("A", "EAN13", False, 0.0, 1, "zxing", BOX)
    assert c.confirmed() == []
    c.vote("A", "EAN13", False, 0.0, 1, "zbar", BOX)
    (done,) = c.confirmed()
    assert done.key == "A" and done.decoders == ("zxing", "zbar") and not c.pending


def test_one_decoder_needs_three_differing_frames_and_a_frame_counts_once():
    c = confirmer()
    for _ in range(3):
        c.vote("A", "EAN13", False, 0.0, 1, "zxing", BOX)
    c.vote("A", "EAN13", False, 0.033, 2, "zxing", BOX)
    assert c.confirmed() == []
    c.vote("A", "EAN13", False, 0.066, 3, "zxing", BOX)
    assert [x.key for x in c.confirmed()] == ["A"]


def test_2d_codes_confirm_on_one_read():
    c = confirmer()
    c.vote("Q", "QRCode", True, 0.0, 1, "zxing", BOX)
    assert [x.key for x in c.confirmed()] == ["Q"]


def test_votes_expire_and_are_counted_as_unconfirmed():
    c = confirmer()
    c.vote("A", "EAN13", False, 0.0, 1, "zxing", BOX)
    assert c.expire(0.5) == 0 and c.pending
    assert c.expire(0.7) == 1 and not c.pending
    c.vote("A", "EAN13", False, 0.7, 2, "zbar", BOX)
    assert c.confirmed() == []  # the old vote no longer helps


def test_a_conflicting_read_at_the_same_place_raises_the_bar():
    """Evidence: one per decoder, plus one per further frame showing the code anew."""
    c = confirmer()
    c.vote("WRONG", "EAN13", False, 0.0, 1, "zxing", BOX)
    c.vote("WRONG", "EAN13", False, 0.033, 2, "zxing", BOX, fresh=True)  # 2
    c.vote("RIGHT", "UPCA", False, 0.0, 1, "zbar", BOX)  # EAN and UPC are one family
    c.vote("RIGHT", "EAN13", False, 0.033, 2, "zxing", BOX, fresh=False)  # 2
    assert c.confirmed(0.033) == []  # 2 against 2
    c.vote("RIGHT", "EAN13", False, 0.066, 3, "zbar", BOX, fresh=True)
    assert c.confirmed(0.066) == []  # 3 against 2: needs 2 + 2, or twice 2
    c.vote("RIGHT", "EAN13", False, 0.1, 4, "zbar", BOX, fresh=True)
    assert [x.key for x in c.confirmed(0.1)] == ["RIGHT"]
    assert c.keys() == {"WRONG"}


def test_two_decoders_outweigh_one_decoder_misreading_the_same_picture():
    c = confirmer()
    for frame in range(3):  # held still: zbar returns a misread beside the right reading
        c.vote("WRONG", "EAN13", False, frame / 30, frame, "zbar", BOX, fresh=frame == 0)
    c.vote("RIGHT", "EAN13", False, 0.066, 2, "zbar", BOX)
    c.vote("RIGHT", "EAN13", False, 0.066, 2, "zxing", BOX)
    assert [x.key for x in c.confirmed(0.066)] == ["RIGHT"]


def test_codes_elsewhere_or_of_another_kind_do_not_conflict():
    c = confirmer()
    c.vote("A", "EAN13", False, 0.0, 1, "zxing", BOX)
    c.vote("B", "EAN13", False, 0.0, 1, "zxing", (400, 300, 600, 380))
    c.vote("C", "Code128", False, 0.0, 1, "zxing", BOX)
    for key, sym in (("A", "EAN13"), ("B", "EAN13"), ("C", "Code128")):
        c.vote(key, sym, False, 0.0, 1, "zbar", BOX if key != "B" else (400, 300, 600, 380))
    assert sorted(x.key for x in c.confirmed()) == ["A", "B", "C"]


def test_a_misread_of_a_held_code_is_contested_by_its_sightings():
    c = confirmer()
    for frame in range(1, 4):  # the real code, already published, seen every frame
        c.sighted("REAL", "EAN13", False, frame * 0.033, frame, "zbar", BOX)
    for frame in (2, 3):
        c.vote("MISREAD", "UPCE", False, frame * 0.033, frame, "zxing", BOX)
    c.vote("MISREAD", "UPCE", False, 4 * 0.033, 4, "zxing", BOX)
    assert c.confirmed() == []


def test_a_held_code_that_left_before_a_new_read_does_not_contest_it():
    c = confirmer()
    c.sighted("OLD", "EAN13", False, 0.0, 1, "zxing", BOX)
    c.vote("NEW", "EAN13", False, 0.3, 10, "zxing", BOX)
    c.vote("NEW", "EAN13", False, 0.3, 10, "zbar", BOX)
    assert [x.key for x in c.confirmed()] == ["NEW"]


def test_presence_holds_a_code_until_it_was_away_for_the_holdoff():
    p = Presence(holdoff_s=0.8)
    p.published("A", 0.0)
    for t in (0.3, 0.9, 1.5):  # kept in view: stays held well past the hold-off
        p.expire(t)
        assert p.seen("A", t)
    p.expire(2.2)  # seen last at 1.5: 0.7 s away, still held
    assert p.held("A")
    p.expire(2.4)  # 0.9 s away: it left, the next sighting is a new scan
    assert not p.held("A") and not p.seen("A", 2.4)


def test_same_place_tolerates_thin_scan_line_boxes():
    line_top = (100, 110, 300, 112)
    line_low = (102, 160, 298, 162)
    assert same_place(line_top, line_low)
    assert not same_place(line_top, (500, 110, 700, 112))


def test_a_tie_is_dropped_after_the_window_and_counted():
    """Two readings contesting each other on every frame (what GS1-128 did while zbar's raw
    digits and zxing-cpp's HRI were two texts): neither is published, and the tie ends."""
    c = confirmer()
    for frame in range(40):
        t = frame / 30
        c.vote("HRI", "Code128", False, t, frame, "zxing", BOX)
        c.vote("RAW", "Code128", False, t, frame, "zbar", BOX)
        assert c.confirmed(t) == []
    assert c.ties >= 2  # both dropped once contested for a whole window (0.6 s)


def test_one_decoder_on_the_same_picture_is_not_independent_evidence():
    c = confirmer()
    for frame in range(5):  # held still: the engine marks the repeats as not fresh
        c.vote("A", "EAN13", False, frame / 30, frame, "zbar", BOX, fresh=False)
        assert c.confirmed(frame / 30) == []
    for frame in (5, 6):  # the code moved: two new views
        c.vote("A", "EAN13", False, frame / 30, frame, "zbar", BOX, fresh=True)
    assert [x.key for x in c.confirmed(0.2)] == ["A"]


def test_upce_and_ean8_need_two_decoders():
    c = confirmer()
    for frame in range(5):  # zbar alone, even on frames that differ
        c.vote("E", "UPCE", False, frame / 30, frame, "zbar", BOX, fresh=True)
        c.vote("8", "EAN8", False, frame / 30, frame, "zbar", (400, 300, 500, 340), fresh=True)
    assert c.confirmed(0.15) == []
    c.vote("E", "UPCE", False, 0.15, 5, "zxing", BOX)
    assert [x.key for x in c.confirmed(0.15)] == ["E"]


def test_two_decoders_agreeing_on_the_same_picture_confirm():
    c = confirmer()
    c.vote("A", "EAN13", False, 0.0, 1, "zbar", BOX)
    c.vote("A", "EAN13", False, 0.033, 2, "zbar", BOX, fresh=False)
    c.vote("A", "EAN13", False, 0.033, 2, "zxing", BOX, fresh=False)
    assert [x.key for x in c.confirmed(0.033)] == ["A"]


def test_labels_one_above_the_other_80_px_apart_are_different_places():
    upper = (100, 100, 400, 180)  # two EAN-13 labels 300 px long, 80 px tall
    lower = (100, 260, 400, 340)
    assert not same_place(upper, lower)
    assert not same_place((100, 100, 400, 180), (480, 100, 780, 180))  # side by side
    c = confirmer()
    for key, box in (("UPPER", upper), ("LOWER", lower)):
        c.vote(key, "EAN13", False, 0.0, 1, "zxing", box)
        c.vote(key, "EAN13", False, 0.0, 1, "zbar", box)
    assert sorted(x.key for x in c.confirmed(0.0)) == ["LOWER", "UPPER"]


def test_same_place_still_joins_boxes_of_one_code():
    zxing_line, zbar_box = (211, 212, 444, 231), (210, 212, 445, 264)  # one code at 20 deg
    assert same_place(zxing_line, zbar_box)
    assert same_place((100, 100, 300, 160), (104, 96, 302, 170))


def test_several_misreads_at_one_place_add_up_against_a_reading():
    """A badly printed label (a real photo): one decoder reads it three different ways."""
    c = confirmer()
    for key, dec in (("W1", "zbar"), ("W2", "zxing"), ("W3", "zxing")):
        c.vote(key, "EAN13", False, 0.0, 1, dec, BOX)
    c.vote("RIGHT", "EAN13", False, 0.0, 1, "zxing", BOX)
    c.vote("RIGHT", "EAN13", False, 0.0, 1, "zbar", BOX)
    c.vote("RIGHT", "EAN13", False, 0.033, 2, "zbar", BOX, fresh=True)
    assert c.confirmed(0.033) == []  # 3 against 1 + 1 + 1: not a clear majority
