"""Clips named by URL (``s3://bucket/clip.mp4``, ``gs://...``, ``file:///...``), read with fsspec.

A URL travels to the worker as a string: the driver never reads the clip (nor ships its bytes
through a scheduler). The worker copies the object, and its ``<clip>.json`` sidecar when there is
one, into a private temporary folder and audits that copy with the very same ``audit_clip``;
the result then names the URL, never the temporary copy. A local copy (rather than handing PyAV
a file-like object) is what lets every check read the file as it is used to: the decoder, the
C2PA reader and the sha256 all take a path, and a copy on disk keeps memory flat however long
the clip is. A ``file://`` URL (or a bare local path) is audited in place.

fsspec is optional (it comes with the ``dask`` extra). Each URL scheme needs its own backend
(``s3fs`` for ``s3://``, ``gcsfs`` for ``gs://``...); a missing one is a clear ``error`` verdict
for the clips that need it, and the batch goes on.
"""

from __future__ import annotations

import json
import posixpath
import re
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from .errors import InputError, MissingFileError

_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://")


class UrlBackendMissingError(InputError):
    code = "runtime.url_backend_missing"
    hint = "Install the fsspec backend the message names (e.g. pip install s3fs), on every worker"


class UrlUnreadableError(InputError):
    code = "runtime.url_unreadable"
    hint = "Check the URL, the credentials the workers use for it, and the network"


def is_url(path: str | Path) -> bool:
    """True for ``scheme://...`` strings (a ``Path`` is never a URL)."""
    return isinstance(path, str) and _URL.match(path) is not None


def scheme(url: str) -> str:
    m = _URL.match(url)
    return m.group("scheme").lower() if m else ""


def filesystem(url: str):
    """``(fs, path_in_fs)`` for ``url``. Raises ``UrlBackendMissingError`` naming what to install."""
    try:
        import fsspec
    except ImportError:
        raise UrlBackendMissingError(url, "reading URLs needs fsspec, which is not installed",
                                     "pip install 'sora-audit[dask]' (or pip install fsspec)") from None
    if scheme(url) == "file":  # RFC 8089: the path is percent-encoded (Path.as_uri() writes %20)
        from urllib.parse import urlsplit
        from urllib.request import url2pathname

        parts = urlsplit(url)
        url = "file://" + url2pathname(parts.path)
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as e:  # fsspec's own message names the package: "Install s3fs to access S3"
        raise UrlBackendMissingError(url, f"no fsspec backend for {scheme(url)}:// ({e})") from None
    except ValueError as e:  # "Protocol not known: foo"
        raise UrlBackendMissingError(url, f"fsspec does not know the scheme {scheme(url)}:// ({e})",
                                     "Use a scheme fsspec supports (s3, gs, az, http, file...)") from None


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be read here (a missing backend), or None. Does not touch the network."""
    try:
        filesystem(url)
    except UrlBackendMissingError as e:
        return f"{e}. {e.hint}."
    return None


def expand_url(url: str, extensions: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """A folder URL (ending in ``/``) or a glob (``s3://bucket/batch/*.mp4``) as the clip URLs it
    lists (folders recursively, clips by extension), sorted; any other URL as itself.
    Returns (urls, notes). Lists names only: no clip is read here."""
    if not (url.endswith("/") or any(c in url for c in "*?[")):
        return [url], []
    try:
        fs, path = filesystem(url)
    except UrlBackendMissingError:
        return [url], []  # each clip's verdict says what to install
    try:
        found = fs.glob(path) if any(c in url for c in "*?[") else fs.find(path)
    except OSError as e:
        return [], [f"{url}: cannot list it ({type(e).__name__}: {e})"]
    urls = sorted(fs.unstrip_protocol(p) for p in found if posixpath.splitext(p)[1].lower() in extensions)
    return urls, ([] if urls else [f"{url}: holds no clips ({', '.join(extensions)})"])


def _local_path(fs, path: str) -> str | None:
    """The path to audit in place when ``fs`` is this machine's file system."""
    from fsspec.implementations.local import LocalFileSystem

    return path if isinstance(fs, LocalFileSystem) else None


def _copy(fs, src: str, dst: Path, url: str) -> None:
    try:
        with fs.open(src, "rb") as r, dst.open("wb") as w:
            shutil.copyfileobj(r, w, 1 << 20)
    except FileNotFoundError:
        raise MissingFileError(url, "no such object") from None
    except OSError as e:
        raise UrlUnreadableError(url, f"cannot read it ({type(e).__name__}: {e})") from None


def _stage(url: str, folder: Path) -> tuple[str, dict[str, str]]:
    """Copy the clip (and its sidecar and reference image, if any) into ``folder``.

    Returns the local clip path and ``{local path: URL}`` for every copy, so the result can
    name the URLs again."""
    fs, src = filesystem(url)
    local = _local_path(fs, src)
    if local is not None:
        return local, {local: url}
    name = posixpath.basename(src.rstrip("/")) or "clip.mp4"
    dst = folder / name
    _copy(fs, src, dst, url)
    names = {str(dst): url}
    try:
        has_sidecar = fs.isfile(src + ".json")
    except OSError:
        has_sidecar = False
    if has_sidecar:
        sidecar = folder / (name + ".json")
        _copy(fs, src + ".json", sidecar, url + ".json")
        names.update(_stage_reference(fs, url, src, sidecar, folder))
    return str(dst), names


def _stage_reference(fs, url: str, src: str, sidecar: Path, folder: Path) -> dict[str, str]:
    """A sidecar's relative ``reference`` image lives beside the remote clip: copy it too and point
    the local sidecar at the copy. A bad sidecar is left for the pipeline to report."""
    try:
        d = json.loads(sidecar.read_text(encoding="utf-8"))
        ref = d.get("reference") if isinstance(d, dict) else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    if not isinstance(ref, str) or not ref or is_url(ref) or posixpath.isabs(ref):
        return {}
    ref_src = posixpath.normpath(posixpath.join(posixpath.dirname(src), ref))
    ref_url = url[: len(url) - len(src)] + ref_src if url.endswith(src) else f"{scheme(url)}://{ref_src.lstrip('/')}"
    local_ref = folder / "reference" / posixpath.basename(ref_src)
    local_ref.parent.mkdir()
    try:
        _copy(fs, ref_src, local_ref, ref_url)
    except InputError:
        pass  # the reference check reports a missing reference image, under its URL
    d["reference"] = str(local_ref)
    sidecar.write_text(json.dumps(d), encoding="utf-8")
    return {str(local_ref): ref_url}


def _relabel(obj: Any, names: dict[str, str]) -> Any:
    """``obj`` with every mention of a temporary copy replaced by its URL."""
    if isinstance(obj, str):
        for local, url in names.items():
            obj = obj.replace(local, url)
        return obj
    if isinstance(obj, dict):
        return {k: _relabel(v, names) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_relabel(v, names) for v in obj]
    return obj


def audit_url(task, audit: Callable[[Any], dict]) -> dict:
    """Audit the clip at ``task.path`` (a URL) with ``audit`` on a local copy; the result names the URL."""
    url = task.path
    with tempfile.TemporaryDirectory(prefix="sora-audit-") as tmp:
        try:
            local, names = _stage(url, Path(tmp))
        except InputError as e:
            return input_error_clip(task, e)
        res = audit(replace(task, path=local))
    # Longest first: the clip's path is a prefix of its sidecar's.
    return _relabel(res, dict(sorted(names.items(), key=lambda kv: -len(kv[0]))))


def input_error_clip(task, e: InputError) -> dict:
    """The contract dict of a clip that could not even be opened (verdict through the policy)."""
    from . import contract
    from .findings import FAIL, RUNTIME, Finding

    policy = task.options.policy
    findings = policy.apply_overrides([Finding(RUNTIME, FAIL, e.code, f"{e}. {e.hint}.", {"path": e.path})])
    return contract.clip_dict(
        path=task.path, verdict=policy.verdict(findings), source=task.source, media=None,
        blocks={"provenance": None, "watermark": None}, metrics={}, findings=findings,
    )
