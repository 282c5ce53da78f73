"""Confirmation before publishing, and de-duplication of a code held in view.

A wrong item in the basket is worse than a slow read. EAN/UPC carry a single mod-10
check digit, and line-scanning decoders occasionally return a wrong code whose check
digit still holds (scan lines crossing the printed digits, blur merging bars). So a
read is only *confirmed* once it has enough independent evidence inside a short window:

* a vote is one (frame, decoder) pair; its *evidence* is one per decoder that read the
  code plus one per further frame that showed the code anew (``fresh``: the engine
  compares the code's region with the frames that voted before). One decoder repeating
  itself on nearly identical frames is not independent evidence (measured on real
  photos held still: zbar read a UPC-A as a UPC-E, zxing-cpp an EAN-13 with wrong
  leading digits, the same way on every frame);
* 1-D codes need ``votes_1d`` (2: two decoders on one frame) when two decoders agree,
  ``votes_1d_one_decoder`` (3: three differing frames) from one decoder; UPC-E and
  EAN-8, which a scan line crossing part of a longer code decodes to, need two decoders;
  2-D codes need ``votes_2d`` (1: QR and DataMatrix carry Reed-Solomon error correction);
* conflicting reads (different texts of the same symbology family at the same place in
  the window) raise the bar by their evidence, all of them together (a badly printed
  label on a real photo gave five different check-digit-valid EAN-13s), so a disputed
  code waits for a clear majority instead of publishing either reading: its own bar
  plus theirs, or, read by two decoders, at least twice their evidence (zbar often
  returns a misread next to the right reading of a still picture; both decoders agreeing
  on the right one outweigh it). Sightings of a
  code already published and still held in view count against other texts too: a second
  text at the very place of a code being held is that code misread (measured: zxing-cpp
  read a tilted UPC-E ``04252614`` as ``0132100005262``, check digit valid, on two
  frames in a row);
* a tie does not last: a candidate contested for longer than the window is dropped and
  counted (``ties``), as is any candidate whose votes died out (``expired``).

:class:`Presence` de-duplicates: once published, a code is *held* while it keeps being
seen; it counts again only after it was out of sight for ``holdoff_s`` (the shopper
took it away and brought the next one, or the same one back).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk_drivers.scanner.decoders import Box

_EAN_UPC = frozenset({"EAN13", "EAN8", "UPCA", "UPCE"})
#: what a scan line crossing part of a longer EAN/UPC decodes to (measured: zbar read the
#: middle of a real UPC-A as a UPC-E, check digit valid, on every frame): only published
#: when two decoders read it
SHORT_1D = frozenset({"UPCE", "EAN8"})


HELD_OVERLAP_S = 0.1  # a held code seen this close to a candidate's first vote contests it


def family(symbology: str) -> str:
    """Symbologies a misread can turn into each other (EAN and UPC share bar patterns)."""
    return "EAN/UPC" if symbology in _EAN_UPC else symbology


PLACE_MARGIN = 0.05  # boxes grown by this fraction of their larger side before overlapping
SPAN_TOLERANCE = 0.1  # scan lines of one code start and end within this fraction of its length
BAR_HEIGHT = 0.7  # the tallest 1-D code, as a fraction of its length (EAN-13: about 0.6)


def same_place(a: Box, b: Box) -> bool:
    """Whether two boxes can be the same code: they overlap (each grown by a small margin),
    or they are scan lines across the same code: the same span along its length, both
    within one code's bar height. Two labels next to each other, or one above the other
    with a gap, are different places."""
    def grown(box: Box) -> Box:
        g = PLACE_MARGIN * max(box[2] - box[0], box[3] - box[1])
        return (box[0] - g, box[1] - g, box[2] + g, box[3] + g)

    ga, gb = grown(a), grown(b)
    if ga[0] < gb[2] and gb[0] < ga[2] and ga[1] < gb[3] and gb[1] < ga[3]:
        return True
    for lo, hi, across_lo, across_hi in ((0, 2, 1, 3), (1, 3, 0, 2)):  # along x, along y
        length = max(a[hi] - a[lo], b[hi] - b[lo])
        tol = SPAN_TOLERANCE * length
        if abs(a[lo] - b[lo]) <= tol and abs(a[hi] - b[hi]) <= tol and (
                max(a[across_hi], b[across_hi]) - min(a[across_lo], b[across_lo])
                <= BAR_HEIGHT * length):
            return True
    return False


@dataclass
class _Vote:
    t: float
    frame: int
    decoder: str
    box: Box
    fresh: bool = True  # the frame differs, where the code is, from the earlier voting frames


@dataclass
class Candidate:
    """The votes collected for one key."""

    key: str
    is_2d: bool
    family: str
    votes: list[_Vote] = field(default_factory=list)
    contested_since: float | None = None
    short: bool = False  # a UPC-E or EAN-8: needs two decoders

    @property
    def first_t(self) -> float:
        return self.votes[0].t

    @property
    def first_frame(self) -> int:
        return self.votes[0].frame

    @property
    def decoders(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.decoder for v in self.votes))

    @property
    def last_box(self) -> Box:
        return self.votes[-1].box

    def independent(self) -> int:
        """How much independent evidence the votes are: one per decoder that read the
        code, plus one per further frame that showed it differently (``fresh``). The same
        picture seen again, by any decoder, adds nothing."""
        if self.is_2d:
            return len(self.votes)
        frames = {v.frame for v in self.votes if v.fresh}
        return len(self.decoders) + max(0, len(frames) - 1)


class Confirmer:
    def __init__(self, votes_1d: int, votes_2d: int, window_s: float,
                 votes_1d_one_decoder: int | None = None) -> None:
        self.votes_1d, self.votes_2d, self.window_s = votes_1d, votes_2d, window_s
        self.votes_1d_one_decoder = max(votes_1d, votes_1d_one_decoder or votes_1d)
        self._candidates: dict[str, Candidate] = {}
        self._held: dict[str, Candidate] = {}  # sightings of published codes still in view
        self.expired = 0  # candidates that never gathered enough votes (dropped reads)
        self.ties = 0  # candidates dropped after being contested for a whole window

    @property
    def pending(self) -> bool:
        return bool(self._candidates)

    def keys(self) -> set[str]:
        return set(self._candidates)

    def expire(self, t: float) -> int:
        """Drop votes older than the window; returns how many candidates died out."""
        gone = 0
        for key in list(self._candidates):
            cand = self._candidates[key]
            cand.votes = [v for v in cand.votes if t - v.t <= self.window_s]
            if not cand.votes:
                del self._candidates[key]
                gone += 1
        self.expired += gone
        for key in list(self._held):
            held = self._held[key]
            held.votes = [v for v in held.votes if t - v.t <= self.window_s]
            if not held.votes:
                del self._held[key]
        return gone

    def sighted(self, key: str, symbology: str, is_2d: bool, t: float, frame: int,
                decoder: str, box: Box) -> None:
        """A published code seen again: it contests other readings at its place made
        while it was in view (from just before their first vote on)."""
        held = self._held.get(key)
        if held is None:
            held = self._held[key] = Candidate(key, is_2d, family(symbology))
        held.votes.append(_Vote(t, frame, decoder, box))

    def vote(self, key: str, symbology: str, is_2d: bool, t: float, frame: int, decoder: str,
             box: Box, fresh: bool = True) -> None:
        """One decoder read ``key`` on ``frame``; ``fresh``: the frame differs where the code
        is from the frames that voted for it before (a single decoder's votes from the same
        picture are not counted as independent)."""
        cand = self._candidates.get(key)
        if cand is None:
            cand = self._candidates[key] = Candidate(key, is_2d, family(symbology))
        cand.short = cand.short or symbology in SHORT_1D
        if any(v.frame == frame and v.decoder == decoder for v in cand.votes):
            return
        cand.votes.append(_Vote(t, frame, decoder, box, fresh or not cand.votes))

    def confirmed(self, t: float | None = None) -> list[Candidate]:
        """Candidates that now have enough votes; they leave the confirmer. A candidate
        contested for longer than the window (at time ``t``) is dropped and counted."""
        done, tied = [], []
        for key, cand in self._candidates.items():
            if cand.is_2d:
                need = self.votes_2d
            elif len(cand.decoders) > 1:
                need = self.votes_1d
            elif cand.short:
                continue
            else:
                need = self.votes_1d_one_decoder
            rival = sum(o.independent() for k, o in self._candidates.items()
                        if k != key and o.family == cand.family
                        and same_place(o.last_box, cand.last_box))
            since = cand.first_t - HELD_OVERLAP_S
            held = max((sum(1 for v in o.votes if v.t >= since
                            and same_place(v.box, cand.last_box))
                        for k, o in self._held.items() if k != key and o.family == cand.family),
                       default=0)
            rival = max(rival, held)
            now = cand.votes[-1].t if t is None else t
            if rival:
                if cand.contested_since is None:
                    cand.contested_since = now
                elif now - cand.contested_since > self.window_s:
                    tied.append(cand)
                    continue
            else:
                cand.contested_since = None
            count = cand.independent()
            if count >= need + rival or (
                    len(cand.decoders) > 1 and count >= max(need, 2 * rival)):
                done.append(cand)
        for cand in done + tied:
            del self._candidates[cand.key]
        self.ties += len(tied)
        return done


class Presence:
    def __init__(self, holdoff_s: float) -> None:
        self.holdoff_s = holdoff_s
        self._last_seen: dict[str, float] = {}

    def expire(self, t: float) -> None:
        for key in [k for k, seen in self._last_seen.items() if t - seen > self.holdoff_s]:
            del self._last_seen[key]

    def held(self, key: str) -> bool:
        return key in self._last_seen

    def seen(self, key: str, t: float) -> bool:
        """Refresh a held key; returns whether it was held (a duplicate)."""
        if key in self._last_seen:
            self._last_seen[key] = max(t, self._last_seen[key])
            return True
        return False

    def published(self, key: str, t: float) -> None:
        self._last_seen[key] = t

    def keys(self) -> list[str]:
        return list(self._last_seen)
