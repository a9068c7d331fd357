"""The visible watermark: is it there, which mark, where, and for how much of the clip.

Frames are analysed at ``[watermark] sample_fps`` (by presentation time, so VFR clips are
sampled evenly), within the *active picture* (``audit.watermark.active``: letterbox and
pillarbox bars left out, mark sizes relative to the picture). Two methods:

- ``template``: the marks shipped with the package (``[watermark] known``, ``audit.watermark.known``)
  and any template PNG given (``--watermark-template`` or ``templates`` in the policy), matched
  by multi-scale gradient matching (``audit.watermark.match``) on the decoded frame's own luma,
  scaled so the smallest mark searched stays ``MIN_MATCH_PX`` tall. The mark is *found* by a
  whole-picture search (on the last few frames averaged, and on what changed since the last
  search once aligned on the scene's motion: the mark arriving at a new place, or leaving the
  old one), then *held*: each frame is verified at the known place with a lower score, and the
  frames kept from the last ``lookback_s`` are verified there too; a place needs two frames
  showing the mark;
- ``template_free`` (no template and no known mark): an overlay that stays put while the
  content moves (``audit.watermark.free``). It cannot tell an overlay from scenery in a static
  shot and says so (``undecidable_s``) rather than guess.

Each analysed frame is a sample: seen (with its box) or not. The samples are joined into the
``track`` ([t, x, y, w, h] in displayed pixels of the whole frame), ``segments`` (one per position
the mark held), ``coverage`` (share of the clip's duration where it was seen: each sample stands
for the time half-way to its neighbours), ``gaps`` (stretches without it, at least ``min_gap_s``
long) and ``mark`` (the one most samples matched). Findings: ``watermark.absent`` (policy
``require`` and not found) and ``watermark.partial`` (found, with gaps: cropped, blurred or
painted out for part of the clip). The active picture goes to ``media.active_box``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import cv2
import numpy as np

from ..detectors import Detector, DetectorResult
from ..findings import FAIL, RUNTIME, WARN, WATERMARK, Finding
from ..quality.motion import frame_motion, scale_matrix, small_gray
from .active import ActivePicture
from .free import FixedOverlayFinder, label_type
from .known import known_mark, mark_path
from .match import (FrameGradients, FrameImage, Match, MeanImage, TemplateBank, TemplateError, clipped,
                    coarse_to_fine, gradients, load_template)
from .track import Sample, span
from .track import coverage as coverage_of
from .track import gaps as gaps_of
from .track import segments as segments_of
from .track import spans as spans_of

# Once nothing has been found for a few analysed frames, search the whole frame on one in this
# many (the frames in between are checked back when the mark is found).
FULL_SEARCH_EVERY = 3
# ... and on one in more than twice as many once nothing has been found for twice the look-back
# (``lookback_s``): a clip without the mark. A mark that turns up then is found a little later
# (the searches on the averaged frames are then 2 * LONG_SEARCH_EVERY frames apart in a moving
# shot, 14, under the look-back's 15 at the default settings), and the look-back reaches its
# first frames.
LONG_SEARCH_EVERY = 7
# Places the mark held that are checked first when it is lost (Sora's mark moves between a few).
PLACES = 8
# Patches of change (largest first) searched for the mark arriving or leaving, per frame.
CHANGE_PATCHES = 4
# The match copy is enlarged (up to the analysis frame's own size) so that the smallest mark
# searched is at least this many pixels tall: below it a mark's strokes blur into one blob.
MIN_MATCH_PX = 10.0
# A match copy at least this share of the analysis frame's size is the analysis frame itself
# (no copy resized on every analysed frame; its reduced copies are the frame's own).
SNAP_SCALE = 0.8
# The template-free search beside the known marks looks at one window in this many analysed
# frames (each frame still in one window: the windows are ``free_window_s`` long, 3 frames at
# the default settings), and before any window has shown an overlay at one in as many as a
# window has frames (the windows tile the frames); alone, at every frame.
FREE_BESIDE_EVERY = 2
# A template drawn smaller than the smallest height searched (``min_height`` of the picture) is
# also searched at its own height, within this factor either way: a template is cut from the
# video at the size the mark has there, so a small mark is found without searching every size
# between it and ``min_height`` (each size below that costs more than one above: the match copy
# must keep it ``MIN_MATCH_PX`` tall).
OWN_SIZE_BAND = 1.15
# Clip time (share of the duration the container gives) the search beside the known marks
# goes on after its overlay can no longer reach ``free_beside_coverage``: a duration a little
# short does not stop it early.
FREE_BESIDE_SLACK = 0.05


@dataclass(frozen=True)
class Mark:
    """One template searched: its name (a known mark's, or the file's), pixels (BGRA), the
    heights it is searched at (shares of the active picture's short side) and, for a template
    given, its own height (px: the image's, which the heights searched scale), searched too when
    it is below them."""

    name: str
    bgra: np.ndarray
    min_height: float
    max_height: float
    own_px: int | None = None

    def bands(self, short: float) -> list[tuple[float, float]]:
        """The heights searched, (lowest, highest) shares of ``short`` (the picture's short side,
        displayed px): ``min_height`` to ``max_height``, and around its own height when that is
        below them (``OWN_SIZE_BAND``)."""
        out = [(self.min_height, self.max_height)]
        if self.own_px and short > 0 and self.own_px / OWN_SIZE_BAND < self.min_height * short:
            out.append((self.own_px / OWN_SIZE_BAND / short, min(self.own_px * OWN_SIZE_BAND / short, self.min_height)))
        return out


def template_paths(ctx) -> list[Path]:
    """Templates from the command line, then the policy's (relative to the policy file)."""
    paths = [Path(p) for p in ctx.options.watermark_templates]
    pol = ctx.policy
    base = Path(pol.source).parent if pol.source not in ("defaults", "") else Path.cwd()
    for p in pol.get("watermark", "templates"):
        q = Path(p).expanduser()
        paths.append(q if q.is_absolute() else base / q)
    return paths


class WatermarkDetector(Detector):
    name = "watermark"
    slot = "watermark"
    order = 30
    lane = "watermark"  # its own thread beside the motion detectors

    def __init__(self, ctx):
        super().__init__(ctx)
        self.pol = ctx.policy.section("watermark")
        self.errors: list[Finding] = []
        self.paths = template_paths(ctx)
        self.marks: list[Mark] = []
        self.known: list[str] = []   # the shipped marks searched
        for name in self.pol["known"]:
            try:
                k = known_mark(name)
                self.marks.append(Mark(k.name, load_template(mark_path(k)), k.min_height, k.max_height))
                self.known.append(k.name)
            except (KeyError, TemplateError) as e:
                self.errors.append(Finding(RUNTIME, FAIL, "runtime.watermark_template_unreadable",
                                           f"{e.args[0] if isinstance(e, KeyError) else e}: fix the policy file.",
                                           {"known": name}))
        lo, hi = float(self.pol["min_height"]), float(self.pol["max_height"])
        for p in self.paths:
            try:
                bgra = load_template(p)
                self.marks.append(Mark(p.name, bgra, lo, hi, bgra.shape[0]))
            except TemplateError as e:
                self.errors.append(Finding(RUNTIME, FAIL, e.code, f"{e}. {e.hint}.", {"template": str(p)}))
        self.templates = [m.bgra for m in self.marks]
        if self.templates:
            self.method = "template"
        elif self.paths or self.errors or not self.pol["template_free"]:
            self.method = None  # templates asked for but none usable, or no method enabled
        else:
            self.method = "template_free"
        # Only shipped marks searched (no template given) and ``free_beside_known``: an overlay of
        # any other kind is also looked for template-free, as it is without any template, and
        # reported when no known mark is found.
        self.free_too = (self.method == "template" and not self.paths and bool(self.pol["template_free"])
                         and bool(self.pol["free_beside_known"]))
        self.free_samples: list[Sample] = []
        self._known_seen = False  # a known mark seen on enough frames: the search beside it stops
        self._free_lost = 0.0     # clip time (s) the search beside has settled as without its overlay
        self._free_final = 0      # free_samples settled (no window to come spans them)
        self._free_over = False   # its overlay can no longer be reported: the search beside stops
        self._free_scale = 1.0
        self.step = 1.0 / float(self.pol["sample_fps"])
        self.next_t: float | None = None
        self.samples: list[Sample] = []
        self.bank: TemplateBank | None = None
        self.free: FixedOverlayFinder | None = None
        self.last = None          # where the mark was in the last analysed frame (a Match, match px)
        self.unseen = 0           # analysed frames since the mark was last found
        self._base = None         # gradients (before the cap) the next difference is taken from
        self._base_motion = None  # the scene's motion since that frame (3x3), None when unknown
        self._searched = False    # did this frame's search take its difference (the base moves on)
        self._base_age = 0        # analysed frames since the base frame
        self._leaving: set = set()  # candidates found as the mark leaving (ids): looked back past the leave
        self._pending = None      # a place only the last analysed frame showed (confirmed by the next)
        self._moving = False      # did the scene move (> 1 match px) since the previous analysed frame
        self.places: deque = deque(maxlen=PLACES)  # places the mark held (Matches)
        self._best_score = -1.0
        self._hw = (0, 0)
        # the analysed frames kept for looking back: (sample index, gradients, to_display)
        keep = max(int(self.pol["accumulate"]), int(round(float(self.pol["lookback_s"]) * float(self.pol["sample_fps"]))))
        self.kept: deque = deque(maxlen=max(2, keep + 1))
        self.scene_motion = np.eye(3)   # template-free: scene motion since the last sample
        self._motion_w = 0
        self._frame_w = 0
        self.active = ActivePicture(float(self.pol["bar_tolerance"]), float(self.pol["bar_min_share"]))
        self._box = None          # the active picture the search state was built for (analysis px)
        self._scale = 1.0         # match px per px of the frame searched
        self._sx = 1.0            # px of the frame searched (decoded or analysis) per analysis px
        self._src_sx = 1.0        # px of the decoded frame per analysis px
        self._frame_scale = 1.0   # display px per analysis px
        self._bands: list[list[tuple[float, float]]] = []   # per mark, its heights (shares of the picture)
        self._keep = self.kept.maxlen

    # -- sampling -----------------------------------------------------------------------------

    def feed(self, frame) -> None:
        if self.method is None:
            return
        self._follow_scene(frame)
        if self.next_t is not None and frame.t < self.next_t - 1e-6:
            return
        if self.next_t is None:
            self.next_t = frame.t
        while self.next_t <= frame.t + 1e-6:
            self.next_t += self.step
        box = self.active.update(frame.gray)
        # a template is matched on the decoded frame's own pixels when it has them (a mark of
        # 16-24 px is a blob of 6-8 once a 1920 px frame is at the analysis size)
        size = frame.source_size() if self.method == "template" else None
        src_sx = size[0] / frame.width if size else 1.0
        if box != self._box or src_sx != self._src_sx:
            self._restart(box, frame.scale, src_sx)
        sx = self._sx
        bx, by, bw, bh = box
        x0, y0, x1, y1 = (int(round(v * sx)) for v in (bx, by, bx + bw, by + bh))
        s = self._scale
        out = (max(8, round((x1 - x0) * s)), max(8, round((y1 - y0) * s)))
        lower = None
        if sx > 1.0:
            g = frame.source_gray((x0, y0, x1, y1), out)
        else:
            g = frame.gray[y0:y1, x0:x1]
            if s < 1.0:
                g = cv2.resize(g, out, interpolation=cv2.INTER_AREA)
            else:
                # the analysis frame as it is: its reduced copies are the frame's own, made once
                # and shared with the other detectors (the motion estimate reads one)
                lower = {f: _part(frame.gray_at(f), box, f) for f in (2, 4)}
        k = ((x1 - x0) / g.shape[1]) * frame.scale / sx
        to_display = (k, bx * frame.scale, by * frame.scale)
        motion = self._take_motion()   # analysis px, from the picture's corner
        if self.method == "template":
            # gradients only where a search asks (a known place, a neighbourhood, a candidate)
            img = FrameImage(g, float(self.pol["blur_px"]), float(self.pol["grad_clip"]), lower)
            self._feed_template(frame.t, img, to_display, _scaled_motion(motion, s * sx))
            if self.free_too and not self._free_over and not self._known_found():
                self._feed_free_beside(frame, box, motion)
                self._free_over = self._free_hopeless()
        else:
            gx, gy = gradients(g, float(self.pol["blur_px"]))
            self._feed_free(frame.t, gx, gy, to_display, _scaled_motion(motion, s * sx), self.samples)

    def _known_found(self) -> bool:
        """Has a known mark been seen on enough frames that the template-free search beside it
        cannot be reported any more (its result only counts when no known mark is found)?
        Counted on one analysed frame in ten; a few more sightings than ``min_hits`` are asked
        for, as a place found on one frame waits for the next to confirm it."""
        if not self._known_seen and len(self.samples) % 10 == 0:
            self._known_seen = sum(1 for s in self.samples if s.seen) >= 2 * int(self.pol["min_hits"]) + 2
        return self._known_seen

    def _free_hopeless(self) -> bool:
        """Can the overlay the search beside the known marks follows no longer be seen over
        ``free_beside_coverage`` of the clip (the time it has settled as without it is more
        than the rest, by ``FREE_BESIDE_SLACK``)? Only a sample no window to come spans is
        settled. A clip whose duration is unknown is searched to its end."""
        duration = float(getattr(self.ctx.media, "duration_s", 0.0) or 0.0)
        samples, window = self.free_samples, self.free.window if self.free is not None else 0
        while window and self._free_final < len(samples) - window:
            i = self._free_final
            if not samples[i].seen:
                a, b = span(samples, i, duration)
                self._free_lost += b - a
            self._free_final += 1
        bar = float(self.pol["free_beside_coverage"])
        return duration > 0 and self._free_lost > (1.0 - bar + FREE_BESIDE_SLACK) * duration

    def _feed_free_beside(self, frame, box, motion) -> None:
        """The template-free search on the analysis frame, beside the known marks'."""
        bx, by, bw, bh = box
        s = self._free_scale
        f = int(round(1.0 / s))
        if s < 1.0 and f & (f - 1) == 0 and abs(f * s - 1.0) < 0.02:
            g = _part(frame.gray_at(f), box, f)   # the frame's own reduced copy, made once
        else:
            g = frame.gray[by:by + bh, bx:bx + bw]
            if s < 1.0:
                g = cv2.resize(g, (max(8, round(bw * s)), max(8, round(bh * s))), interpolation=cv2.INTER_AREA)
        to_display = ((bw / g.shape[1]) * frame.scale, bx * frame.scale, by * frame.scale)
        gx, gy = gradients(g, float(self.pol["blur_px"]))
        self._feed_free(frame.t, gx, gy, to_display, _scaled_motion(motion, g.shape[1] / bw), self.free_samples)

    def _restart(self, box, frame_scale: float, sx: float) -> None:
        """A new active picture (the first frame, or bars found to be picture after all): the
        search state is built for its size; samples already taken stand. ``frame_scale``:
        displayed px per analysis px; ``sx``: px of the decoded frame per analysis px. The
        decoded frame is searched only when the match copy needs more pixels than the analysis
        frame has (a small mark in a large frame); else the analysis frame, cheaper to cut."""
        self._box, self._frame_scale, self._sx, self._src_sx = box, frame_scale, sx, sx
        bw, bh = box[2] * sx, box[3] * sx   # the picture in the searched frame's px
        s = min(1.0, float(self.pol["match_side"]) / max(bw, bh))
        self._bands = [m.bands(min(box[2], box[3]) * frame_scale) for m in self.marks]
        if self.marks:
            # the smallest mark searched: a share of the picture's short side, and never below
            # ``min_px`` source pixels
            smallest = max(min(lo for b in self._bands for lo, _ in b) * min(bw, bh), self._min_px())
            s = min(1.0, max(s, MIN_MATCH_PX / max(smallest, 1e-6)))
        if s * sx <= 1.0:
            s, self._sx = s * sx, 1.0
            if s >= SNAP_SCALE:
                s = 1.0   # nearly the analysis frame's own size: that frame, not a resized copy
        self._scale = s
        self._free_scale = min(1.0, float(self.pol["match_side"]) / max(box[2], box[3]))
        self.bank, self.free, self.last, self._base, self._pending = None, None, None, None, None
        self.kept.clear()
        self.places.clear()
        self.scene_motion = np.eye(3)

    def _min_px(self) -> float:
        """``min_px`` (displayed px) in the searched frame's px."""
        return float(self.pol["min_px"]) * self._sx / self._frame_scale

    def _ranges(self, hw) -> list[list[tuple[float, float]]]:
        """Per mark, the bands of heights searched in match px (shares of the short side, at
        least ``min_px`` source pixels; a template's own height left out when below that)."""
        short = min(hw)
        floor = self._min_px() * self._scale
        return [[(max(lo * short, floor), max(hi * short, floor)) for k, (lo, hi) in enumerate(bands)
                 if k == 0 or hi * short >= floor] for bands in self._bands]

    def _feed_template(self, t: float, fg: FrameImage, to_display, motion=None) -> None:
        """One analysed frame. The mark is first *found* (a whole-frame search, the hard part:
        the best of ~10^6 positions and sizes must beat every chance match of the scene), then
        *held*: at a known place and size one frame's score separates the mark from the
        scene far better, so each frame only has to pass ``verify_score`` there. Finding uses
        more than one frame: the last ``accumulate`` frames averaged (a moving scene averages
        out, the still mark does not) and what changed since the previous frame once aligned
        on the scene's motion (the scene subtracted: the mark arriving or leaving in a still
        shot, the mark itself over moving content). A place found late is
        checked on the frames kept since (``lookback_s``): the first frames at a new place,
        before the evidence added up, count too."""
        p = self.pol
        if self.bank is None:
            self.bank = TemplateBank(self.templates, fg.shape, ranges=self._ranges(fg.shape),
                                     scale_step=p["scale_step"], blur_px=p["blur_px"])
        self._hw = fg.shape
        if not len(self.bank):
            self.samples.append(Sample(t, False))
            return
        self.samples.append(Sample(t, False))
        base, base_motion = self._base, self._since_base(motion)
        self._base_age += 1
        self._searched = False
        self._moving = motion is not None and _displacement(motion, fg.shape) > 1.0
        self.kept.append((len(self.samples) - 1, fg, to_display))
        idx = len(self.samples) - 1
        m = self._hold(fg) if self.last is not None else None
        if m is not None and self._pending is not None:
            self._remember(self._pending)   # the next frame confirms a place found in one frame
        elif m is None and self._pending is not None:
            self._unmark(self.samples[-2])  # not confirmed: a chance match, forgotten
        self._pending = None
        if m is None:
            self.last = None
            m = self._find(fg, base, base_motion)
        else:
            self._searched = True
        if self._searched or base is None:
            self._base, self._base_motion, self._base_age = fg, np.eye(3), 0
        if m is not None:
            self.last = m
            self._mark(idx, m, to_display)

    def _since_base(self, motion):
        """The scene's motion from the base frame to this one (2x3), composed frame by frame."""
        if self._base_motion is None or motion is None:
            self._base_motion = None
            return None
        self._base_motion = np.vstack([motion, [0.0, 0.0, 1.0]]) @ self._base_motion
        return self._base_motion[:2]

    def _hold(self, fg: FrameImage):
        """The mark where it was (same size, within a pixel), or, for a mark that moves,
        nearby with ``track_score``."""
        L, bank = self.last, self.bank
        m = self._verified(fg, L)
        if m is not None:
            return m
        r = self._radius()
        m = fg.best(bank.scales[L.scale], L.scale, roi=(L.x - r, L.y - r, L.x + r, L.y + r))
        return m if m is not None and m.score >= self.pol["track_score"] else None

    def _verified(self, fg: FrameImage, place):
        """This frame at a known place: a Match if the mark is there. One frame scoring
        ``verify_score`` is enough; one between ``verify_floor`` and that counts when the last
        ``accumulate`` frames averaged (this one included) reach ``verify_score`` there (a
        faint mark over busy moving content: the average sees it better). The floor keeps a
        place the mark just left from being held on the average's memory of it."""
        st = self.bank.scales[place.scale]
        m = fg.at(st, place.scale, place.x, place.y)
        if m is None or m.score < self.pol["verify_floor"]:
            return None
        if m.score >= self.pol["verify_score"]:
            return m
        if not self._moving:
            return None  # in a still shot the average is this frame again: no more evidence
        fields = [k[1] for k in list(self.kept)[-int(self.pol["accumulate"]):]]
        if len(fields) < 2:
            return None
        a = MeanImage(fields).at(st, place.scale, m.x, m.y, slack=0)
        return m if a is not None and a.score >= self.pol["verify_score"] else None

    def _find(self, fg: FrameImage, prev: FrameImage | None, motion=None):
        """Search the whole frame (once nothing has been found for a few analysed frames, on
        one in ``FULL_SEARCH_EVERY``: a place found later is checked back on the frames
        skipped), and what changed since the previous frame."""
        self.unseen += 1
        # Generators move the mark between a few places: those seen before are checked first
        # (at a known place one frame's verify_score is enough; no search needed).
        back = None
        for pl in self.places:
            h = self._verified(fg, pl)
            if h is not None and (back is None or h.score > back.score):
                back = h
        if back is not None:
            self.unseen = 0
            self._look_back(back)
            return back
        # nothing seen since the clip's start
        never = self.unseen == len(self.samples)
        long = self.unseen > 2.0 * float(self.pol["lookback_s"]) * float(self.pol["sample_fps"])
        every = LONG_SEARCH_EVERY if long else FULL_SEARCH_EVERY
        # Right after the mark was lost both searches run on each of the next three frames. At
        # the clip's start nothing was lost: its first search is on its third frame, whose
        # average holds the first two and whose difference is taken from the first (in a still
        # shot the average is each of them again); the look-back reaches them when the mark
        # is found there.
        early = self.unseen <= 3 and not (never and self.unseen < 3)
        scheduled = early or self.unseen % every == 0
        # Long after (a clip without it), the scheduled searches alternate between the
        # difference (in a moving shot) and the averaged frames: half the cost where nothing is
        # to be found.
        turn = bool((self.unseen // every) % 2)
        cands = self._arrival(fg, prev, motion, scheduled, early or turn)
        changes = {id(c) for c in cands}
        if scheduled and (early or not turn or not self._moving):
            fields = [k[1] for k in list(self.kept)[-int(self.pol["accumulate"]):]]
            cands.append(coarse_to_fine(MeanImage(fields) if len(fields) > 1 else fg, self.bank))
        found = []
        for cand in cands:
            if cand is None:
                continue
            self._best_score = max(self._best_score, cand.score)
            # in a difference the scene is (mostly) gone: chance matches score lower there
            if cand.score >= self.pol["change_score" if id(cand) in changes else "detect_score"]:
                found.append(cand)
        if not found:
            return None
        self.unseen = 0
        # Where it was found, frame by frame: back over the frames kept, and this frame. A place
        # counts once two frames show the mark there; one that only this frame shows waits for
        # the next frame (``_pending``), one that only an earlier frame shows is dropped.
        here = None
        for cand in found:
            # the mark leaving: the frames since the base may already be without it
            back = self._look_back(cand, skip=self._base_age - 1 if id(cand) in self._leaving else 0)
            h = fg.at(self.bank.scales[cand.scale], cand.scale, cand.x, cand.y)
            if h is None or h.score < self.pol["verify_score"]:
                h = None
            if len(back) + (h is not None) < 2:
                for i in back:
                    self._unmark(self.samples[i])
            elif h is None or len(back):
                self._remember(cand)
            if h is not None and (here is None or h.score > here.score):
                here, pending = h, not back
        self._leaving.clear()
        if here is not None and pending:
            self._pending = here
        return here

    def _arrival(self, img: FrameImage, prev: FrameImage | None, motion=None, scheduled=True,
                 turn=True) -> list:
        """The frame minus the base frame (the previous one, or the one the last search took
        its difference from: a jump between two searches is still in it), aligned on the scene's motion, is the scene gone
        and the mark left: arriving (+) and leaving (-) in a still shot; in a moving one, the
        mark (+) and its copy moved with the scene (-, whose place the previous frame does
        not confirm). Searched only around what changed, and only when little did (where
        the alignment fails everything changes and this says nothing). On the gradients
        before the cap, capped after the difference."""
        if prev is None:
            return []
        shift = _displacement(motion, img.shape) if motion is not None else 0.0
        moving = shift > 1.0
        if moving and not (scheduled and turn):
            return []
        if not moving and not scheduled:
            # a still shot between the scheduled searches: the base stays, so what changed
            # since it (a mark that arrived or left meanwhile) is still in the next scheduled
            # search's difference, and the look-back reaches the frames in between
            return []
        self._searched = True
        # Too much changed in a moving shot is seen on the copies reduced by 2 without making
        # the full fields: there the alignment's residues are halved, the share changed is about
        # half the full resolution's, so above the bar there means above it here too.
        if moving and _changed_share(img.reduced(2), prev.reduced(2), _scaled_motion(motion, 0.5),
                                     float(self.pol["change_grad"])) > float(self.pol["change_share"]):
            return []
        raw, prev = img.raw(), prev.raw()
        if shift > 0.05:
            # aligned even when it moved by less than a pixel (a handheld sway): what is left
            # of the scene's edges would otherwise join the mark's patch of change
            H, W = raw.gx.shape
            prev = FrameGradients(*(cv2.warpAffine(f, motion, (W, H), flags=cv2.INTER_LINEAR,
                                                   borderMode=cv2.BORDER_REPLICATE) for f in (prev.gx, prev.gy)))
        d = raw - prev
        changed = d.energy > float(self.pol["change_grad"]) ** 2
        share = float(changed.mean())
        if share == 0.0 or (moving and share > float(self.pol["change_share"])):
            return []
        dx, dy = clipped(d.gx, d.gy, float(self.pol["grad_clip"]))
        if moving:
            # the alignment leaves residues along the scene's edges all over the frame: one
            # coarse-to-fine search of the difference (the mark is its + part)
            return [coarse_to_fine(FrameGradients(dx, dy), self.bank)]
        if share > float(self.pol["change_share"]):
            # a still shot where much changed (someone moving, a sway the alignment missed):
            # the patches join up; the mark arriving (+) or leaving (-) is searched in the
            # whole difference instead
            if not scheduled:
                self._searched = False   # the base stays: the next search sees this change too
                return []
            return self._signed([coarse_to_fine(FrameGradients(k * dx, k * dy), self.bank) for k in (1.0, -1.0)])
        # still shot: the change is the mark arriving and leaving, a few small patches (and
        # whatever moves in the shot: a talking head, a hand; those patches are mostly larger)
        return self._signed([self._search_changed(FrameGradients(k * dx, k * dy), changed) for k in (1.0, -1.0)])

    def _signed(self, pair: list) -> list:
        """(arriving, leaving) candidates as a list; the leaving one remembered as such."""
        if pair[1] is not None:
            self._leaving.add(id(pair[1]))
        return pair

    def _search_changed(self, field: FrameGradients, changed) -> Match | None:
        """Around the largest few patches of change of a mark's size (a mark arriving or
        leaving is one patch about its size; specks of codec noise and the large patches of
        something moving in the shot are left out): each patch with the largest template's
        size around it searched coarse to fine, as the whole frame is (every scale at full
        resolution over each patch costs ten times as much: in a talking head, whose patches
        of change come and go every frame, it was most of the detector's time)."""
        joined = cv2.dilate(changed.astype(np.uint8), np.ones((5, 5), np.uint8))
        n, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8, ltype=label_type(*joined.shape))
        smallest = min(st.height for st in self.bank.scales)
        wmax = 2 * max(st.width for st in self.bank.scales) + 4
        hmax = 2 * max(st.height for st in self.bank.scales) + 4
        patches = sorted((stats[i] for i in range(1, n) if max(stats[i][2], stats[i][3]) >= smallest
                          and stats[i][2] <= wmax and stats[i][3] <= hmax),
                         key=lambda r: -int(r[4]))[:CHANGE_PATCHES]
        best = None
        tw, th = wmax // 2, hmax // 2
        H, W = field.shape
        for x, y, w, h, _ in (map(int, r) for r in patches):
            x0, x1 = max(0, x - tw), min(W, x + w + tw)
            y0, y1 = max(0, y - th), min(H, y + h + th)
            m = coarse_to_fine(field.patch(x0, y0, x1, y1), self.bank)
            if m is not None and (best is None or m.score > best.score):
                best = Match(m.score, x0 + m.x, y0 + m.y, m.w, m.h, m.scale)
        return best

    def _remember(self, m) -> None:
        """Keep the places the mark held (a handful: the oldest is forgotten)."""
        for pl in self.places:
            if pl.scale == m.scale and abs(pl.x - m.x) <= 1 and abs(pl.y - m.y) <= 1:
                return
        self.places.append(m)

    def _look_back(self, m, skip: int = 0) -> list[int]:
        """The frames kept before this one, newest first, while the mark passes
        ``verify_score`` at ``m``'s place (stopping at a frame already showing it); returns
        the samples marked. Up to ``skip`` of the newest may lack it (the mark left there)."""
        st = self.bank.scales[m.scale]
        marked = []
        for idx, fg, k in reversed(list(self.kept)[:-1]):
            s = self.samples[idx]
            if s.seen:
                x, y, _, _ = _display(m, k)
                if abs(s.box[0] - x) <= max(2, s.box[2] // 4) and abs(s.box[1] - y) <= max(2, s.box[3] // 4):
                    break   # already showing it there
                continue    # showing the mark elsewhere (it had not left yet, or had arrived there)
            h = fg.at(st, m.scale, m.x, m.y)
            if h is None or h.score < self.pol["verify_score"]:
                if not marked and skip > 0:
                    skip -= 1
                    continue
                break
            self._mark(idx, h, k)
            marked.append(idx)
        return marked

    @staticmethod
    def _unmark(s: Sample) -> None:
        s.seen, s.score, s.box, s.mark = False, None, None, None

    def _mark(self, idx: int, m, to_display) -> None:
        s = self.samples[idx]
        s.seen, s.score, s.box = True, round(m.score, 4), _display(m, to_display)
        s.mark = self.bank.scales[m.scale].template

    def _radius(self) -> int:
        return max(2, int(round(self.pol["track_radius"] * max(self._hw))))

    def _follow_scene(self, frame) -> None:
        """The scene's global motion since the last analysed frame (the shared per-frame
        estimate of ``audit.quality.motion``, composed), in the motion estimate's pixels."""
        m = frame_motion(self.ctx, frame)
        if m is None:
            return
        if not m.ok:
            self.scene_motion = None
            return
        if self.scene_motion is not None:
            self.scene_motion = np.vstack([m.matrix, [0.0, 0.0, 1.0]]) @ self.scene_motion
        self._motion_w = small_gray(frame).shape[1]
        self._frame_w = frame.width

    def _take_motion(self):
        """The scene's motion since the previous analysed frame as a 2x3 matrix in analysis
        pixels from the active picture's corner (None when unknown), and start composing the
        next. The estimate is of the whole frame."""
        motion = None
        if self.scene_motion is not None and self._motion_w:
            A = scale_matrix(self.scene_motion[:2], self._frame_w / self._motion_w)   # analysis px
            b = np.array([self._box[0], self._box[1]], np.float64)
            A[:, 2] += A[:, :2] @ b - b   # x' = R x + t seen from the picture's corner
            motion = A
        self.scene_motion = np.eye(3)
        return motion

    def _feed_free(self, t: float, gx, gy, to_display, motion, samples: list[Sample]) -> None:
        p = self.pol
        if self.free is None:
            window = round(float(p["free_window_s"]) * float(p["sample_fps"])) + 1
            beside = samples is self.free_samples
            self.free = FixedOverlayFinder(
                window=window, min_grad=p["free_min_grad"],
                consistency=p["free_consistency"], static_share=p["free_static_share"],
                max_area=p["free_max_area"], min_orientation=p["free_min_orientation"],
                every=FREE_BESIDE_EVERY if beside else 1, every_before=window if beside else None)
        samples.append(Sample(t, None))
        state = self.free.push(t, gx, gy, motion)
        if state is None:
            return
        for s in samples[-self.free.window:]:  # the samples this window spans
            if state.overlay is not None:
                o = state.overlay
                if not s.seen or (s.score or 0) < o.score:
                    s.seen, s.score = True, o.score
                    s.box = _display(o, to_display)
            elif state.decidable and s.seen is None:
                s.seen = False

    # -- result ------------------------------------------------------------------------------

    def finish(self) -> DetectorResult:
        if self._pending is not None and self.samples:
            self._unmark(self.samples[-1])  # the clip ended before the next frame could confirm it
        media = self.ctx.media
        duration = media.duration_s or (self.samples[-1].t + 1.0 / (media.fps or 30.0) if self.samples else 0.0)
        samples, method = self.samples, self.method
        if self.free_too and not self._free_over and sum(1 for s in samples if s.seen) < int(self.pol["min_hits"]) \
                and sum(1 for s in self.free_samples if s.seen) >= int(self.pol["min_hits"]) \
                and coverage_of(self.free_samples, spans_of(self.free_samples, duration), duration) \
                >= float(self.pol["free_beside_coverage"]):
            # no known mark, but an overlay, seen over much of the clip as one a generator or
            # a channel adds is (scenery fixed in the frame for a moment, while the camera
            # follows it, is seen in a window or two)
            samples, method = self.free_samples, "template_free"
        hits = [s for s in samples if s.seen]
        present = len(hits) >= int(self.pol["min_hits"])
        spans = spans_of(samples, duration)
        coverage = coverage_of(samples, spans, duration)
        gaps = gaps_of(samples, spans, float(self.pol["min_gap_s"])) if present else []
        undecidable = sum(b - a for s, (a, b) in zip(samples, spans) if s.seen is None)
        if self._box is not None:
            k = self._frame_scale
            x, y, w, h = (int(round(v * k)) for v in self._box)
            W, H = media.width or x + w, media.height or y + h   # analysis px rounded up: within the frame
            self.ctx.shared["active_box"] = [x, y, min(w, W - x), min(h, H - y)]
        scores = [s.score for s in samples if s.score is not None]
        if self._best_score > -1.0:
            scores.append(self._best_score)
        data = {
            "present": present if method else None,
            "confidence": round(min(1.0, max(0.0, median(s.score for s in hits))), 3) if present else 0.0,
            "coverage": round(coverage if present else 0.0, 4),
            "track": [[round(s.t, 3), *s.box] for s in hits] if present else [],
            "gaps": gaps,
            "method": method,
            "segments": segments_of(hits) if present else [],
            "frames_analysed": len(samples),
            "sample_fps": float(self.pol["sample_fps"]),
            "best_score": round(max(scores), 4) if scores else None,
            "undecidable_s": round(undecidable, 3),
            "templates": [p.name for p in self.paths],
            "mark": self._which(hits) if present and method == "template" else None,
            "known": list(self.known) if self.method == "template" else [],
        }
        return DetectorResult(data, tuple(self.errors) + tuple(self._findings(data, duration)))

    def _which(self, hits: list[Sample]) -> str | None:
        """The mark most frames matched (its known name, or its template file's name)."""
        counts: dict[int, int] = {}
        for s in hits:
            if s.mark is not None:
                counts[s.mark] = counts.get(s.mark, 0) + 1
        return self.marks[max(counts, key=counts.get)].name if counts else None

    def _findings(self, data: dict, duration: float) -> list[Finding]:
        out = []
        where = str(self.ctx.path)
        if data["present"] is False and self.pol["require"]:
            why = ""
            if data["method"] == "template_free" and data["undecidable_s"] > 0.5 * duration:
                why = (" The shot is mostly static, where an overlay cannot be told from the scene without a"
                       " template: pass --watermark-template.")
            out.append(Finding(WATERMARK, FAIL, "watermark.absent",
                               f"{where}: no visible watermark found ({data['frames_analysed']} frames analysed, "
                               f"method {data['method']}).{why}",
                               {"method": data["method"], "frames_analysed": data["frames_analysed"],
                                "best_score": data["best_score"], "templates": data["templates"]}))
        elif data["present"] is None and self.pol["require"] and not self.errors:
            out.append(Finding(WATERMARK, FAIL, "watermark.absent",
                               f"{where}: the watermark is required but no search method is enabled: give a template "
                               "or set [watermark] template_free = true.", {"method": None}))
        if data["gaps"]:
            missing = sum(b - a for a, b in data["gaps"])
            ranges = ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in data["gaps"])
            out.append(Finding(WATERMARK, WARN, "watermark.partial",
                               f"{where}: the visible watermark is missing for {missing:.2f} s of {duration:.2f} s "
                               f"({ranges}): cropped, blurred or removed for part of the clip?",
                               {"gaps": data["gaps"], "coverage": data["coverage"], "method": data["method"]}))
        return out


def _changed_share(a: FrameGradients, b: FrameGradients, motion, change_grad: float) -> float:
    """Share of the pixels whose gradient changed by more than ``change_grad`` from ``b``
    (aligned by the 2x3 ``motion``) to ``a``."""
    H, W = a.gx.shape
    bx, by = (cv2.warpAffine(f, motion, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
              for f in (b.gx, b.gy))
    return float(((a.gx - bx) ** 2 + (a.gy - by) ** 2 > change_grad ** 2).mean())


def _part(gray: np.ndarray, box, f: int) -> np.ndarray:
    """The active picture ``box`` (analysis px) cut from ``gray``, a copy reduced by ``f``."""
    bx, by, bw, bh = box
    return gray[by // f:(by + bh) // f, bx // f:(bx + bw) // f]


def _displacement(motion, hw) -> float:
    """Largest move (px) of the frame's corners under a 2x3 motion matrix."""
    h, w = hw
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64)
    return float(np.abs(corners @ np.asarray(motion).T - corners[:, :2]).max())


def _scaled_motion(motion, k: float):
    """A 2x3 motion (analysis px) for an image ``k`` times as large; None stays None."""
    return None if motion is None else scale_matrix(motion, k)


def _display(m, to_display) -> tuple[int, int, int, int]:
    """A box in match px as displayed px: ``to_display`` is (px per match px, x and y of the
    active picture's corner in displayed px)."""
    k, ox, oy = to_display
    return (int(round(ox + m.x * k)), int(round(oy + m.y * k)), int(round(m.w * k)), int(round(m.h * k)))


DETECTORS = [WatermarkDetector]
