"""Find a known watermark (a PNG template with alpha) in a frame, at several scales.

A semi-transparent overlay over busy content keeps its *edges* far better than its colours:
blending ``I = (1 - a*o) * B + a*o * M`` leaves the mark's stroke edges in the gradient of
``I`` at opacity ``o`` whatever the brightness of ``B``. So both the frame and the template are
turned into signed gradient fields (Sobel x, y after a light blur that absorbs resampling
differences), and each scale of the template is slid over the frame with OpenCV's
``matchTemplate``. The score is a normalised cross-correlation of the gradient vectors,
normalised over the template's *support* (the pixels where its alpha has edges, dilated), not
the whole box: background texture between the strokes does not dilute the score. The frame's
gradients are capped in magnitude (``clipped``) so that a high-contrast scene edge crossing
a faint mark does not swamp the normalisation: the score then mostly measures whether the
edge *orientations* under the template agree with it.

Scores are in [-1, 1]. A clean frame's best chance match over every position and size
reaches about 0.62; at one known position and size a frame without the mark stays below
about 0.24 while one with it at opacity 0.25 scores 0.43 or more (scene seeds 7-14, see the
closing note of issue 4). Hence the detector's two thresholds: a high one to *find* the
mark anywhere, a low one to *verify* it at a known place.

Speed: the whole-frame search is coarse-to-fine (one search per distinct reduced copy of the
template, on the frame reduced by 2 or 4 so the copy is 5-8 px tall, normalised over the
copy's box; the best few candidates re-scored at full resolution near their position and
scale); the detector runs it only while it has not found the mark. A frame's full-resolution
gradients are computed only where asked (``FrameImage``): holding a found mark costs patches
around its place, not the frame.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError

# Reductions of the coarse levels (by 4, by 2) and the smallest template height (px) searched
# at each: a scale is searched at the coarsest level that keeps it at least that tall, at full
# resolution below. The coarse search only ranks candidates (a 5 px copy of a mark is a blob
# with its outline); the full-resolution score decides.
LEVELS = ((4, 5), (2, 5))
# How far (full-resolution px) around a coarse candidate the fine search looks.
REFINE_PX = 3
# How many scales either side of a coarse candidate's the fine search tries (the half-resolution
# level tends to prefer a size two or three steps off for small marks).
REFINE_SCALES = 3


class TemplateError(InputError):
    code = "runtime.watermark_template_unreadable"
    hint = "Pass a PNG (ideally with an alpha channel) of the watermark as it appears on the video"


def load_template(path: str | Path) -> np.ndarray:
    """The template as BGRA uint8 (a template without alpha is taken as fully opaque)."""
    from ..files import IMAGE_MAX_PIXELS, check_image

    p = Path(path)
    check_image(p, IMAGE_MAX_PIXELS, what="watermark template", error=TemplateError)  # header only: no bomb decoded
    img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise TemplateError(p, "cannot be read as an image")
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGRA)
    elif img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2BGRA)
    if img.dtype != np.uint8:
        img = cv2.convertScaleAbs(img, alpha=255.0 / max(1.0, float(img.max())))
    if min(img.shape[:2]) < 4 or not img[..., 3].any():
        raise TemplateError(p, "is empty (no visible pixel)")
    return img


def gradients(gray: np.ndarray, blur_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Signed Sobel gradients (float32) of a grey image after a Gaussian blur of ``blur_px``."""
    g = gray.astype(np.float32)
    if blur_px > 0:
        g = cv2.GaussianBlur(g, (0, 0), blur_px)
    return cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)


@dataclass(frozen=True)
class ScaledTemplate:
    """One scale of one template: unit-norm gradient fields and the support mask."""

    template: int
    height: int
    width: int
    gx: np.ndarray
    gy: np.ndarray
    support: np.ndarray
    box: bool = False   # normalised over the whole box (a box filter), not the support


def _scaled(bgra: np.ndarray, index: int, height: int, blur_px: float, least: int = 6) -> ScaledTemplate | None:
    h0, w0 = bgra.shape[:2]
    w = int(round(w0 * height / h0))
    if height < least or w < least:
        return None
    interp = cv2.INTER_AREA if height < h0 else cv2.INTER_LINEAR
    t = cv2.resize(bgra, (w, height), interpolation=interp).astype(np.float32)
    a = t[..., 3:] / 255.0
    # Composite over mid-grey: the mark's own edges (fill/outline) and its silhouette both show.
    gray = cv2.cvtColor((t[..., :3] * a + 128.0 * (1.0 - a)).astype(np.uint8), cv2.COLOR_BGR2GRAY)
    gx, gy = gradients(gray, blur_px)
    energy = gx * gx + gy * gy
    norm = float(np.sqrt(energy.sum()))
    if norm <= 0:
        return None
    support = cv2.dilate((energy > 0.02 * energy.max()).astype(np.uint8), np.ones((3, 3), np.uint8))
    return ScaledTemplate(index, height, w, gx / norm, gy / norm, support.astype(np.float32))


class TemplateBank:
    """Every template at every scale for one frame size (match pixels), plus a reduced copy (by
    2 or 4) of the scales big enough to survive it (the coarse level of the search).

    ``ranges``: per template, one or more bands (smallest, largest height searched, match
    pixels); heights are geometric within each band in steps of ``scale_step``.
    """

    def __init__(self, templates: list[np.ndarray], frame_hw: tuple[int, int], *,
                 ranges: list[list[tuple[float, float]]], scale_step: float, blur_px: float):
        H, W = frame_hw
        self.blur_px = blur_px
        self.scales: list[ScaledTemplate] = []
        self.coarse: dict[int, tuple[int, ScaledTemplate]] = {}   # scale index -> (reduction, copy)
        self._spectra: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}   # coarse copies' DFTs
        for ti, (bgra, bands) in enumerate(zip(templates, ranges)):
            heights = set()
            for lo, hi in bands:
                lo, hi = max(6.0, lo), max(6.0, hi)
                n = max(1, int(np.floor(np.log(max(hi, lo) / lo) / np.log(scale_step))) + 1)
                heights |= {int(round(lo * scale_step**i)) for i in range(n)}
            for h in sorted(heights):
                st = _scaled(bgra, ti, h, blur_px)
                if st is None or st.height > H or st.width > W:
                    continue
                self.scales.append(st)
                for f, least in LEVELS:
                    if h // f >= least:
                        # the blur is reduced too: the coarse level is the fine one seen from afar
                        small = _scaled(bgra, ti, h // f, blur_px / f, least)
                        if small is not None:
                            # a few px tall, the support fills most of the box: normalised over
                            # the box (a box filter, a third of the cost) to rank candidates
                            small = replace(small, box=True)
                            self.coarse[len(self.scales) - 1] = (f, small)
                            break

    def __len__(self) -> int:
        return len(self.scales)

    def coarse_best(self, field: "FrameGradients", i: int) -> "Match | None":
        """Best position of scale ``i``'s reduced copy on ``field`` (reduced as much), scored
        as ``FrameGradients.score_map`` does a box-normalised template. The numerator is one
        inverse DFT of the field's spectra (made once per field) times the copy's (made once
        per field size), not two ``matchTemplate`` calls each transforming the field again."""
        _, st = self.coarse[i]
        H, W = field.shape
        h, w = st.height, st.width
        if h > H or w > W:
            return None
        fx, fy = field.spectra()
        DH, DW = fx.shape
        key = (i, DH, DW)
        ts = self._spectra.get(key)
        if ts is None:
            ts = self._spectra[key] = tuple(
                cv2.dft(cv2.copyMakeBorder(t, 0, DH - h, 0, DW - w, cv2.BORDER_CONSTANT, value=0)) for t in (st.gx, st.gy))
        prod = cv2.mulSpectrums(fx, ts[0], 0, conjB=True)
        prod += cv2.mulSpectrums(fy, ts[1], 0, conjB=True)
        num = cv2.idft(prod, flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE)[: H - h + 1, : W - w + 1]
        _, mx, _, loc = cv2.minMaxLoc(_ncc(num, field.energy, st))
        return Match(float(mx), loc[0], loc[1], w, h, i)

    def coarse_order(self) -> list[int]:
        """The scales the coarse search tries: one per distinct reduced copy (neighbouring
        scales reduced to the same height are one search), every other scale of those
        searched at full resolution."""
        out, seen, n = [], set(), len(self.scales)
        for i, st in enumerate(self.scales):
            if i in self.coarse:
                f, small = self.coarse[i]
                key = (st.template, f, small.height, small.width)
                if key not in seen:
                    seen.add(key)
                    out.append(i)
            elif i % 2 == 0 or i == n - 1:
                out.append(i)
        return out


@dataclass(frozen=True)
class Match:
    """Best position of one scaled template: box (x, y, w, h) in match pixels, score in [-1, 1]."""

    score: float
    x: int
    y: int
    w: int
    h: int
    scale: int   # index into TemplateBank.scales


def clipped(gx: np.ndarray, gy: np.ndarray, clip: float) -> tuple[np.ndarray, np.ndarray]:
    """The gradient field with its magnitude capped at ``clip`` (direction kept).

    A faint overlay's edges are weak; the scene's may be ten times stronger. Uncapped, one
    high-contrast scene edge crossing the mark dominates the correlation's normalisation and
    the mark's score collapses; capped, such an edge weighs no more than a mark edge, and
    the score mostly says whether the *orientations* under the template agree with it."""
    if clip <= 0:
        return gx, gy
    k = clip / np.maximum(cv2.magnitude(gx, gy), clip)
    return gx * k, gy * k


class _Field:
    """What the three kinds of field (``FrameGradients``, ``FrameImage``, ``MeanImage``) share
    on top of their own ``best``."""

    def at(self, st: "ScaledTemplate", index: int, x: int, y: int, slack: int = 1) -> "Match | None":
        """Best score of ``st`` within ``slack`` px of (x, y): is the mark still there?"""
        return self.best(st, index, roi=(x - slack, y - slack, x + slack, y + slack))


class FrameGradients(_Field):
    """A frame's gradients, shared by every template and scale tried on it."""

    def __init__(self, gx: np.ndarray, gy: np.ndarray):
        self.gx, self.gy = gx, gy
        self.shape = gx.shape
        self._energy = None
        self._spectra = None

    def spectra(self) -> tuple[np.ndarray, np.ndarray]:
        """The DFTs (OpenCV's packed real format) of gx and gy zero-padded to a fast size, for
        correlating many templates with the field (``TemplateBank.coarse_best``)."""
        if self._spectra is None:
            H, W = self.shape
            pad = (0, cv2.getOptimalDFTSize(H) - H, 0, cv2.getOptimalDFTSize(W) - W)
            self._spectra = tuple(cv2.dft(cv2.copyMakeBorder(np.ascontiguousarray(f), *pad, cv2.BORDER_CONSTANT,
                                                             value=0)) for f in (self.gx, self.gy))
        return self._spectra

    @property
    def energy(self) -> np.ndarray:
        if self._energy is None:
            self._energy = self.gx * self.gx + self.gy * self.gy
        return self._energy

    def reduced(self, f: int) -> "FrameGradients":
        """The field reduced by ``f`` (area-averaged), for the coarse search."""
        return reduced(self, f)

    def patch(self, x0: int, y0: int, x1: int, y1: int) -> "FrameGradients":
        H, W = self.shape
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
        return FrameGradients(self.gx[y0:y1, x0:x1], self.gy[y0:y1, x0:x1])

    def __sub__(self, other: "FrameGradients") -> "FrameGradients":
        return FrameGradients(self.gx - other.gx, self.gy - other.gy)

    @staticmethod
    def mean(fields: list["FrameGradients"]) -> "FrameGradients":
        n = len(fields)
        return FrameGradients(sum(f.gx for f in fields) / n, sum(f.gy for f in fields) / n)

    def score_map(self, st: ScaledTemplate, roi: tuple[int, int, int, int] | None = None):
        """NCC map of ``st`` over the frame (or over ``roi`` = x0, y0, x1, y1 of top-left
        positions). Returns (map, x0, y0)."""
        x0, y0, x1, y1 = _corners(self.shape, st, roi)
        if x1 < x0 or y1 < y0:
            return None, x0, y0
        ys, xs = slice(y0, y1 + st.height), slice(x0, x1 + st.width)
        num = cv2.matchTemplate(self.gx[ys, xs], st.gx, cv2.TM_CCORR)
        num += cv2.matchTemplate(self.gy[ys, xs], st.gy, cv2.TM_CCORR)
        return _ncc(num, self.energy[ys, xs], st), x0, y0

    def best(self, st: ScaledTemplate, index: int, roi=None) -> Match | None:
        m, x0, y0 = self.score_map(st, roi)
        if m is None:
            return None
        _, mx, _, loc = cv2.minMaxLoc(m)
        return Match(float(mx), x0 + loc[0], y0 + loc[1], st.width, st.height, index)


class FrameImage(_Field):
    """One frame's match copy (grey, uint8) whose gradient field is computed only where it is
    asked for: verifying a known place or following the mark nearby costs a patch of a few
    hundred pixels, not the frame; the whole field (``field``, capped at ``clip``; ``raw``, not
    capped) is made on first use and kept. A patch is cut with a margin wider than the blur and
    Sobel kernels reach, so it holds the whole field's own values there."""

    MARGIN = 6

    def __init__(self, gray: np.ndarray, blur_px: float, clip: float, lower=None):
        """``lower``: {f: this copy reduced by f (uint8)} the caller has made; other
        reductions are resized here."""
        self.gray, self.blur_px, self.clip, self._lower = gray, blur_px, clip, lower
        self.shape = gray.shape
        self._field: FrameGradients | None = None
        self._raw: FrameGradients | None = None
        self._reduced: dict[int, FrameGradients] = {}

    def raw(self) -> "FrameGradients":
        if self._raw is None:
            self._raw = FrameGradients(*gradients(self.gray, self.blur_px))
        return self._raw

    def field(self) -> "FrameGradients":
        if self._field is None:
            r = self.raw()
            self._field = FrameGradients(*clipped(r.gx, r.gy, self.clip))
        return self._field

    def patch(self, x0: int, y0: int, x1: int, y1: int) -> "FrameGradients":
        """The capped field over x0 <= x < x1, y0 <= y < y1 (clamped to the frame)."""
        H, W = self.shape
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
        if self._field is not None or (x1 - x0) * (y1 - y0) > 0.25 * H * W:
            return self.field().patch(x0, y0, x1, y1)   # most of the frame: made whole once, kept
        m = self.MARGIN
        a, b, c, d = max(0, x0 - m), max(0, y0 - m), min(W, x1 + m), min(H, y1 + m)
        gx, gy = gradients(self.gray[b:d, a:c], self.blur_px)
        ys, xs = slice(y0 - b, y1 - b), slice(x0 - a, x1 - a)
        return FrameGradients(*clipped(gx[ys, xs], gy[ys, xs], self.clip))

    def reduced(self, f: int) -> "FrameGradients":
        """The capped field of the copy reduced by ``f`` (area-averaged grey, blur reduced
        too: the frame as the reduced templates are, seen from afar)."""
        if f not in self._reduced:
            H, W = self.shape
            small = self._lower.get(f) if self._lower else None
            if small is None or min(small.shape) < 8:
                small = cv2.resize(self.gray, (max(8, W // f), max(8, H // f)), interpolation=cv2.INTER_AREA)
            self._reduced[f] = FrameGradients(*clipped(*gradients(small, self.blur_px / f), self.clip))
        return self._reduced[f]

    def best(self, st: "ScaledTemplate", index: int, roi=None) -> "Match | None":
        return _best_in_patches([self], st, index, roi)


class MeanImage(_Field):
    """Several frames' fields averaged (a moving scene averages out, a still mark does not),
    computed where asked like a ``FrameImage``'s."""

    def __init__(self, images: list[FrameImage]):
        self.images = images
        self.shape = images[0].shape

    def reduced(self, f: int) -> "FrameGradients":
        return FrameGradients.mean([i.reduced(f) for i in self.images])

    def patch(self, x0: int, y0: int, x1: int, y1: int) -> "FrameGradients":
        return FrameGradients.mean([i.patch(x0, y0, x1, y1) for i in self.images])

    def best(self, st: "ScaledTemplate", index: int, roi=None) -> "Match | None":
        return _best_in_patches(self.images, st, index, roi)


def _best_in_patches(images: list[FrameImage], st: "ScaledTemplate", index: int, roi) -> "Match | None":
    """Best position of ``st`` with its top-left corner in ``roi`` (x0, y0, x1, y1; the whole
    frame when None) on the images' fields averaged there."""
    x0, y0, x1, y1 = _corners(images[0].shape, st, roi)
    if x1 < x0 or y1 < y0:
        return None
    box = (x0, y0, x1 + st.width, y1 + st.height)
    fields = [i.patch(*box) for i in images]
    fg = fields[0] if len(fields) == 1 else FrameGradients.mean(fields)
    m = fg.best(st, index)
    return None if m is None else Match(m.score, x0 + m.x, y0 + m.y, m.w, m.h, index)


def _corners(shape: tuple[int, int], st: "ScaledTemplate", roi) -> tuple[int, int, int, int]:
    """The top-left positions (x0, y0, x1, y1, inclusive) of ``st`` within ``roi`` that keep it
    inside a field of ``shape``; the whole field when ``roi`` is None. Empty when x1 < x0 or
    y1 < y0."""
    H, W = shape
    x0, y0, x1, y1 = roi if roi else (0, 0, W - st.width, H - st.height)
    return max(0, x0), max(0, y0), min(W - st.width, x1), min(H - st.height, y1)


def _ncc(num: np.ndarray, energy: np.ndarray, st: "ScaledTemplate") -> np.ndarray:
    """The correlation ``num`` of a field with ``st`` normalised by the field's energy under
    the template's support (under its whole box for a box-normalised copy); ``energy`` covers
    the positions of ``num`` plus the template's size."""
    if st.box:
        den = cv2.boxFilter(energy, -1, (st.width, st.height), anchor=(0, 0), normalize=False,
                            borderType=cv2.BORDER_CONSTANT)[: num.shape[0], : num.shape[1]]
    else:
        den = cv2.matchTemplate(energy, st.support, cv2.TM_CCORR)
    # Floor: flat areas (no gradient at all) must score 0, not noise divided by ~0.
    return num / np.sqrt(np.maximum(den, 4.0 * float(st.support.sum())))


def search(fg: FrameGradients, bank: TemplateBank, indices=None, roi=None) -> Match | None:
    """Best match over the scales ``indices`` (all when None)."""
    best = None
    for i in indices if indices is not None else range(len(bank.scales)):
        m = fg.best(bank.scales[i], i, roi)
        if m is not None and (best is None or m.score > best.score):
            best = m
    return best


def reduced(fg: FrameGradients, f: int) -> FrameGradients:
    """The gradient field reduced by ``f`` (area-averaged), for the coarse search."""
    h, w = fg.gx.shape
    size = (max(8, w // f), max(8, h // f))
    return FrameGradients(cv2.resize(fg.gx, size, interpolation=cv2.INTER_AREA),
                          cv2.resize(fg.gy, size, interpolation=cv2.INTER_AREA))


def coarse_to_fine(fg, bank: TemplateBank, candidates: int = 3) -> Match | None:
    """Search every scale cheaply, then verify the best few at full resolution.

    ``fg``: a ``FrameGradients``, ``FrameImage`` or ``MeanImage``. Every other scale is tried
    on the field reduced as much as the bank's copy of it (``LEVELS``; at full resolution for
    scales too small for any). The ``candidates`` best (scale, position) *of each template*
    are then re-scored at full resolution, near their position, at their scale and its
    neighbours: one patch of the full-resolution field per candidate, large enough for the
    largest of them. Per template, so that one template's chance matches (a bold mark's
    outline matches much of any scene) do not take every place from a fainter one's."""
    coarse = bank.coarse_order()
    levels = {f: fg.reduced(f) for f in {bank.coarse[i][0] for i in coarse if i in bank.coarse}}
    found: list[tuple[Match, int]] = []
    for i in coarse:
        st = bank.scales[i]
        if i in bank.coarse:
            f, small = bank.coarse[i]
            m = bank.coarse_best(levels[f], i)
            if m is not None:
                found.append((Match(m.score, f * m.x, f * m.y, st.width, st.height, i), f))
        else:
            m = fg.best(st, i)
            if m is not None:
                found.append((m, 1))
    # Candidates of one template at overlapping places and sizes (often the same spot seen by
    # two neighbouring coarse copies) are refined together, over the union of their places
    # and scales: one patch and each scale once, not once per candidate.
    groups: list[list[int]] = []   # [template, first scale, last scale, x0, y0, x1, y1] (top-left corners)
    taken: dict[int, int] = {}
    for c, f in sorted(found, key=lambda p: -p[0].score):
        t = bank.scales[c.scale].template
        if taken.get(t, 0) >= candidates:
            continue
        taken[t] = taken.get(t, 0) + 1
        near = [i for i in range(c.scale - REFINE_SCALES, c.scale + REFINE_SCALES + 1)
                if 0 <= i < len(bank.scales) and bank.scales[i].template == t]
        r = REFINE_PX * max(1, f // 2)
        g = [t, near[0], near[-1], c.x - r, c.y - r, c.x + r, c.y + r]
        for o in groups:
            if o[0] == t and g[1] <= o[2] + 1 and o[1] <= g[2] + 1 and g[3] <= o[5] and o[3] <= g[5] \
                    and g[4] <= o[6] and o[4] <= g[6]:
                o[1:] = [min(o[1], g[1]), max(o[2], g[2]), min(o[3], g[3]), min(o[4], g[4]), max(o[5], g[5]),
                         max(o[6], g[6])]
                break
        else:
            groups.append(g)
    best = None
    for _, lo, hi, rx0, ry0, rx1, ry1 in groups:
        near = list(range(lo, hi + 1))
        x0, y0 = max(0, rx0), max(0, ry0)
        w = max(bank.scales[i].width for i in near)
        h = max(bank.scales[i].height for i in near)
        part = fg.patch(x0, y0, rx1 + w, ry1 + h)
        m = search(part, bank, near, roi=(rx0 - x0, ry0 - y0, rx1 - x0, ry1 - y0))
        if m is not None and (best is None or m.score > best.score):
            best = Match(m.score, x0 + m.x, y0 + m.y, m.w, m.h, m.scale)
    return best
