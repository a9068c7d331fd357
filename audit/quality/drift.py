"""Geometric drift: how much of the picture's change over time no camera move explains.

Corners of the first frame (the anchor) are tracked through the clip (pyramidal Lucas-Kanade,
forward-backward checked, ``[drift] sample_hz`` frames per second), and a homography from the
anchor to each sampled frame is fitted with RANSAC. A camera move on a distant or flat scene
(pan, tilt, zoom, roll) is a homography, so it leaves nothing; what it cannot explain is
non-rigid change: hands, objects or buildings that bend and swell as the clip goes on.

Per sampled frame: the residual displacement (``[drift] percentile`` of the dense DIS optical
flow between the homography-warped anchor and the frame, in percent of the frame diagonal) and the share of points the homography still explains
(inlier ratio: the share of pixels whose residual flow stays under 1 px at 256 px). When too few anchor points survive (they left the frame), the frame in hand
becomes the new anchor. ``score``: the largest residual over the clip, after a running median of
three samples (percent of the diagonal); ``growth``: its slope, percent per second.

When the reference image is known (``--reference`` or the request's), it is aligned on the
first frame, and the structural similarity (scikit-image SSIM) of each sampled frame, warped
back onto the reference, is reported: a clip that drifts away from its reference loses it.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from ..detectors import Detector, DetectorResult
from ..findings import FAIL, INFO, QUALITY, WARN, Finding
from .motion import normalised, small_gray
from .signals import curve

SIDE = 256
_FEATURES = dict(maxCorners=150, qualityLevel=0.01, minDistance=7, blockSize=5)
_LK = dict(winSize=(11, 11), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.03))
SSIM_EVERY_S = 0.5


class DriftDetector(Detector):
    name = "drift"
    slot = "metrics"
    order = 30
    lane = "drift"     # its own thread: shares no per-frame work with the motion detectors

    def __init__(self, ctx):
        super().__init__(ctx)
        pol = ctx.policy.section("drift")
        self.step_s = 1.0 / float(pol["sample_hz"])
        self.pct = float(pol["percentile"])
        self.next_t: float | None = None
        self.cur_step = self.step_s   # shortened while the camera moves too fast to track
        self.img: np.ndarray | None = None      # last sampled image
        self.anchor_pts: np.ndarray | None = None
        self.pts: np.ndarray | None = None
        self.anchor_n = 0
        self.H_first_anchor = np.eye(3)          # first frame -> current anchor
        self.anchors = 0
        self.diag = 1.0
        self.ts: list[float] = []
        self.resid: list[float] = []
        self.inliers: list[float] = []
        self.ssim_ts: list[float] = []
        self.ssim: list[float] = []
        self.next_ssim = 0.0
        self.ref = None
        self.H_ref_first: np.ndarray | None = None
        self.ref_note: str | None = None
        self.ref_problem: str | None = None     # unreadable | featureless | unaligned
        self.anchor_img: np.ndarray | None = None
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        # 2 variational refinement passes instead of the preset's 5: a third less time, the
        # 8 px cell averages move by ~0.003 px against the preset (and ~0.03 px against MEDIUM)
        self._dis.setVariationalRefinementIterations(2)

    # -- reference ---------------------------------------------------------------------------
    def _load_reference(self, first: np.ndarray) -> None:
        path = self.ctx.reference
        if not path:
            return
        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if img is None:
            self.ref_note = f"{path}: reference image unreadable"
            self.ref_problem = "unreadable"
            return
        h, w = first.shape
        ref = normalised(cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA))
        self.ref = ref
        # Align the reference on the first frame (the clip starts from it: small motion).
        p = cv2.goodFeaturesToTrack(ref, mask=None, **_FEATURES)
        if p is None or len(p) < 12:
            self.ref_note = "reference has too few features to align"
            self.ref_problem = "featureless"
            return
        q, st, _ = cv2.calcOpticalFlowPyrLK(ref, first, p, None, **_LK)
        ok = st.ravel() == 1
        if ok.sum() >= 12:
            H, _ = cv2.findHomography(p[ok], q[ok], cv2.RANSAC, 2.0)
            self.H_ref_first = H
        if self.H_ref_first is None:
            self.ref_note = "could not align the reference image on the first frame"
            self.ref_problem = "unaligned"

    def _ssim(self, t: float, img: np.ndarray, H_first_cur: np.ndarray) -> None:
        from skimage.metrics import structural_similarity

        H = H_first_cur @ self.H_ref_first          # reference -> current frame
        h, w = img.shape
        back = cv2.warpPerspective(img, np.linalg.inv(H), (w, h), flags=cv2.INTER_LINEAR)
        mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), np.linalg.inv(H), (w, h)) > 0
        mask = cv2.erode(mask.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        if mask.mean() < 0.3:
            return
        _, full = structural_similarity(self.ref, back, data_range=255, full=True, win_size=7)
        self.ssim_ts.append(t)
        self.ssim.append(float(full[mask].mean()))

    # -- tracking ----------------------------------------------------------------------------
    def _anchor(self, img: np.ndarray) -> None:
        p = cv2.goodFeaturesToTrack(img, mask=None, **_FEATURES)
        self.anchor_pts = p.reshape(-1, 2) if p is not None else np.zeros((0, 2), np.float32)
        self.pts = self.anchor_pts.copy()
        self.anchor_n = len(self.anchor_pts)
        self.anchor_img = img
        self.anchors += 1

    def feed(self, frame) -> None:
        if self.next_t is not None and frame.t + 1e-6 < self.next_t:
            return
        step = self.cur_step
        self.next_t = frame.t + step * 0.999 if self.next_t is None else max(self.next_t + step, frame.t)
        img = normalised(small_gray(frame, SIDE))
        if self.img is None:
            h, w = img.shape
            self.diag = math.hypot(w, h)
            self._anchor(img)
            self._load_reference(img)
            self.img = img
            self.ts.append(frame.t)
            self.resid.append(0.0)
            self.inliers.append(1.0)
            if self.ref is not None and self.H_ref_first is not None:
                self._ssim(frame.t, img, np.eye(3))
                self.next_ssim = frame.t + SSIM_EVERY_S
            return
        prev, self.img = self.img, img
        if len(self.pts) >= 8:
            p1, st, _ = cv2.calcOpticalFlowPyrLK(prev, img, self.pts.reshape(-1, 1, 2), None, **_LK)
            p0b, st2, _ = cv2.calcOpticalFlowPyrLK(img, prev, p1, None, **_LK)
            fb = np.linalg.norm(p0b.reshape(-1, 2) - self.pts, axis=1)
            h, w = img.shape
            q = p1.reshape(-1, 2)
            keep = (st.ravel() == 1) & (st2.ravel() == 1) & (fb < 0.7) & \
                   (q[:, 0] >= 0) & (q[:, 0] < w) & (q[:, 1] >= 0) & (q[:, 1] < h)
            self.anchor_pts, self.pts = self.anchor_pts[keep], q[keep]
        if len(self.pts) < max(20, 0.4 * self.anchor_n):
            # The anchor's points left the frame (a long pan) or were lost: start again here,
            # chaining the homography so the reference stays aligned.
            H = self._fit()
            if H is not None:
                self.H_first_anchor = H @ self.H_first_anchor
            self._anchor(img)
            # points leave faster than we sample: sample more often until tracking holds
            self.cur_step = self.cur_step / 3
            self.next_t = frame.t + self.cur_step
            return
        if len(self.pts) >= 0.8 * self.anchor_n:
            self.cur_step = min(self.step_s, self.cur_step * 2)
        H = self._fit()
        if H is None:
            return
        # Dense residual: the anchor warped by the homography against the frame in hand. Sparse
        # points alone would overstate it (corners on curved edges slide along them as a zoom
        # or roll goes on); the dense flow measures what is actually left.
        h, w = img.shape
        warped = cv2.warpPerspective(self.anchor_img, H, (w, h), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE)
        mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), H, (w, h), flags=cv2.INTER_NEAREST)
        # keep away from where the anchor ends: flow there sees new content, not warp
        mask = cv2.erode(mask, np.ones((15, 15), np.uint8)) > 0
        if mask.mean() < 0.25:
            return
        # averaged over 8 x 8 px cells: a warp is spatially smooth, flow noise on fine texture
        # is not (and the residual is measured on a grid of that pitch anyway)
        flow = self._dis.calc(img, warped, None)
        gh, gw = h // 8, w // 8
        cells = cv2.resize(flow[: gh * 8, : gw * 8], (gw, gh), interpolation=cv2.INTER_AREA)
        # What a homography of the dense field itself cannot explain (corrects the sparse fit).
        ys, xs = np.nonzero(mask[4: gh * 8: 8, 4: gw * 8: 8])
        src = np.stack([xs * 8 + 3.5, ys * 8 + 3.5], axis=1).astype(np.float32)
        dst = src + cells[ys, xs]
        if len(src) < 20:
            return
        # fitted on every other grid point (a quarter of them: the same model, 4x cheaper),
        # measured on all of them
        Hc, _ = cv2.findHomography(src[::4], dst[::4], cv2.RANSAC, 1.0, maxIters=300)
        if Hc is None:
            return
        mag = np.linalg.norm(dst - cv2.perspectiveTransform(src.reshape(-1, 1, 2), Hc).reshape(-1, 2), axis=1)
        self.ts.append(frame.t)
        self.resid.append(100.0 * float(np.percentile(mag, self.pct)) / self.diag)
        self.inliers.append(float((mag < 1.0).mean()))
        if self.H_ref_first is not None and frame.t >= self.next_ssim:
            self._ssim(frame.t, img, H @ self.H_first_anchor)
            self.next_ssim = frame.t + SSIM_EVERY_S

    def _fit(self) -> np.ndarray | None:
        if len(self.pts) < 8:
            return None
        H, _ = cv2.findHomography(self.anchor_pts, self.pts, cv2.RANSAC, 2.0, maxIters=300)
        return H

    def finish(self) -> DetectorResult:
        pol = self.ctx.policy.section("drift")
        warn, fail = float(pol["warn"]), float(pol["fail"])
        base = {"threshold": {"warn": warn, "fail": fail},
                "scale": f"p{self.pct:g} residual displacement after a homography, % of the frame diagonal"}
        if len(self.resid) < 2:
            return DetectorResult({"score": None, **base, "curve": curve([], [])}, self._reference_findings())
        r = np.array(self.resid)
        # running median of three samples: one bad flow field must not make a clip "drift"
        pad = np.pad(r, 1, mode="edge")
        sm = np.median(np.stack([pad[:-2], pad[1:-1], pad[2:]]), axis=0)
        score = float(sm.max())
        ts = np.array(self.ts)
        growth = float(np.polyfit(ts, r, 1)[0]) if len(ts) >= 3 and ts[-1] > ts[0] else 0.0
        inl = np.array(self.inliers)
        data = {
            "score": round(score, 4),
            **base,
            "curve": curve(self.ts, r),
            "growth_per_s": round(growth, 4),
            "inlier_ratio": curve(self.ts, inl, 3),
            "inlier_ratio_end": round(float(inl[-3:].mean()), 3),
            "inlier_decay": round(float(inl[:3].mean() - inl[-3:].mean()), 3),
            "anchors": self.anchors,
            "ssim_reference": curve(self.ssim_ts, self.ssim) if self.ssim else None,
            "ssim_reference_start": round(self.ssim[0], 4) if self.ssim else None,
            "ssim_reference_end": round(self.ssim[-1], 4) if self.ssim else None,
            "reference_used": self.ssim_ts != [],  # the path itself is in the clip's source
        }
        if self.ref_note:
            data["reference_note"] = self.ref_note
        findings = []
        if score >= warn:
            i = int(np.argmax(sm))
            findings.append(Finding(
                QUALITY, FAIL if score >= fail else WARN, "quality.drift",
                f"Geometric drift {score:.2f} (% of the frame diagonal; warn {warn:g}, fail {fail:g}) at "
                f"{self.ts[i]:.2f} s: shapes bend or swell in a way no camera move explains.",
                {"score": round(score, 4), "at_s": round(self.ts[i], 3), "growth_per_s": round(growth, 4)},
            ))
        min_ssim = float(pol["min_reference_ssim"])
        if self.ssim and self.ssim[0] < min_ssim:
            findings.append(Finding(
                QUALITY, WARN, "quality.reference_mismatch",
                f"The clip does not start from its reference image {Path(str(self.ctx.reference)).name} "
                f"(SSIM {self.ssim[0]:.2f} after alignment, expected at least {min_ssim:g}).",
                {"ssim": round(self.ssim[0], 4), "reference": str(self.ctx.reference)},
            ))
        return DetectorResult(data, tuple(findings) + self._reference_findings())

    def _reference_findings(self) -> tuple[Finding, ...]:
        """A reference that was named but could not be used is said, not just noted."""
        ref = str(self.ctx.reference)
        if self.ref_problem == "unreadable":
            return (Finding(
                QUALITY, WARN, "quality.reference_unreadable",
                f"{ref}: the reference image cannot be read (missing, or not an image OpenCV decodes), so the "
                "clip was not compared with it. Fix the path (--reference, or `reference` in the request).",
                {"reference": ref}),)
        if self.ref_problem == "unaligned":
            return (Finding(
                QUALITY, WARN, "quality.reference_mismatch",
                f"The clip does not start from its reference image {Path(ref).name}: its first frame could not "
                "be aligned on it (too few matching features).", {"ssim": None, "reference": ref}),)
        if self.ref_problem == "featureless":
            return (Finding(
                QUALITY, INFO, "quality.reference_unusable",
                f"{Path(ref).name}: the reference image has too few features to align the clip on it; the "
                "clip was not compared with it.", {"reference": ref}),)
        return ()


DETECTORS = [DriftDetector]
