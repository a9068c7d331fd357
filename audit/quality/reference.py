"""The reference image of an image-to-video clip: does the clip start from it and hold it?

Used by the drift detector (``metrics.drift.ssim_reference*``). The reference is aligned on the
clip's first frame (corners tracked by Lucas-Kanade, homography with RANSAC); later frames are
warped back onto it through the camera motion chained since the first frame, and the
structural similarity (scikit-image SSIM) of the overlap is recorded every ``EVERY_S`` seconds
of the first shot (the one that should start from the reference; a cut starts another view).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..findings import INFO, QUALITY, WARN, Finding
from .motion import normalised

EVERY_S = 0.5
_FEATURES = dict(maxCorners=150, qualityLevel=0.01, minDistance=7, blockSize=5)
_LK = dict(winSize=(11, 11), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.03))


class ReferenceCheck:
    """SSIM of the first shot's frames to the reference, after alignment."""

    def __init__(self, path: str | None):
        self.path = path
        self.ref: np.ndarray | None = None
        self.H_ref_first: np.ndarray | None = None
        self.note: str | None = None
        self.problem: str | None = None     # unreadable | featureless | unaligned
        self.ts: list[float] = []
        self.ssim: list[float] = []
        self.next_t = 0.0
        self.done = path is None            # after the first shot, or nothing to compare

    def start(self, first: np.ndarray, t: float) -> None:
        """Load the reference and align it on the first frame (grey, analysis copy)."""
        if self.path is None:
            return
        img = cv2.imread(str(self.path), cv2.IMREAD_GRAYSCALE)
        if img is None:
            self.note, self.problem, self.done = f"{self.path}: reference image unreadable", "unreadable", True
            return
        h, w = first.shape
        self.ref = normalised(cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA))
        first = normalised(first)
        p = cv2.goodFeaturesToTrack(self.ref, mask=None, **_FEATURES)
        if p is None or len(p) < 12:
            self.note, self.problem, self.done = "reference has too few features to align", "featureless", True
            return
        q, st, _ = cv2.calcOpticalFlowPyrLK(self.ref, first, p, None, **_LK)
        ok = st.ravel() == 1
        if ok.sum() >= 12:
            self.H_ref_first, _ = cv2.findHomography(p[ok], q[ok], cv2.RANSAC, 2.0)
        if self.H_ref_first is None:
            self.note, self.problem, self.done = ("could not align the reference image on the first frame",
                                                  "unaligned", True)
            return
        self.measure(t, first, np.eye(3))

    def due(self, t: float) -> bool:
        return not self.done and self.H_ref_first is not None and t >= self.next_t

    def measure(self, t: float, img: np.ndarray, H_first_cur: np.ndarray) -> None:
        """SSIM of ``img`` (grey) warped back onto the reference; ``H_first_cur`` maps the first
        frame's pixels to ``img``'s."""
        from skimage.metrics import structural_similarity

        self.next_t = t + EVERY_S
        H = H_first_cur @ self.H_ref_first          # reference -> current frame
        h, w = img.shape
        inv = np.linalg.inv(H)
        back = cv2.warpPerspective(normalised(img), inv, (w, h), flags=cv2.INTER_LINEAR)
        mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), inv, (w, h)) > 0
        mask = cv2.erode(mask.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        if mask.mean() < 0.3:
            return
        _, full = structural_similarity(self.ref, back, data_range=255, full=True, win_size=7)
        self.ts.append(t)
        self.ssim.append(float(full[mask].mean()))

    def block(self) -> dict:
        from .signals import curve

        d = {
            "ssim_reference": curve(self.ts, self.ssim) if self.ssim else None,
            "ssim_reference_start": round(self.ssim[0], 4) if self.ssim else None,
            "ssim_reference_end": round(self.ssim[-1], 4) if self.ssim else None,
            "reference_used": self.ts != [],  # the path itself is in the clip's source
        }
        if self.note:
            d["reference_note"] = self.note
        return d

    def findings(self, min_ssim: float) -> tuple[Finding, ...]:
        ref = str(self.path)
        if self.ssim and self.ssim[0] < min_ssim:
            return (Finding(
                QUALITY, WARN, "quality.reference_mismatch",
                f"The clip does not start from its reference image {Path(ref).name} "
                f"(SSIM {self.ssim[0]:.2f} after alignment, expected at least {min_ssim:g}).",
                {"ssim": round(self.ssim[0], 4), "reference": ref}),)
        # A reference that was named but could not be used is said, not just noted.
        if self.problem == "unreadable":
            return (Finding(
                QUALITY, WARN, "quality.reference_unreadable",
                f"{ref}: the reference image cannot be read (missing, or not an image OpenCV decodes), so the "
                "clip was not compared with it. Fix the path (--reference, or `reference` in the request).",
                {"reference": ref}),)
        if self.problem == "unaligned":
            return (Finding(
                QUALITY, WARN, "quality.reference_mismatch",
                f"The clip does not start from its reference image {Path(ref).name}: its first frame could not "
                "be aligned on it (too few matching features).", {"ssim": None, "reference": ref}),)
        if self.problem == "featureless":
            return (Finding(
                QUALITY, INFO, "quality.reference_unusable",
                f"{Path(ref).name}: the reference image has too few features to align the clip on it; the "
                "clip was not compared with it.", {"reference": ref}),)
        return ()
