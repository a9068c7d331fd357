"""What the emulator renders: a real MP4 per job (``audit.synth``), its previews, and the
test-only C2PA signature when ``audit.provenance.signing`` (issue 9) is there."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path


def camera_from_prompt(prompt: str) -> str:
    """The camera move named by the prompt's verbs (docs/contract.md conventions), else ``static``."""
    p = prompt.lower()
    table = [
        (r"\b(pan|pans|panning)\s+(to the\s+)?left", "pan_left"),
        (r"\b(pan|pans|panning)\s+(to the\s+)?right", "pan_right"),
        (r"\b(tilt|tilts|tilting)\s+up", "tilt_up"),
        (r"\b(tilt|tilts|tilting)\s+down", "tilt_down"),
        (r"\b(zoom|zooms|zooming|dolly|dollies|push|pushes|pushing)\s+(in|into|forward)", "zoom_in"),
        (r"\b(zoom|zooms|zooming|dolly|dollies|pull|pulls|pulling)\s+(out|back|away)", "zoom_out"),
        (r"\b(roll|rolls|rolling|rotate|rotates|rotating)\b", "roll"),
    ]
    for pat, kind in table:
        if re.search(pat, p):
            return kind
    return "static"


_RATES = {"pan_left": 0.1, "pan_right": 0.1, "tilt_up": 0.1, "tilt_down": 0.1, "zoom_in": 0.12, "zoom_out": 0.12,
          "roll": 6.0}


def render_job(req: dict, out: Path, fps: float, reference: bytes | None, sign=None) -> Path:
    """Render the MP4 a job asked for into ``out``; write its request beside it (sidecar).
    ``sign(raw, out, reference_path)``: signs ``raw`` into ``out`` (C2PA), or None."""
    import cv2
    import numpy as np

    from ..synth import CameraSegment, ClipSpec, MarkSpec, render

    w, h = (int(v) for v in req["size"].lower().split("x"))
    seconds = float(req["seconds"])
    kind = camera_from_prompt(req["prompt"])
    cam = () if kind == "static" else (CameraSegment(kind, 0.0, seconds, _RATES[kind]),)
    ref = ref_path = None
    if reference:
        ref = cv2.imdecode(np.frombuffer(reference, np.uint8), cv2.IMREAD_COLOR)
        ref_path = out.with_name(out.stem + ".reference" + _image_ext(reference))
        ref_path.write_bytes(reference)
    seed = int.from_bytes(bytes.fromhex(req["id"][-8:]), "big") % 1000
    spec = ClipSpec(width=w, height=h, fps=fps, seconds=seconds, camera=cam, mark=MarkSpec(), seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    raw = out.with_suffix(".raw.mp4")
    render(spec, raw, reference=ref)
    signed = False
    if sign is not None:
        try:
            sign(raw, out, ref_path)
            signed = True
        except Exception:  # signing is optional here: an unsigned clip is still a clip
            signed = False
    if signed:
        raw.unlink(missing_ok=True)
    else:
        raw.replace(out)
    side = {k: req[k] for k in ("prompt", "model", "seconds", "size")}
    side.update(video_id=req["id"], expected_camera=kind, provider="emulator", signed=signed)
    out.with_name(out.name + ".json").write_text(json.dumps(side, indent=1), encoding="utf-8")
    return out


def _image_ext(data: bytes) -> str:
    if data[:2] == b"\xff\xd8":
        return ".jpg"
    if data[:4] == b"\x89PNG":
        return ".png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return ".img"


def signer_for(workdir: Path):
    """``sign(raw, out, reference)`` with the TEST-ONLY C2PA chain of ``audit.provenance.signing`` (issue 9),
    made once in ``workdir``; None when that module is not there."""
    try:
        from ..provenance import signing
    except ImportError:
        return None
    lock = threading.Lock()
    chain: list = []

    def sign(raw: Path, out: Path, reference: Path | None) -> None:
        with lock:
            if not chain:
                chain.append(signing.make_test_chain(workdir / "certs"))
        signing.sign_file(raw, out, chain[0], title=out.name, ingredient=reference)

    return sign


def preview(path: Path, variant: str) -> tuple[bytes, str]:
    import av
    import cv2
    import numpy as np

    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]
    if variant == "thumbnail":
        ok, buf = cv2.imencode(".webp", frames[0])
        return buf.tobytes(), "image/webp"
    idx = np.linspace(0, len(frames) - 1, 4).astype(int)
    tiles = [cv2.resize(frames[i], (frames[i].shape[1] // 2, frames[i].shape[0] // 2)) for i in idx]
    sheet = np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:])])
    ok, buf = cv2.imencode(".jpg", sheet)
    return buf.tobytes(), "image/jpeg"
