"""Flash safety: the WCAG 2.3.1 / Ofcom general and red flash thresholds.

The rule (WCAG 2.3.1 "Three Flashes or Below Threshold", Ofcom's guidance note on flashing
images): content fails when it has more than three general flashes or more than three red
flashes within any one second, over more than 25 % of the screen. Definitions (WCAG 2.2):

- a *general flash* is a pair of opposing changes in relative luminance of 10 % or more of the
  maximum relative luminance (1.0), where the relative luminance of the darker image is below
  0.80; relative luminance is ``0.2126 R + 0.7152 G + 0.0722 B`` of linearised sRGB;
- a *red flash* is a pair of opposing transitions involving a saturated red: where
  ``R / (R + G + B) >= 0.8``, the change in ``(R - G - B) x 320`` (negative set to 0) is more than 20.

How it is measured: on a ~``SIDE`` px copy of every frame, each pixel follows its luminance
(and red value) and records a transition when it moved by the threshold from its last extreme
in the direction opposite to its previous transition (so a slow drift makes at most one). The
area of a transition is the share of pixels that made it in the same direction within two
frames (a flash whose edge straddles two frames is one flash). A frame-level transition is one
over ``[flash] area`` of the frame, alternating in direction; a flash is two of them, and the
score is the largest number of flashes in any ``window_s`` window. The limits are the rule's
and live in ``audit/defaults/flash.toml``.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..detectors import Detector, DetectorResult
from ..findings import FAIL, QUALITY, Finding
from .motion import small_bgr

SIDE = 40   # flashes are large-area events (a quarter of the frame): a small copy is enough


def _linear_lut() -> np.ndarray:
    c = np.arange(256, dtype=np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


_LIN = _linear_lut()
_LIN_ROW = _LIN.reshape(1, 256)
_Y_WEIGHTS = np.array([[0.0722, 0.7152, 0.2126]], np.float32)   # B, G, R -> relative luminance
_NONE = np.zeros(1, bool)


class _Extremes:
    """Per-pixel transition counter of one signal (luminance or red)."""

    def __init__(self, change: float, dark_below: float | None):
        self.change = change
        self.dark_below = dark_below
        self.lo = self.hi = self.dir = None

    def active(self) -> bool:
        """Whether any pixel holds a value (a red value that may still fall)."""
        return self.hi is not None and bool(self.hi.any())

    def step(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(up, down): the pixels that made a transition at this frame."""
        if self.lo is None or self.lo.shape != y.shape:
            self.lo, self.hi, self.dir = y.copy(), y.copy(), np.zeros(y.shape, np.int8)
            z = np.zeros(y.shape, bool)
            return z, z
        up = (self.dir != 1) & (y - self.lo >= self.change)
        down = (self.dir != -1) & (self.hi - y >= self.change)
        if self.dark_below is not None:
            up &= self.lo < self.dark_below      # the darker image of the pair
            down &= y < self.dark_below
        both = up & down
        if both.any():   # moved both ways from a wide range: keep the larger move
            bigger_up = (y - self.lo) >= (self.hi - y)
            up &= ~both | bigger_up
            down &= ~both | ~bigger_up
        np.minimum(self.lo, y, out=self.lo)
        np.maximum(self.hi, y, out=self.hi)
        moved = up | down
        if moved.any():   # most frames move no pixel: the masked writes would scan for nothing
            self.dir[up], self.dir[down] = 1, -1
            self.lo[moved] = y[moved]
            self.hi[moved] = y[moved]
        return up, down


class _Events:
    """Frame-level transitions: over ``area`` of the frame within two frames, alternating."""

    def __init__(self, area: float):
        self.area = area
        self.prev = 0.0
        self.last = 0
        self.times: list[float] = []
        self.areas: list[float] = []

    def step(self, t: float, up: np.ndarray, down: np.ndarray) -> None:
        # the area that changes together in one direction, net of the pixels changing the
        # other way in the same frame: a camera moving over high-contrast detail (sun through
        # trees) turns as many pixels dark as bright, a flash turns its whole area one way
        net = (np.count_nonzero(up) / up.size) - (np.count_nonzero(down) / down.size)
        prev, self.prev = self.prev, net
        for d in (1, -1):
            # a flash whose edge straddles two frames is one transition: the previous frame's
            # share in the same direction is added
            share = max(d * net, 0.0) + max(d * prev, 0.0)
            if d != self.last and d * net > 0 and share > self.area:
                self.last = d
                self.times.append(t)
                self.areas.append(share)


def worst_window(times: list[float], window: float) -> tuple[int, float, float]:
    """Most transitions in any ``[t, t + window)``: (count, start, end of the last in it)."""
    best = (0, 0.0, 0.0)
    j = 0
    for i, t in enumerate(times):
        while times[j] <= t - window + 1e-9:
            j += 1
        if i - j + 1 > best[0]:
            best = (i - j + 1, times[j], t)
    return best


class FlashDetector(Detector):
    name = "flash"
    slot = "metrics"

    def __init__(self, ctx):
        super().__init__(ctx)
        pol = ctx.policy.section("flash")
        self.general = _Extremes(float(pol["luminance_change"]), float(pol["dark_below"]))
        self.red = _Extremes(float(pol["red_change"]), None)
        self.red_ratio = float(pol["red_ratio"])
        self.ev = _Events(float(pol["area"]))
        self.ev_red = _Events(float(pol["area"]))
        self.frames = 0

    def feed(self, frame) -> None:
        lin = cv2.LUT(small_bgr(frame, SIDE), _LIN_ROW)           # H x W x 3 (B, G, R), 0-1
        y = cv2.transform(lin, _Y_WEIGHTS)
        self.ev.step(frame.t, *self.general.step(y))
        b, g, r = cv2.split(lin)
        red = r >= self.red_ratio * (b + g + r)
        if red.any() or self.red.active():
            q = np.where(red & (r > 0), np.maximum(r - g - b, 0.0) * 320.0, 0.0).astype(np.float32)
            self.ev_red.step(frame.t, *self.red.step(q))
        else:   # no saturated red now or since the last transition: nothing can change
            self.ev_red.step(frame.t, _NONE, _NONE)
        self.frames += 1

    def finish(self) -> DetectorResult:
        pol = self.ctx.policy.section("flash")
        window, limit = float(pol["window_s"]), float(pol["max_flashes"])
        n, t0, t1 = worst_window(self.ev.times, window)
        nr, r0, r1 = worst_window(self.ev_red.times, window)
        flashes, red = n / 2.0, nr / 2.0
        inside = [a for t, a in zip(self.ev.times, self.ev.areas) if t0 - 1e-9 <= t <= t1 + 1e-9] if n else []
        data = {
            "max_flashes_per_s": flashes,
            "worst_window": [round(t0, 3), round(t1, 3)] if n else None,
            "area": round(float(np.median(inside)), 3) if inside else 0.0,
            "red_flashes_per_s": red,
            "red_worst_window": [round(r0, 3), round(r1, 3)] if nr else None,
            "transitions": len(self.ev.times),
            "red_transitions": len(self.ev_red.times),
            "threshold": {"fail": limit, "area": float(pol["area"])},
            "scale": "most flashes (pairs of opposing luminance transitions over the area limit) in any window_s",
        }
        findings = []
        for kind, count, a, b in (("general", flashes, t0, t1), ("red", red, r0, r1)):
            if count > limit:
                findings.append(Finding(
                    QUALITY, FAIL, "quality.flash",
                    f"{count:g} {kind} flashes within one second at {a:.2f}-{b:.2f} s (more than {limit:g} over "
                    f"{float(pol['area']):.0%} of the frame): fails WCAG 2.3.1 / Ofcom photosensitive epilepsy "
                    "guidance.", {"kind": kind, "flashes": count, "range": [round(a, 3), round(b + window / 8, 3)]}))
        return DetectorResult(data, tuple(findings))


DETECTORS = [FlashDetector]
