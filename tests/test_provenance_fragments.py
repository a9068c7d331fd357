"""A fragmented MP4 given as an init segment plus fragment files, verified together.

Fixture: fixtures/c2pa/fragmented/ (init.m4s + frag1..3.m4s), made by
``fixtures/gen_provenance.py``: clean_pan re-encoded with a keyframe every 16 frames, written as a
fragmented MP4, signed whole with the TEST-ONLY chain, then cut at its moof boxes.
"""

from __future__ import annotations

import io
import json
import random
import shutil
from pathlib import Path

import c2pa
import pytest

from audit.provenance import WHOLE_FILE_HASH, ConcatStream, FragmentError, check_fragment, verify
from audit.provenance.reading import _context
from conftest import run_cli
from test_provenance import C2PA_DIR, ROOT_PEM, SIGNED, boxes, finding_codes, own_trust

FRAG_DIR = C2PA_DIR / "fragmented"
INIT = FRAG_DIR / "init.m4s"  # ffmpeg's DASH naming
FRAGS = [FRAG_DIR / f"frag{k}.m4s" for k in (1, 2, 3)]


def tampered(tmp_path: Path, k: int) -> list[Path]:
    """The fragment list with fragment ``k`` (1-based) copied and one byte of its mdat flipped."""
    out = list(FRAGS)
    data = bytearray(FRAGS[k - 1].read_bytes())
    _, off, size = next(b for b in boxes(bytes(data)) if b[0] == "mdat")
    data[off + size // 2] ^= 0x40
    out[k - 1] = tmp_path / f"frag{k}.m4s"
    out[k - 1].write_bytes(bytes(data))
    return out


def test_fixture_is_an_init_segment_and_three_fragments():
    assert [t for t, _, _ in boxes(INIT.read_bytes())][-1] == "moov"
    assert [check_fragment(f) for f in FRAGS] == [[1], [2], [3]]  # mfhd sequence numbers


def test_init_plus_fragments_verify_together_trusted_with_the_test_root():
    b = verify(INIT, own_trust(), fragments=FRAGS)
    assert b["status"] == "trusted" and b["c2pa_state"] == "Trusted" and b["codes"] == []
    assert b["fragment_mode"] == "whole_file"
    assert [f["sequence"] for f in b["fragments"]] == [[1], [2], [3]]
    assert b["title"] == "fragmented.mp4" and b["ai_disclosure"] is True
    assert b["hard_binding"] == {"label": "c2pa.hash.bmff.v3", "merkle": False}  # one hash over the file
    assert finding_codes(b) == {}


def test_without_trust_list_the_set_is_valid_and_untrusted():
    b = verify(INIT, None, fragments=FRAGS)
    assert b["status"] == "valid" and b["codes"] == ["signingCredential.untrusted"]
    assert finding_codes(b) == {"provenance.untrusted": "info"}


def test_the_library_says_the_manifest_hashes_the_whole_file_when_read_per_fragment():
    """What decides whole_file mode is c2pa's own explanation: reading init + one fragment through
    its fragment reader fails because the manifest holds a whole-file hash, not a Merkle map."""
    with INIT.open("rb") as first, INIT.open("rb") as main, FRAGS[0].open("rb") as frag:
        with c2pa.Reader("video/mp4", first, context=_context(own_trust())) as r:
            r.with_fragment("video/mp4", main, frag)
            fails = r.get_validation_results()["activeManifest"]["failure"]
    assert [f["code"] for f in fails] == ["assertion.bmffHash.mismatch"]
    assert WHOLE_FILE_HASH in fails[0]["explanation"]


@pytest.mark.parametrize("k", [1, 3])
def test_a_tampered_fragment_makes_the_set_invalid(tmp_path, k):
    b = verify(INIT, own_trust(), fragments=tampered(tmp_path, k))
    assert b["status"] == "invalid" and b["c2pa_state"] == "Invalid"
    assert b["codes"] == ["assertion.bmffHash.mismatch"]
    assert finding_codes(b) == {"provenance.invalid": "fail"}


def test_a_left_out_fragment_is_invalid_and_the_gap_is_named():
    b = verify(INIT, own_trust(), fragments=[FRAGS[0], FRAGS[2]])
    assert b["status"] == "invalid" and "assertion.bmffHash.mismatch" in b["codes"]
    gap = f"{FRAGS[2]}: sequence number 3 follows 1: a fragment may be missing"
    assert b["fragment_gaps"] == [gap] and gap in b["note"]
    assert finding_codes(b) == {"provenance.invalid": "fail"}  # the hash over all says more than the gap
    # A set signed per fragment verifies each fragment by itself: there the gap is all that shows.
    per = dict(verify(INIT, own_trust(), fragments=FRAGS), fragment_mode="per_fragment", fragment_gaps=[gap])
    assert finding_codes(per) == {"provenance.fragment_gap": "warn"}


def test_fragments_out_of_order_are_an_error_naming_the_file():
    b = verify(INIT, own_trust(), fragments=[FRAGS[1], FRAGS[0], FRAGS[2]])
    assert b["status"] == "error"
    assert b["note"].startswith(f"{FRAGS[0]}: fragment sequence number 1 does not follow 2")
    assert finding_codes(b) == {"provenance.error": "fail"}


def test_missing_empty_and_odd_fragments_are_errors_naming_the_file(tmp_path):
    missing = tmp_path / "frag9.m4s"
    empty = tmp_path / "empty.m4s"
    empty.write_bytes(b"")
    noise = tmp_path / "noise.m4s"
    noise.write_bytes(random.Random(3).randbytes(3000))
    for bad, words in [(missing, "no such fragment file"), (empty, "the fragment file is empty"),
                       (noise, "not an ISO BMFF file"), (SIGNED, "a whole MP4 or an init segment")]:
        b = verify(INIT, own_trust(), fragments=[FRAGS[0], bad, FRAGS[2]])
        assert b["status"] == "error", bad
        assert b["note"].startswith(f"{bad}: ") and words in b["note"], b["note"]
    data = bytearray(FRAGS[0].read_bytes())
    _, moof, _ = next(b for b in boxes(bytes(data)) if b[0] == "moof")
    broken = tmp_path / "broken.m4s"
    broken.write_bytes(bytes(data[:moof + 8]) + b"\x00\x00\x00\x02" + bytes(data[moof + 12:]))  # mfhd size 2
    b = verify(INIT, own_trust(), fragments=[broken])
    assert b["status"] == "error" and b["note"].startswith(f"{broken}: a box inside the moof"), b["note"]
    data[moof + 12:moof + 16] = b"free"  # the mfhd renamed: no fragment header
    broken.write_bytes(bytes(data))
    assert "has no mfhd" in verify(INIT, own_trust(), fragments=[broken])["note"]
    with pytest.raises(FragmentError, match="no moof"):
        free = tmp_path / "free.m4s"
        free.write_bytes(b"\x00\x00\x00\x10free" + b"\x00" * 8)
        check_fragment(free)


def test_a_whole_clip_as_init_segment_is_an_error_naming_it():
    b = verify(SIGNED, own_trust(), fragments=FRAGS)
    assert b["status"] == "error" and b["note"].startswith(f"{SIGNED}: not the init segment")
    b = verify(FRAG_DIR / "nope.mp4", own_trust(), fragments=FRAGS)
    assert b["status"] == "error" and "no such init segment file" in b["note"]


def test_the_init_segment_alone_is_reported_as_such():
    b = verify(INIT, own_trust())
    assert b["status"] == "error" and b["init_segment_only"] is True
    assert finding_codes(b) == {"provenance.init_segment_only": "warn"}


def test_concat_stream_reads_like_the_joined_bytes():
    parts = [INIT, *FRAGS]
    joined = b"".join(p.read_bytes() for p in parts)
    rng = random.Random(7)
    with ConcatStream(parts) as s:
        assert s.seek(0, io.SEEK_END) == len(joined)
        for _ in range(200):
            pos, n = rng.randrange(len(joined) + 10), rng.randrange(1, 9000)
            s.seek(pos)
            assert s.read(n) == joined[pos:pos + n]
            assert s.tell() == min(pos + n, len(joined)) if pos < len(joined) else s.tell() == pos


def test_cli_verifies_init_with_fragments(tmp_path):
    out = tmp_path / "p.json"
    args = ["provenance", str(INIT), *[a for f in FRAGS for a in ("--fragment", str(f))],
            "--trust-anchors", str(ROOT_PEM)]
    r = run_cli(*args, "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    item = json.loads(out.read_text())["items"][0]
    assert item["provenance"]["status"] == "trusted" and item["provenance"]["fragment_mode"] == "whole_file"
    assert "fragments    3 (whole_file)" in r.stdout
    r = run_cli("provenance", str(INIT), "--trust-anchors", str(ROOT_PEM), "--fragment", *map(str, FRAGS))
    assert r.returncode == 0 and "fragments    3 (whole_file)" in r.stdout, r.stdout + r.stderr  # one flag, many

    bad = tampered(tmp_path, 2)
    r = run_cli("provenance", str(INIT), *[a for f in bad for a in ("--fragment", str(f))],
                "--trust-anchors", str(ROOT_PEM))
    assert r.returncode == 1 and "assertion.bmffHash.mismatch" in r.stdout, r.stdout + r.stderr

    gone = tmp_path / "gone.m4s"
    r = run_cli("provenance", str(INIT), "--fragment", str(FRAGS[0]), "--fragment", str(gone), "-q",
                "--json", str(out))
    assert r.returncode == 3, r.stdout + r.stderr
    assert json.loads(out.read_text())["items"][0]["provenance"]["note"] == f"{gone}: no such fragment file"


def test_cli_refuses_fragments_with_several_paths(tmp_path):
    init2 = tmp_path / "init2.mp4"
    shutil.copy(INIT, init2)
    r = run_cli("provenance", str(INIT), str(init2), "--fragment", str(FRAGS[0]))
    assert r.returncode == 2 and "--fragment needs exactly one PATH" in r.stderr, r.stdout + r.stderr


def test_an_unsigned_fragmented_set_is_absent(tmp_path):
    data = INIT.read_bytes()
    init = tmp_path / "init.m4s"
    init.write_bytes(b"".join(data[o:o + n] for t, o, n in boxes(data) if t != "uuid"))  # manifest removed
    b = verify(init, own_trust(), fragments=FRAGS)
    assert b["status"] == "absent" and "no C2PA manifest" in b["note"]
    assert [f["sequence"] for f in b["fragments"]] == [[1], [2], [3]]
    assert finding_codes(b) == {}


def test_a_segment_file_may_hold_several_fragments(tmp_path):
    seg = tmp_path / "seg1-2.m4s"  # DASH segments often carry more than one moof + mdat
    seg.write_bytes(FRAGS[0].read_bytes() + FRAGS[1].read_bytes())
    assert check_fragment(seg) == [1, 2]
    b = verify(INIT, own_trust(), fragments=[seg, FRAGS[2]])
    assert b["status"] == "trusted" and [f["sequence"] for f in b["fragments"]] == [[1, 2], [3]]
    assert b["fragment_gaps"] == []
