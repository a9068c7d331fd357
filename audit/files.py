"""Input files are opened only when they are regular files, and images only when their header
says they are of a sane size.

Opening a FIFO blocks until a writer comes (``cv2.imread`` on a FIFO hangs a batch forever), a
device can be endless (``/dev/zero``), a directory or a symlink loop raises where nobody expects
it. So every file the tool reads on a user's word (clips, sidecars, reference images, watermark
templates, policies) goes through ``regular_file`` first, which says what the path is instead.
``check_image`` reads an image's width and height from its header (Pillow parses the header
only) and refuses an image over the pixel cap before anything decodes it: a 0.85 MB PNG may
declare 30000 x 30000 pixels, 900 MB once decoded (a decompression bomb).

A path can still change between the check and the open; the per-clip time limit
(``audit.executors``) is what bounds that.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import warnings
from pathlib import Path

from .errors import InputError, MissingFileError

# The default of ``[limits] image_max_pixels`` (audit/defaults/limits.toml), for callers that
# have no policy at hand (loading a watermark template): 50 MP holds an 8K frame (33 MP).
IMAGE_MAX_PIXELS = 50_000_000


class NotAFileError(InputError):
    code = "runtime.not_a_file"
    hint = "Give a regular file (not a FIFO, device, socket, folder or broken symlink)"


class ImageTooLargeError(InputError):
    code = "runtime.image_too_large"
    hint = "Scale the image down, or raise [limits] image_max_pixels in the policy"


class ImageUnreadableError(InputError):
    code = "runtime.image_unreadable"
    hint = "Give a PNG, JPEG or WebP image"


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def what_is(path: str | Path) -> str | None:
    """None when ``path`` is (or links to) a regular file; else what it is, in words:
    ``"missing"``, ``"a symlink loop"``, ``"a FIFO (named pipe)"``, ``"a folder"``..."""
    try:
        st = os.stat(path)  # follows symlinks: a link to a regular file is a regular file
    except FileNotFoundError:
        return "a broken symlink" if os.path.islink(path) else "missing"
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "a symlink loop"
        return f"unreadable ({e.strerror or e})"
    if stat.S_ISREG(st.st_mode):
        return None
    for test, words in _KINDS:
        if test(st.st_mode):
            return words
    return "not a regular file"


def regular_file(path: str | Path, what: str = "file", error: type[InputError] = NotAFileError) -> Path:
    """``path`` as a Path when it is a regular file; else raises ``MissingFileError`` (nothing
    there) or ``error`` (``NotAFileError``) naming the path, ``what`` it was meant to be, and
    what it is."""
    kind = what_is(path)
    if kind is None:
        return Path(path)
    if kind == "missing":
        raise MissingFileError(path, f"no such {what}")
    raise error(path, f"{what} is {kind}, not a regular file")


def check_image(path: str | Path, max_pixels: int, what: str = "image",
                error: type[InputError] | None = None) -> tuple[int, int]:
    """(width, height) in pixels of the image at ``path``, read from its header only.

    Raises an ``InputError`` naming the file when it is not a regular file, not an image Pillow
    can identify, or over ``max_pixels`` (width x height): nothing is decoded, nothing large is
    allocated. ``error``: the class to raise instead (e.g. a caller's own, with its own code)."""
    from PIL import Image, UnidentifiedImageError

    if error is not None and what_is(path) == "missing":
        raise error(path, f"no such {what}")
    p = regular_file(path, what, error or NotAFileError)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as im:  # parses the header; pixels are decoded only on load()
                w, h = im.size
    except Image.DecompressionBombError as e:  # Pillow's own cap (far above ours) refused it
        n = re.search(r"\((\d+) pixels\)", str(e))
        size = f"{int(n.group(1)) / 1e6:.0f} MP" if n else "too many pixels"
        raise (error or ImageTooLargeError)(
            p, f"{what} declares {size}, over the cap of {max_pixels / 1e6:g} MP ([limits] image_max_pixels); "
               "it was not decoded") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise (error or ImageUnreadableError)(p, f"{what} cannot be read as an image ({e})") from None
    if w * h > max_pixels:
        raise (error or ImageTooLargeError)(
            p, f"{what} declares {w}x{h} pixels ({w * h / 1e6:.0f} MP), over the cap of {max_pixels / 1e6:g} MP "
               "([limits] image_max_pixels); it was not decoded")
    return w, h


def config_file(path: str | Path, what: str) -> Path:
    """``path`` when it is a regular file; else ``ConfigError`` naming it: a policy, suite or
    trust file that is missing, a FIFO or a folder is the operator's mistake (exit 2)."""
    from .errors import ConfigError

    kind = what_is(path)
    if kind == "missing":
        raise ConfigError(path, f"{what} not found")
    if kind is not None:
        raise ConfigError(path, f"{what} is {kind}, not a regular file")
    return Path(path)
