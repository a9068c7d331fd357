"""What camera move a prompt asks for: verbs, directions and timing, in order.

    >>> parse_camera("Start static for 0.5 s, then a slow pan left.")
    [Requested(motion='static', seconds=0.5, words='static for 0.5 s'), Requested(motion='pan_left', ...)]

Labels follow docs/contract.md (cinematographer's convention: how the camera moves). A truck (the camera
slides sideways) looks like a pan in a 2-D motion model and is compared as one; a dolly in/out
or push in/pull out as a zoom; a "crane/pedestal up" as a tilt. Words we do not understand are
ignored: no camera request means no comparison, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MOTIONS = ("static", "pan_left", "pan_right", "tilt_up", "tilt_down", "zoom_in", "zoom_out", "roll")


@dataclass(frozen=True)
class Requested:
    motion: str
    seconds: float | None  # None: no duration given (takes the time left)
    words: str             # the words of the prompt this came from

    def to_dict(self) -> dict:
        return {"motion": self.motion, "seconds": self.seconds, "words": self.words}


_NUM = r"(\d+(?:\.\d+)?)"
_DURATION = re.compile(rf"\bfor\s+(?:the\s+first\s+|about\s+|around\s+)?{_NUM}\s*(?:s|sec|secs|seconds?)\b", re.I)
_FIRST = re.compile(rf"\b(?:the\s+)?first\s+{_NUM}\s*(?:s|sec|secs|seconds?)\b", re.I)

_PATTERNS: list[tuple[str, str]] = [
    # (label, regex). Order matters only for overlapping phrases; matches are sorted by position.
    ("static", r"\b(?:static|locked[- ]off|still camera|fixed camera|camera (?:does not|doesn't|do not|never) move|"
               r"camera (?:stays|remains|holds) (?:still|static|fixed)|no camera (?:movement|motion)|holds? still|"
               r"stationary camera|tripod shot)\b"),
    ("pan_left", r"\b(?:pans?|panning|trucks?|trucking|tracks?|tracking)\s+(?:slowly\s+|gently\s+|quickly\s+)?(?:to\s+the\s+)?left\b"),
    ("pan_right", r"\b(?:pans?|panning|trucks?|trucking|tracks?|tracking)\s+(?:slowly\s+|gently\s+|quickly\s+)?(?:to\s+the\s+)?right\b"),
    ("pan_left", r"\b(?:left(?:ward)?\s+(?:pan|truck))\b"),
    ("pan_right", r"\b(?:right(?:ward)?\s+(?:pan|truck))\b"),
    ("tilt_up", r"\b(?:tilts?|tilting|pedestals?|cranes?|booms?)\s+(?:slowly\s+|gently\s+)?up(?:ward)?s?\b|\bupward\s+tilt\b"),
    ("tilt_down", r"\b(?:tilts?|tilting|pedestals?|cranes?|booms?)\s+(?:slowly\s+|gently\s+)?down(?:ward)?s?\b|\bdownward\s+tilt\b"),
    ("zoom_in", r"\b(?:zooms?|zooming|dolly|dollies|dollying|push(?:es|ing)?|moves?|moving)\s+(?:slowly\s+|gently\s+|quickly\s+)?in(?:to|wards?)?\b|"
                r"\b(?:slow\s+)?(?:zoom|dolly|push)[- ]in\b"),
    ("zoom_out", r"\b(?:zooms?|zooming|dolly|dollies|dollying|pull(?:s|ing)?|moves?|moving)\s+(?:slowly\s+|gently\s+|quickly\s+)?(?:out|back|away)\b|"
                 r"\b(?:slow\s+)?(?:zoom|dolly|pull)[- ](?:out|back)\b"),
    ("roll", r"\b(?:rolls?|rolling|dutch\s+(?:angle|roll)|barrel\s+roll|camera\s+rotates?|rotating\s+camera)\b"),
]
_COMPILED = [(label, re.compile(rx, re.I)) for label, rx in _PATTERNS]


def parse_camera(prompt: str | None) -> list[Requested]:
    """The camera moves ``prompt`` asks for, in the order it asks for them."""
    if not prompt:
        return []
    hits: list[tuple[int, int, str]] = []
    for label, rx in _COMPILED:
        for m in rx.finditer(prompt):
            if any(not (m.end() <= s or m.start() >= e) for s, e, _ in hits):
                continue  # overlapping phrase already matched
            hits.append((m.start(), m.end(), label))
    hits.sort()
    out: list[Requested] = []
    for k, (s, e, label) in enumerate(hits):
        # a duration belongs to the move it follows, up to the next move or the clause's end
        nxt = hits[k + 1][0] if k + 1 < len(hits) else len(prompt)
        tail = prompt[e:nxt]
        clause_end = re.search(r";|\.(?!\d)|,\s*then\b|\bthen\b|\band then\b", tail, re.I)
        scope = tail[: clause_end.start()] if clause_end else tail
        d = _DURATION.search(scope)
        head = prompt[max(hits[k - 1][1] if k else 0, s - 40):s]
        head = re.split(r";|\.(?!\d)|\bthen\b", head, flags=re.I)[-1]  # this clause only
        f = _FIRST.search(head)
        seconds = float(d.group(1)) if d else (float(f.group(1)) if f else None)
        words = prompt[s:e + (d.end() if d else 0)].strip()
        if out and out[-1].motion == label and out[-1].seconds is None and seconds is None:
            continue  # "pans left ... keeps panning left": one request
        out.append(Requested(label, seconds, words))
    return out


def expected_timeline(req: list[Requested], duration_s: float) -> list[tuple[float, float, str]]:
    """(start, end, motion) of each request over a clip of ``duration_s``: given durations in
    order, the rest shared by the requests without one (the last takes what remains)."""
    if not req or duration_s <= 0:
        return []
    fixed = sum(r.seconds for r in req if r.seconds is not None)
    free = [r for r in req if r.seconds is None]
    share = max(0.0, duration_s - fixed) / len(free) if free else 0.0
    out, t = [], 0.0
    for i, r in enumerate(req):
        d = r.seconds if r.seconds is not None else share
        end = duration_s if i == len(req) - 1 and r.seconds is None else min(duration_s, t + d)
        if end > t:
            out.append((round(t, 3), round(end, 3), r.motion))
        t = end
        if t >= duration_s:
            break
    return out
