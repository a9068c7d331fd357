"""Shot boundaries from per-frame records (``audit.quality.shots`` keeps the records).

- ``adaptive_cuts``: PySceneDetect's ``AdaptiveDetector`` on the content change of each frame
  (mean |dH|, |dS|, |dV| from the previous frame): a cut is a change of at least
  ``min_content`` that is ``adaptive_ratio`` times the mean change of the ``window`` frames
  either side, so a fast camera move (many large changes in a row) does not fire.
- ``blends``: fades and dissolves. During a dissolve each frame is a linear blend of the
  pictures on either side, so the clip's path through picture space (16 x 9 colour thumbnails)
  is a straight line between two pictures; camera and subject motion bend it. Windows whose
  chord is ``blend_straight`` of their path, whose ends differ by ``blend_min_dist`` levels and
  are different pictures (or one is black: a fade), with no step carrying half the change (a
  cut), and whose frames lie within ``blend_residual`` of the blend of their ends, are
  transitions.
"""

from __future__ import annotations

import numpy as np


def adaptive_cuts(content: np.ndarray, ts: np.ndarray, pol, skip: np.ndarray | None = None) -> list[int]:
    """Frame positions where a new shot begins (AdaptiveDetector on ``content``; NaN ignored;
    positions where ``skip`` is true are never cuts)."""
    w = int(pol["window"])
    ratio, floor, min_s = float(pol["adaptive_ratio"]), float(pol["min_content"]), float(pol["min_shot_s"])
    ok = np.flatnonzero(np.isfinite(content))
    c = content[ok]
    cuts: list[int] = []
    last_t = ts[0] if len(ts) else 0.0
    for j in range(len(c)):
        if c[j] < floor:
            continue
        nb = np.concatenate([c[max(0, j - w):j], c[j + 1:j + 1 + w]])
        mean = float(nb.mean()) if len(nb) else 0.0
        r = 255.0 if mean < 1e-5 else c[j] / mean
        i = int(ok[j])
        if skip is not None and skip[i]:
            continue
        if r >= ratio and ts[i] - last_t >= min_s - 1e-6:
            cuts.append(i)
            last_t = ts[i]
    return cuts


def blends(thumbs: np.ndarray, luma: np.ndarray, spread: np.ndarray, ts: np.ndarray, pol,
           moves: np.ndarray | None = None, shape: tuple[int, int] | None = None) -> list[tuple[int, int, str]]:
    """Fades and dissolves: ``(first, last, kind)`` frame positions of each transition (the
    frames strictly between ``first`` and ``last`` are blends of those two)."""
    n = len(thumbs)
    if n < 4:
        return []
    X = thumbs.astype(np.float32)
    step = np.r_[0.0, np.linalg.norm(np.diff(X, axis=0), axis=1)]
    path = np.cumsum(step)
    dt = float(np.median(np.diff(ts))) if n > 1 else 1 / 30
    lengths = sorted({max(3, int(round(s / dt))) for s in np.geomspace(float(pol["blend_min_s"]),
                                                                         float(pol["blend_max_s"]), 8)})
    dark = (luma < float(pol["black_level"])) & (spread < 8.0)
    Z = X - X.mean(axis=1, keepdims=True)
    Z /= np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-6)
    hits = np.zeros(n, bool)
    spans: list[tuple[int, int]] = []
    for L in lengths:
        if L >= n:
            break
        s = np.arange(n - L)
        e = s + L
        chord = np.linalg.norm(X[e] - X[s], axis=1)
        length = path[e] - path[s]
        dist = np.abs(X[e] - X[s]).mean(axis=1)
        biggest = np.lib.stride_tricks.sliding_window_view(step[1:], L).max(axis=1)[: n - L]
        same = (Z[s] * Z[e]).sum(axis=1)
        ends_dark = dark[s] | dark[e]
        ok = ((chord >= float(pol["blend_straight"]) * np.maximum(length, 1e-6))
              & (dist >= float(pol["blend_min_dist"]))
              & (biggest <= 0.5 * chord)
              & (ends_dark | (same < float(pol["blend_same_picture"]))))
        for i in np.flatnonzero(ok):
            spans.append((int(i), int(i + L)))
            hits[i:i + L + 1] = True
    out: list[tuple[int, int, str]] = []
    for a, b in _merge(spans, X, float(pol["blend_residual"])):
        if dark[a] or dark[b]:
            # a fade: from the last black frame to where the picture stops brightening (or back)
            a, b = _tighten(X, a, b, 0.3)
            out.append((a, b, "fade"))
            continue
        a, b = _tighten(X, a, b, 0.5)
        if moves is not None and shape is not None \
                and _camera_explains(X, a, b, moves, shape, float(pol["camera_explains"])):
            continue   # the camera moved: a short pan looks like a blend at thumbnail size
        # a dissolve takes time and moves evenly; a fast camera swing (motion blur makes its
        # frames look blended) is over in a few frames, in uneven steps
        if b - a >= 2 and ts[b] - ts[a] >= float(pol["dissolve_min_s"]) - 1e-6 \
                and _max_step(X, a, b) <= float(pol["dissolve_max_step"]):
            out.append((a, b, "dissolve"))
    return out


def _residual(X: np.ndarray, a: int, b: int) -> float:
    """How far the frames between ``a`` and ``b`` are from the blend of those two pictures:
    the largest distance to the line through them, as a share of their distance."""
    D = X[b] - X[a]
    dd = float(D @ D)
    if dd <= 0 or b - a < 2:
        return 0.0
    M = X[a + 1:b] - X[a]
    alpha = (M @ D) / dd
    return float(np.sqrt(((M - alpha[:, None] * D) ** 2).sum(axis=1).max() / dd))


def _camera_explains(X: np.ndarray, a: int, b: int, moves: np.ndarray, shape: tuple[int, int],
                     limit: float) -> bool:
    """Whether picture ``a`` moved by the camera's motion over ``(a, b]`` (``moves``: per frame
    dx, dy as shares of the frame, zoom) lands within ``limit`` of its distance to picture ``b``."""
    import cv2

    h, w = shape
    dx, dy = moves[a + 1:b + 1, 0].sum() * w, moves[a + 1:b + 1, 1].sum() * h
    zoom = float(np.prod(moves[a + 1:b + 1, 2]))
    if abs(dx) < 0.25 and abs(dy) < 0.25 and abs(zoom - 1.0) < 0.02:
        return False   # the camera held still: nothing to explain with
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    M = np.array([[zoom, 0.0, cx - zoom * cx + dx], [0.0, zoom, cy - zoom * cy + dy]])
    A = X[a].reshape(h, w, 3).astype(np.float32)
    moved = cv2.warpAffine(A, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).reshape(-1)
    return float(np.linalg.norm(X[b] - moved)) < limit * float(np.linalg.norm(X[b] - X[a]))


def _max_step(X: np.ndarray, a: int, b: int) -> float:
    """Largest share of the way from picture ``a`` to picture ``b`` covered in one frame."""
    D = X[b] - X[a]
    dd = float(D @ D)
    alpha = ((X[a:b + 1] - X[a]) @ D) / max(dd, 1e-6)
    return float(np.diff(alpha).max())


def _merge(spans: list[tuple[int, int]], X: np.ndarray, limit: float) -> list[tuple[int, int]]:
    """Overlapping windows joined while the union is still one blend (a fade out and the fade
    in after it share their black frames but are two blends); windows whose frames are not
    blends of their ends (a smooth camera move can make a straight-ish path) are dropped."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if _residual(X, a, b) > limit:
            continue
        if out and a < out[-1][1] and _residual(X, out[-1][0], max(b, out[-1][1])) <= limit:
            out[-1] = (out[-1][0], max(b, out[-1][1]))
        elif not out or a >= out[-1][1] or b > out[-1][1]:
            out.append((a, b))
    return _union(out)


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans that still overlap (kept apart above because they are different blends) are cut
    where the next begins."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and a < out[-1][1]:
            if b - a >= out[-1][1] - out[-1][0]:
                out[-1] = (out[-1][0], a)
            else:
                continue
        out.append((a, b))
    return [(a, b) for a, b in out if b - a >= 2]


def _tighten(X: np.ndarray, a: int, b: int, min_cos: float) -> tuple[int, int]:
    """The part of ``[a, b]`` where the picture moves along the blend: the run of steps
    mostly parallel to the change between the two ends (camera motion before or after a
    dissolve moves elsewhere), holding the largest share of the progress."""
    D = X[b] - X[a]
    norm = float(np.linalg.norm(D))
    if norm <= 0:
        return a, b
    steps = np.diff(X[a:b + 1], axis=0)
    along = steps @ (D / norm)
    cos = along / np.maximum(np.linalg.norm(steps, axis=1), 1e-6)
    good = cos >= min_cos
    best, best_gain, i = (a, b), -1.0, 0
    while i < len(good):
        if not good[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(good) and good[j + 1]:
            j += 1
        gain = float(along[i:j + 1].sum())
        if gain > best_gain:
            best, best_gain = (a + i, a + j + 1), gain
        i = j + 1
    return best
