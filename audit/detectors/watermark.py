"""The visible watermark: is it there, where, and for how much of the clip.

Frames are analysed at ``[watermark] sample_fps`` (by presentation time, so VFR clips are
sampled evenly), on a grey copy ``match_side`` pixels on the long side. Two methods:

- ``template`` (a template PNG was given, ``--watermark-template`` or ``templates`` in the
  policy): multi-scale gradient matching (``audit.watermark_match``), looking near the last
  box first, then over the frame at the scale the mark was found at;
- ``template_free`` (no template): an overlay that stays put while the content moves
  (``audit.watermark_free``). It cannot tell an overlay from scenery in a static shot and
  says so (``undecidable_s``) rather than guess.

Each analysed frame is a sample: seen (with its box) or not. The samples are joined into the
``track`` ([t, x, y, w, h] in displayed pixels), ``segments`` (one per position the mark
held), ``coverage`` (share of the clip's duration where it was seen: each sample stands for
the time half-way to its neighbours) and ``gaps`` (stretches without it, at least
``min_gap_s`` long). Findings: ``watermark.absent`` (policy ``require`` and not found) and
``watermark.partial`` (found, with gaps: cropped, blurred or painted out for part of the clip).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import cv2
import numpy as np

from ..findings import FAIL, RUNTIME, WARN, WATERMARK, Finding
from ..motion import frame_motion, scale_matrix, small_gray
from ..watermark_free import FixedOverlayFinder
from ..watermark_match import (FrameGradients, TemplateBank, TemplateError, coarse_to_fine, gradients,
                               load_template, search)
from . import Detector, DetectorResult

# While the locked scale keeps failing, retry every scale once every this many samples.
FULL_SEARCH_EVERY = 5


@dataclass
class Sample:
    """One analysed frame. ``seen``: True / False, or None when undecidable (template-free,
    static shot). ``box``: x, y, w, h in displayed pixels."""

    t: float
    seen: bool | None
    score: float | None = None
    box: tuple[int, int, int, int] | None = None


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
        self.templates = []
        for p in self.paths:
            try:
                self.templates.append(load_template(p))
            except TemplateError as e:
                self.errors.append(Finding(RUNTIME, FAIL, e.code, f"{e}. {e.hint}.", {"template": str(p)}))
        if self.templates:
            self.method = "template"
        elif self.paths or not self.pol["template_free"]:
            self.method = None  # templates asked for but none usable, or no method enabled
        else:
            self.method = "template_free"
        self.step = 1.0 / float(self.pol["sample_fps"])
        self.next_t: float | None = None
        self.samples: list[Sample] = []
        self.bank: TemplateBank | None = None
        self.free: FixedOverlayFinder | None = None
        self.last = None          # last Match (match pixels)
        self.lock: int | None = None
        self.misses = 0
        self._hw = (0, 0)
        self.recent: deque = deque(maxlen=max(1, int(self.pol["accumulate"])))
        self.scene_motion = np.eye(3)   # template-free: scene motion since the last sample
        self._motion_w = 0

    # -- sampling -----------------------------------------------------------------------------

    def feed(self, frame) -> None:
        if self.method is None:
            return
        if self.method == "template_free":
            self._follow_scene(frame)
        if self.next_t is not None and frame.t < self.next_t - 1e-6:
            return
        if self.next_t is None:
            self.next_t = frame.t
        while self.next_t <= frame.t + 1e-6:
            self.next_t += self.step
        g = frame.gray
        h, w = g.shape
        s = min(1.0, float(self.pol["match_side"]) / max(h, w))
        if s < 1.0:
            g = cv2.resize(g, (max(8, round(w * s)), max(8, round(h * s))), interpolation=cv2.INTER_AREA)
        to_display = (w / g.shape[1]) * frame.scale
        gx, gy = gradients(g, float(self.pol["blur_px"]))
        if self.method == "template":
            self._feed_template(frame.t, FrameGradients(gx, gy), to_display)
        else:
            self._feed_free(frame.t, gx, gy, to_display)

    def _feed_template(self, t: float, fg: FrameGradients, to_display: float) -> None:
        if self.bank is None:
            p = self.pol
            self.bank = TemplateBank(self.templates, fg.gx.shape, min_height=p["min_height"],
                                     max_height=p["max_height"], scale_step=p["scale_step"], blur_px=p["blur_px"])
        self._hw = fg.gx.shape
        self.recent.append((fg.gx, fg.gy))
        m = self._match(fg)
        if not self._accepted(m):
            m = self._accumulated(fg) or m
        if self._accepted(m):
            self.lock, self.last, self.misses = m.scale, m, 0
            self.samples.append(Sample(t, True, round(m.score, 4), _display(m, to_display)))
        else:
            self.misses += 1
            self.samples.append(Sample(t, False, round(m.score, 4) if m else None))

    def _accepted(self, m) -> bool:
        return m is not None and (m.score >= self.pol["detect_score"] or self._tracked(m))

    def _accumulated(self, fg: FrameGradients):
        """Once the mark has been seen: the gradients of the last few analysed frames averaged.
        Over moving content the background averages out while a mark that holds still does not,
        so a faint mark over busy content is found where one frame is not enough. It must
        still be visible in this frame (``verify_score`` at the same place), or a mark that just
        jumped would be reported where it was."""
        if self.lock is None or len(self.recent) < 2:
            return None
        n = len(self.recent)
        acc = FrameGradients(sum(g[0] for g in self.recent) / n, sum(g[1] for g in self.recent) / n)
        m = self._match(acc)
        if not self._accepted(m):
            return None
        here = fg.best(self.bank.scales[m.scale], m.scale, roi=(m.x, m.y, m.x, m.y))
        return m if here is not None and here.score >= self.pol["verify_score"] else None

    def _tracked(self, m) -> bool:
        """A lower score is enough where the mark just was, at its scale."""
        last = self.last
        return (m is not None and last is not None and m.scale == last.scale and m.score >= self.pol["track_score"]
                and abs(m.x - last.x) <= self._radius() and abs(m.y - last.y) <= self._radius())

    def _radius(self) -> int:
        return max(2, int(round(self.pol["track_radius"] * max(self._hw))))

    def _match(self, fg: FrameGradients):
        bank = self.bank
        if not len(bank):
            return None
        if self.last is not None:
            r, L = self._radius(), self.last
            m = fg.best(bank.scales[L.scale], L.scale, roi=(L.x - r, L.y - r, L.x + r, L.y + r))
            if m is not None and m.score >= self.pol["track_score"]:
                return m
        if self.lock is not None and self.misses % FULL_SEARCH_EVERY != FULL_SEARCH_EVERY - 1:
            t = bank.scales[self.lock].template
            near = [i for i in (self.lock - 1, self.lock, self.lock + 1)
                    if 0 <= i < len(bank) and bank.scales[i].template == t]
            return search(fg, bank, near)
        return coarse_to_fine(fg, bank)

    def _follow_scene(self, frame) -> None:
        """The scene's global motion since the last analysed frame (the shared per-frame
        estimate of ``audit.motion``, composed), in the motion estimate's pixels."""
        m = frame_motion(self.ctx, frame)
        if m is None:
            return
        if not m.ok:
            self.scene_motion = None
            return
        if self.scene_motion is not None:
            self.scene_motion = np.vstack([m.matrix, [0.0, 0.0, 1.0]]) @ self.scene_motion
        self._motion_w = small_gray(frame).shape[1]

    def _feed_free(self, t: float, gx, gy, to_display: float) -> None:
        p = self.pol
        if self.free is None:
            self.free = FixedOverlayFinder(
                window=round(float(p["free_window_s"]) * float(p["sample_fps"])) + 1, min_grad=p["free_min_grad"],
                consistency=p["free_consistency"], static_share=p["free_static_share"],
                max_area=p["free_max_area"], min_orientation=p["free_min_orientation"])
        self.samples.append(Sample(t, None))
        motion = None
        if self.scene_motion is not None and self._motion_w:
            motion = scale_matrix(self.scene_motion[:2], gx.shape[1] / self._motion_w)
        self.scene_motion = np.eye(3)
        state = self.free.push(t, gx, gy, motion)
        if state is None:
            return
        for s in self.samples[-self.free.window:]:  # the samples this window spans
            if state.overlay is not None:
                o = state.overlay
                if not s.seen or (s.score or 0) < o.score:
                    s.seen, s.score = True, o.score
                    s.box = tuple(int(round(v * to_display)) for v in (o.x, o.y, o.w, o.h))
            elif state.decidable and s.seen is None:
                s.seen = False

    # -- result ------------------------------------------------------------------------------

    def finish(self) -> DetectorResult:
        media = self.ctx.media
        duration = media.duration_s or (self.samples[-1].t + 1.0 / (media.fps or 30.0) if self.samples else 0.0)
        hits = [s for s in self.samples if s.seen]
        present = len(hits) >= int(self.pol["min_hits"])
        spans = _spans(self.samples, duration)
        coverage = sum(b - a for s, (a, b) in zip(self.samples, spans) if s.seen) / duration if duration else 0.0
        gaps = _gaps(self.samples, spans, float(self.pol["min_gap_s"])) if present else []
        undecidable = sum(b - a for s, (a, b) in zip(self.samples, spans) if s.seen is None)
        scores = [s.score for s in self.samples if s.score is not None]
        data = {
            "present": present if self.method else None,
            "confidence": round(min(1.0, max(0.0, median(s.score for s in hits))), 3) if present else 0.0,
            "coverage": round(coverage if present else 0.0, 4),
            "track": [[round(s.t, 3), *s.box] for s in hits] if present else [],
            "gaps": gaps,
            "method": self.method,
            "segments": _segments(hits) if present else [],
            "frames_analysed": len(self.samples),
            "sample_fps": float(self.pol["sample_fps"]),
            "best_score": round(max(scores), 4) if scores else None,
            "undecidable_s": round(undecidable, 3),
            "templates": [p.name for p in self.paths],
        }
        return DetectorResult(data, tuple(self.errors) + tuple(self._findings(data, duration)))

    def _findings(self, data: dict, duration: float) -> list[Finding]:
        out = []
        where = str(self.ctx.path)
        if data["present"] is False and self.pol["require"]:
            why = ""
            if self.method == "template_free" and data["undecidable_s"] > 0.5 * duration:
                why = (" The shot is mostly static, where an overlay cannot be told from the scene without a"
                       " template: pass --watermark-template.")
            out.append(Finding(WATERMARK, FAIL, "watermark.absent",
                               f"{where}: no visible watermark found ({data['frames_analysed']} frames analysed, "
                               f"method {self.method}).{why}",
                               {"method": self.method, "frames_analysed": data["frames_analysed"],
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
                               {"gaps": data["gaps"], "coverage": data["coverage"], "method": self.method}))
        return out


def _display(m, k: float) -> tuple[int, int, int, int]:
    return tuple(int(round(v * k)) for v in (m.x, m.y, m.w, m.h))


def _spans(samples: list[Sample], duration: float) -> list[tuple[float, float]]:
    """The stretch of clip time each sample stands for: half-way to its neighbours, the first
    from 0, the last to the end."""
    out = []
    n = len(samples)
    for i, s in enumerate(samples):
        a = 0.0 if i == 0 else (samples[i - 1].t + s.t) / 2
        b = max(duration, s.t) if i == n - 1 else (s.t + samples[i + 1].t) / 2
        out.append((a, b))
    return out


def _gaps(samples, spans, min_gap_s: float) -> list[list[float]]:
    """Runs of samples without the mark (at least one decided miss in the run)."""
    gaps = []
    run: list[int] = []
    for i, s in enumerate(samples + [Sample(float("inf"), True)]):
        if not s.seen:
            run.append(i)
            continue
        if run and any(samples[j].seen is False for j in run):
            a, b = spans[run[0]][0], spans[run[-1]][1]
            if b - a >= min_gap_s:
                gaps.append([round(a, 3), round(b, 3)])
        run = []
    return gaps


def _segments(hits: list[Sample]) -> list[dict]:
    """Consecutive sightings at about the same place joined: one segment per position held."""
    segs: list[dict] = []
    for s in hits:
        x, y, w, h = s.box
        if segs:
            g = segs[-1]
            gx, gy, gw, gh = g["box"]
            if abs(x - gx) <= max(2, gw // 4) and abs(y - gy) <= max(2, gh // 4):
                g["t1"] = round(s.t, 3)
                g["n"] += 1
                continue
        segs.append({"t0": round(s.t, 3), "t1": round(s.t, 3), "box": [x, y, w, h], "n": 1})
    return segs


DETECTORS = [WatermarkDetector]
