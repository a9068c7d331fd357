import av
import numpy as np
import pytest

from audit.errors import EmptyFileError, MissingFileError, NotAVideoError, UndecodableError
from audit.media import analysis_size, find_clips, open_clip


def test_probe_and_decode_of_a_rendered_clip(render_clip):
    p = render_clip(width=320, height=180, fps=24, seconds=1.5)
    with open_clip(p) as r:
        info = r.info
        assert (info.width, info.height, info.codec, info.has_audio) == (320, 180, "h264", True)
        assert info.audio_codec == "aac" and info.audio_sample_rate == 48000
        assert info.fps == pytest.approx(24.0)
        assert info.duration_s == pytest.approx(1.5, abs=0.05)
        frames = list(r.frames(max_side=160))
        final = r.final_info()
    assert len(frames) == 36 == final.frames
    assert frames[0].bgr.shape == (90, 160, 3)
    assert frames[0].scale == pytest.approx(2.0)
    # timestamps come from the stream, one frame period apart
    assert [round(fr.t, 4) for fr in frames[:3]] == [0.0, round(1 / 24, 4), round(2 / 24, 4)]
    assert final.variable_frame_rate is False


def test_source_gray_is_the_decoded_luma_at_its_own_size(render_clip):
    """The watermark reads small marks on the decoded frame's pixels: the same levels as the
    analysis frame's grey, at the decoded size, cut and resized as asked."""
    import cv2

    p = render_clip(width=320, height=180, seconds=0.5)
    with open_clip(p) as r:
        full = next(iter(r.frames(max_side=320)))
        assert full.source_size() == (320, 180)
        assert np.array_equal(full.source_gray(), full.gray)   # no downscale: the same pixels
        part = full.source_gray((40, 20, 200, 120), (80, 50))
        assert part.shape == (50, 80)
        want = cv2.resize(full.gray[20:120, 40:200], (80, 50), interpolation=cv2.INTER_AREA)
        assert np.abs(part.astype(int) - want.astype(int)).max() <= 1
    with open_clip(p) as r:
        small = next(iter(r.frames(max_side=160)))
        assert small.gray.shape == (90, 160) and small.source_gray().shape == (180, 320)
    p = render_clip(name="rot.mp4", width=320, height=180, seconds=0.5, rotation=90)
    with open_clip(p) as r:
        assert next(iter(r.frames(max_side=320))).source_gray() is None   # rotated: analysis frames only


def test_rotation_gives_displayed_size_and_orientation(render_clip):
    p = render_clip(width=320, height=180, seconds=0.5, rotation=90)
    with open_clip(p) as r:
        frames = list(r.frames(max_side=320))
        info = r.final_info()
    assert info.rotation == 90
    assert (info.width, info.height) == (180, 320)
    assert frames[0].bgr.shape[:2] == (320, 180)


def test_variable_frame_rate_is_detected(render_clip):
    p = render_clip(seconds=1.0, vfr=True)
    with open_clip(p) as r:
        for _ in r.frames(max_side=160):
            pass
        assert r.final_info().variable_frame_rate is True


def test_analysis_size_keeps_aspect_and_never_upscales():
    assert analysis_size(1280, 720, 640) == (640, 360)
    assert analysis_size(720, 1280, 640) == (360, 640)
    assert analysis_size(320, 180, 640) == (320, 180)


def test_bad_inputs_raise_errors_naming_the_file(tmp_path):
    missing = tmp_path / "missing.mp4"
    with pytest.raises(MissingFileError, match="missing.mp4: no such file"):
        open_clip(missing)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(EmptyFileError, match="empty.mp4: file is empty"):
        open_clip(empty)
    text = tmp_path / "notes.mp4"
    text.write_text("these are my notes\n")
    with pytest.raises(NotAVideoError, match="notes.mp4: is a text file"):
        open_clip(text)
    rnd = tmp_path / "random.mp4"
    rnd.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(NotAVideoError, match="random.mp4: not a recognised media container"):
        open_clip(rnd)


def test_truncated_mp4_and_audio_only(tmp_path, render_clip):
    good = render_clip(seconds=1.0)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(UndecodableError, match="cut.mp4: MP4/MOV container is truncated or corrupt"):
        open_clip(cut)
    audio = tmp_path / "voice.m4a"
    with av.open(str(audio), "w", format="mp4") as c:
        s = c.add_stream("aac", rate=48000)
        s.layout = "mono"
        for i in range(20):
            fr = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            fr.sample_rate, fr.pts = 48000, i * 1024
            for pkt in s.encode(fr):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    with pytest.raises(NotAVideoError, match="voice.m4a: is an audio-only file"):
        open_clip(audio)


def test_find_clips_recurses_and_notes_empty_folders(tmp_path, render_clip):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "empty").mkdir()
    clip = render_clip("a/b/x.MP4", seconds=0.3)
    (tmp_path / "a" / "readme.txt").write_text("x")
    explicit = tmp_path / "a" / "readme.txt"
    clips, notes = find_clips([tmp_path / "a", tmp_path / "empty", explicit, clip])
    assert clips == [clip, explicit]  # the folder's clip once; an explicit file is kept
    assert notes == [f"{tmp_path / 'empty'}: folder holds no clips (.mp4, .mov, .m4v)"]


def _decode_threads():
    import threading

    return [t for t in threading.enumerate() if t.name == "sora-audit-decode"]


def test_prefetching_thread_gives_the_same_frames_and_stops_with_the_caller(render_clip):
    """Decoding runs on its own thread, ahead of the caller: same frames as decoding inline;
    a caller that stops early (or leaves the ``with``) stops and joins that thread."""
    p = render_clip(width=320, height=180, fps=24, seconds=1.5)
    with open_clip(p) as r:
        inline = [(f.index, f.t, f.bgr.copy(), f.gray.copy()) for f in r.frames(max_side=160, prefetch=0)]
    with open_clip(p) as r:
        ahead = [(f.index, f.t, f.bgr.copy(), f.gray.copy()) for f in r.frames(max_side=160, prefetch=3)]
        assert r.decoded_frames == 36
    assert len(inline) == len(ahead) == 36
    for a, b in zip(inline, ahead):
        assert a[:2] == b[:2] and np.array_equal(a[2], b[2]) and np.array_equal(a[3], b[3])
    with open_clip(p) as r:
        it = r.frames(max_side=160, prefetch=2)
        first = [next(it) for _ in range(3)]
        assert [f.index for f in first] == [0, 1, 2] and _decode_threads()
        it.close()
        assert not _decode_threads()
    with open_clip(p) as r:  # leaving the block without closing the generator
        it = r.frames(max_side=160, prefetch=2)
        next(it)
    assert not _decode_threads()


def test_an_error_on_the_decoding_thread_is_raised_in_the_caller(render_clip, monkeypatch):
    import audit.media as media

    calls = []

    def broken(vf, aw, ah):
        calls.append(1)
        if len(calls) == 5:
            raise MemoryError("no room for frame 5")
        return real(vf, aw, ah)

    real = media._to_i420
    monkeypatch.setattr(media, "_to_i420", broken)
    p = render_clip(seconds=1.0)
    with open_clip(p) as r:
        got = []
        with pytest.raises(MemoryError, match="frame 5"):
            for f in r.frames(max_side=160):
                got.append(f.index)
    assert got == [0, 1, 2, 3] and not _decode_threads()
