"""Learn a mark: a template PNG with alpha from a few clips that carry the same overlay.

``sora-audit watermark learn CLIP... --out mark.png``. How:

1. In each clip the template-free search (``audit.watermark.free``: an overlay fixed in the
   frame while the picture moves) says where an overlay was, sample by sample; its segments
   are the places it held (one, or several for a mark that jumps).
2. At each place the frames are cut a little wider than the box found. Over many frames of
   moving content the per-pixel median of the background is a smooth wash, while a blended
   overlay ``I = (1 - a) B + a M`` keeps its pixels: the median of the cuts is the mark over
   that wash. The places (of every clip) are aligned on the first, largest one (gradient
   correlation, after scaling to its size) and all their cuts pooled into one median.
3. Alpha and colour follow from that median ``P`` and the wash's level ``B`` (a plane fitted
   to the cut's border): where ``P > B`` the mark is white with ``a = (P - B) / (255 - B)``, where
   ``P < B`` black with ``a = (B - P) / B``. Faint noise is cleared, the result cropped.

The clips' pictures must move (pans, action): in a still shot an overlay cannot be told from
the scene, and such a clip contributes nothing (said in the summary).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import AuditError

# Margin around a found box, as a share of its height, cut on each side (the found box may
# hold only part of the mark; the margin also gives the background's level).
MARGIN = 0.6
# Alpha below this is noise of the median, cleared.
ALPHA_FLOOR = 0.12
# Correlation (edges of the places' medians) a place must reach on the reference to be pooled
# with it: a place a pixel off blurs the pooled median more than its frames clean it.
ALIGN_SCORE = 0.7


class LearnError(AuditError):
    """No template could be learned; the message names the clip or says why."""

    hint = "Give clips whose picture moves (pans, action) and that all carry the overlay"

    def __init__(self, path: Path | None, problem: str):
        super().__init__(f"{path}: {problem}" if path else problem)


@dataclass
class Place:
    """One place an overlay held in one clip: its box (displayed px) and the cuts around it."""

    clip: str
    box: tuple[int, int, int, int]
    times: list[float]
    cuts: list[np.ndarray] = field(default_factory=list)   # grey, float32 (NaN off the frame), box plus margin


@dataclass
class Learned:
    template: np.ndarray          # BGRA uint8
    places: int
    frames: int
    clips_used: list[str]
    clips_without: list[str]


def overlay_places(path: str | Path, policy=None) -> list[Place]:
    """Where the template-free search saw an overlay in ``path``: one Place per segment."""
    from ..media import open_clip
    from ..pipeline import AuditContext, AuditOptions
    from ..policy import Policy, load_policy
    from .detector import WatermarkDetector

    base = policy or load_policy()
    data = copy.deepcopy(dict(base.data))
    data["watermark"].update({"known": [], "templates": [], "template_free": True})
    pol = Policy(data)
    cv2.setRNGSeed(20251006)   # the motion estimate's RANSAC: same clips, same template (as the pipeline)
    with open_clip(path) as reader:
        ctx = AuditContext(Path(path), reader.info, pol, AuditOptions(policy=pol), None)
        det = WatermarkDetector(ctx)
        for frame in reader.frames(max_side=pol.get("analysis", "max_side")):
            det.feed(frame)
        if reader.decoded_frames == 0:
            raise LearnError(Path(path), "no frame could be decoded")
        ctx.media = reader.final_info()
    w = det.finish().data or {}
    places = []
    for seg in w.get("segments") or []:
        times = [t for t, *_ in w["track"] if seg["t0"] - 1e-6 <= t <= seg["t1"] + 1e-6]
        boxes = [b for t, *b in w["track"] if seg["t0"] - 1e-6 <= t <= seg["t1"] + 1e-6]
        x0 = min(b[0] for b in boxes)
        y0 = min(b[1] for b in boxes)
        x1 = max(b[0] + b[2] for b in boxes)
        y1 = max(b[1] + b[3] for b in boxes)
        places.append(Place(str(path), (x0, y0, x1 - x0, y1 - y0), times))
    return places


def cut_places(path: str | Path, places: list[Place]) -> None:
    """Fill each place's cuts (displayed px) from every frame of the clip between its first and
    last sighting: the more backgrounds under the overlay, the cleaner their median."""
    from ..media import open_clip

    if not places:
        return
    end = max(p.times[-1] for p in places)
    with open_clip(path) as reader:
        W, H = reader.info.width, reader.info.height
        for frame in reader.frames(max_side=max(W, H, 1)):
            if frame.t > end + 1e-6:
                break
            for p in places:
                if not p.times[0] - 1e-6 <= frame.t <= p.times[-1] + 1e-6:
                    continue
                x, y, w, h = p.box
                m = int(round(MARGIN * h))
                x0, y0 = max(0, x - m), max(0, y - m)
                x1, y1 = min(frame.width, x + w + m), min(frame.height, y + h + m)
                # a place near the frame's edge: the part outside is unknown (NaN), not black
                cut = np.full((h + 2 * m, w + 2 * m), np.nan, np.float32)
                cut[y0 - (y - m):y1 - (y - m), x0 - (x - m):x1 - (x - m)] = frame.gray[y0:y1, x0:x1]
                p.cuts.append(cut)


def _filled(img: np.ndarray) -> np.ndarray:
    """``img`` (float32) with its unknown pixels (NaN) set to its median: for aligning."""
    img = img.astype(np.float32)
    bad = np.isnan(img)
    if bad.any():
        img[bad] = float(np.nanmedian(img)) if (~bad).any() else 0.0
    return img


def _edges(img: np.ndarray) -> np.ndarray:
    g = cv2.GaussianBlur(img.astype(np.float32), (0, 0), 0.8)
    return cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))


def _align(ref: np.ndarray, med: np.ndarray) -> tuple[int, int] | None:
    """Shift (dx, dy) that puts ``med`` (same scale as ``ref``) on ``ref``: its middle matched
    within ``ref`` by gradient magnitude correlation; None when it does not match well."""
    h, w = med.shape
    my, mx = h // 4, w // 4
    core = _edges(med)[my:h - my, mx:w - mx]
    if core.size == 0 or core.std() == 0:
        return None
    r = _edges(ref)
    if r.shape[0] < core.shape[0] or r.shape[1] < core.shape[1]:
        return None
    score = cv2.matchTemplate(r, core, cv2.TM_CCOEFF_NORMED)
    _, best, _, loc = cv2.minMaxLoc(score)
    if best < ALIGN_SCORE:
        return None
    return loc[0] - mx, loc[1] - my


def learn(paths: list[str | Path], policy=None) -> Learned:
    """The overlay the clips share, as a BGRA template. Raises LearnError when no clip shows one."""
    places: list[Place] = []
    without: list[str] = []
    for p in paths:
        found = overlay_places(p, policy)
        if not found:
            without.append(str(p))
            continue
        cut_places(p, found)
        places += [pl for pl in found if pl.cuts]
    if not places:
        raise LearnError(None, f"no overlay found in any of the {len(paths)} clip(s)")
    places.sort(key=lambda pl: -len(pl.cuts))
    ref_place = places[0]
    ref = _filled(np.nanmedian(np.stack(ref_place.cuts), axis=0))
    H, W = ref.shape
    pooled: list[np.ndarray] = list(ref_place.cuts)
    used = 1
    for pl in places[1:]:
        s = ref_place.box[3] / max(1, pl.box[3])
        cuts = pl.cuts
        if abs(s - 1.0) > 0.1:   # another resolution: brought to the reference's scale
            cuts = [cv2.resize(c, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
                    for c in cuts]
        med = _filled(np.nanmedian(np.stack(cuts), axis=0))
        shift = _align(ref, med)
        if shift is None:
            continue
        dx, dy = shift
        M = np.float32([[1, 0, dx], [0, 1, dy]])
        for c in cuts:
            pooled.append(cv2.warpAffine(c, M, (W, H), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                                         borderValue=float("nan")))
        used += 1
    stack = np.stack([c.astype(np.float32) for c in pooled])
    P = np.nanmedian(stack, axis=0)
    template = _template(P, ref_place.box, ref.shape)
    clips = sorted({pl.clip for pl in places})
    return Learned(template, used, len(pooled), clips, without)


def _template(P: np.ndarray, box, shape) -> np.ndarray:
    """BGRA of the mark from the pooled median ``P`` (see the module's docstring)."""
    H, W = shape
    m = max(2, int(round(MARGIN * box[3] / 2)))
    # the wash is not flat (a sky's gradient survives the median): a plane fitted to the border
    ring = np.zeros((H, W), bool)
    ring[:m], ring[-m:], ring[:, :m], ring[:, -m:] = True, True, True, True
    ring &= ~np.isnan(P)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    A = np.column_stack([np.ones(int(ring.sum())), xx[ring], yy[ring]])
    coef, *_ = np.linalg.lstsq(A, P[ring].astype(np.float64), rcond=None)
    B = (coef[0] + coef[1] * xx + coef[2] * yy).astype(np.float32)
    P = np.where(np.isnan(P), B, P)
    d = P - B
    bright = d > 0
    alpha = np.where(bright, d / np.maximum(1.0, 255.0 - B), -d / np.maximum(1.0, B))
    alpha = np.clip(alpha, 0.0, 1.0)
    alpha[alpha < ALPHA_FLOOR] = 0.0
    # the mark is what stands out where the overlay was found (the cut's middle, its margin
    # off); what stands out only in the margin is background the median did not wash out
    x, y, w, h = box
    mg = int(round(MARGIN * h))
    strong = (alpha >= 2 * ALPHA_FLOOR).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(strong, np.ones((3, 3), np.uint8)), connectivity=8)
    keep = np.zeros_like(strong, bool)
    for i in range(1, n):
        cx, cy, cw, ch = (int(v) for v in stats[i][:4])
        if cx < mg + w and mg < cx + cw and cy < mg + h and mg < cy + ch:
            keep |= labels == i
    alpha[~cv2.dilate(keep.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)] = 0.0
    ys, xs = np.nonzero(keep & (strong > 0))
    if xs.size == 0:
        raise LearnError(None, "the overlay's pixels do not stand out from the background")
    x0, x1 = max(0, xs.min() - 2), min(W, xs.max() + 3)
    y0, y1 = max(0, ys.min() - 2), min(H, ys.max() + 3)
    colour = np.where(bright, 255, 0).astype(np.uint8)[y0:y1, x0:x1]
    a = (alpha[y0:y1, x0:x1] * 255.0 + 0.5).astype(np.uint8)
    return np.dstack([colour, colour, colour, a])
