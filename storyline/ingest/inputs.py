"""Opening local input files safely: regular files only, sizes capped while reading, binary
files refused whole, lines capped.

- :func:`open_regular` opens without blocking (a FIFO never hangs a run) and refuses anything
  that is not a regular file: FIFOs, sockets, devices (``/dev/zero`` directly or through a
  symlink), folders.
- :func:`read_capped` refuses a file larger than its cap from its size before reading a byte
  (a 3 GiB sparse file costs nothing) and stops at the cap while reading (a file that grows).
- :func:`binary_reason` says why bytes are not text: a known binary magic number (ELF, PE,
  Mach-O, PNG, JPEG, GIF, PDF, ZIP, gzip, bzip2, xz, 7z, SQLite, ...), NUL bytes (UTF-16/32 text
  with a BOM excepted), or bytes that are neither UTF-8 nor Windows-1252 with many control
  characters. A file it names is refused whole: nothing from it is read.
- :func:`iter_lines` yields the lines of a file, each at most :data:`MAX_LINE_BYTES`; a longer
  line is reported and skipped without being held in memory.
"""
from __future__ import annotations

import codecs
import fcntl
import os
import stat
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from ..errors import InputError

MAX_TEXT_FILE_BYTES = 1 << 30  # plain text, JSONL, CSV: streamed, so this bounds time, not memory
MAX_LINE_BYTES = 8 << 20
MAX_ITEMS_PER_FILE = 1_000_000
SNIFF_BYTES = 1 << 16
_SCAN_CHUNK = 1 << 20

MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x7fELF", "an ELF executable or library"),
    (0, b"MZ", "a Windows executable"),
    (0, b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (0, b"\xce\xfa\xed\xfe", "a Mach-O executable"),
    (0, b"\xca\xfe\xba\xbe", "a Java class or Mach-O universal binary"),
    (0, b"\x00asm", "a WebAssembly module"),
    (0, b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"GIF87a", "a GIF image"),
    (0, b"GIF89a", "a GIF image"),
    (0, b"RIFF", "a RIFF file (WebP, WAV or AVI)"),
    (0, b"%PDF-", "a PDF document"),
    (0, b"PK\x03\x04", "a ZIP archive (or DOCX/XLSX/ODT/JAR)"),
    (0, b"PK\x05\x06", "an empty ZIP archive"),
    (0, b"\x1f\x8b", "gzip-compressed data"),
    (0, b"BZh", "bzip2-compressed data"),
    (0, b"\xfd7zXZ\x00", "xz-compressed data"),
    (0, b"(\xb5/\xfd", "zstd-compressed data"),
    (0, b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (0, b"Rar!\x1a\x07", "a RAR archive"),
    (0, b"SQLite format 3\x00", "an SQLite database"),
    (0, b"OggS", "an Ogg media file"),
    (0, b"ID3", "an MP3 audio file"),
    (0, b"fLaC", "a FLAC audio file"),
    (4, b"ftyp", "an MP4/MOV media file"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office document"),
    (257, b"ustar", "a tar archive"),
)
_UTF16_32 = ((codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF32_LE, "utf-32-le"),
             (codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF16_LE, "utf-16-le"))
_CONTROL = frozenset(range(0x20)) - {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1B}


def wide_encoding(head: bytes) -> str:
    """``utf-16-le`` etc. when ``head`` starts with a UTF-16/32 byte-order mark, else ``""``."""
    for bom, name in _UTF16_32:
        if head.startswith(bom):
            return name
    return ""


def binary_reason(head: bytes, *, allow_gzip: bool = False, allow_wide: bool = True) -> str:
    """Why ``head`` (the first bytes of a file) is not text, or ``""`` when it may be text."""
    for offset, magic, what in MAGIC:
        if head[offset: offset + len(magic)] == magic and not (allow_gzip and magic == b"\x1f\x8b"):
            if magic == b"MZ" and not _looks_like_pe(head):
                continue
            return f"it is {what}"
    if allow_wide and wide_encoding(head):
        return ""
    nul = head.find(b"\x00")
    if nul >= 0:
        return f"it holds NUL bytes (first at offset {nul:,})"
    sample = head[:SNIFF_BYTES]
    if sample and not _decodes(sample, "utf-8") and not _decodes(sample, "cp1252"):
        controls = sum(1 for b in sample if b in _CONTROL)
        if controls * 20 > len(sample):
            return f"its bytes are neither UTF-8 nor Windows-1252 and {100 * controls // len(sample)}% are control codes"
    return ""


def _looks_like_pe(head: bytes) -> bool:
    if len(head) < 0x40:
        return False
    pointer = int.from_bytes(head[0x3C:0x40], "little")
    return head[pointer: pointer + 4] == b"PE\x00\x00" if pointer + 4 <= len(head) else True


def _decodes(sample: bytes, codec: str) -> bool:
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        decoder.decode(sample, final=False)  # a character cut at the end is not an error
    except UnicodeDecodeError:
        return False
    return True


def refusal(path: Path, reason: str) -> InputError:
    """The one error line for a file refused whole."""
    return InputError(str(path), f"not a text file: {reason}; refused, nothing from it was read")


def open_regular(path: Path) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file (symlinks followed), without blocking.

    Raises:
        InputError: missing, unreadable, or not a regular file (FIFO, socket, device, folder).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    except IsADirectoryError:
        raise InputError(str(path), "is a folder, not a file") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot read file ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(str(path), f"is {_kind(mode)}, not a regular file; not read")
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a special file"


def _size_problem(size: int, limit: int, what: str) -> str:
    return f"{what} is {size:,} bytes, more than the {limit:,}-byte cap; not read"


def read_capped(path: Path, limit: int, *, what: str = "file") -> bytes:
    """All bytes of a regular file of at most ``limit`` bytes.

    Raises:
        InputError: not a regular file, unreadable, or larger than ``limit`` (checked from its
            size before reading, and again while reading).
    """
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise InputError(str(path), _size_problem(size, limit, what))
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise InputError(str(path), f"cannot read file ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise InputError(str(path), _size_problem(len(data), limit, what) + " (it grew while being read)")
    return data


def check_text_file(path: Path, handle: BinaryIO, *, limit: int = MAX_TEXT_FILE_BYTES) -> str:
    """Scan an open text file before any item is read: ``""`` when it may be read, else why it is
    refused (too big, binary magic, NUL bytes anywhere, not text). Leaves the handle at 0."""
    size = os.fstat(handle.fileno()).st_size
    if size > limit:
        return _size_problem(size, limit, "file")
    head = handle.read(SNIFF_BYTES)
    reason = binary_reason(head)
    if reason or wide_encoding(head):
        handle.seek(0)
        return f"not a text file: {reason}; refused, nothing from it was read" if reason else ""
    offset = len(head)
    while True:  # NUL bytes anywhere refuse the whole file (C speed: a read and a find per MiB)
        chunk = handle.read(_SCAN_CHUNK)
        if not chunk:
            break
        nul = chunk.find(b"\x00")
        if nul >= 0:
            handle.seek(0)
            return f"not a text file: it holds NUL bytes (first at offset {offset + nul:,}); refused, nothing from it was read"
        offset += len(chunk)
        if offset > limit:
            handle.seek(0)
            return _size_problem(offset, limit, "file") + " (it grew while being read)"
    handle.seek(0)
    return ""


def iter_lines(handle: BinaryIO, on_long: Callable[[int, int], None], *,
               max_line: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes]]:
    """``(line number, bytes)`` of each line (CR, LF or CRLF ended); a line over ``max_line``
    bytes is skipped chunk by chunk and reported through ``on_long(number, size)``."""
    number = 0
    while True:
        line = handle.readline(max_line + 1)
        if not line:
            return
        number += 1
        if len(line) > max_line and not line.endswith(b"\n"):
            size = len(line)
            while True:
                more = handle.readline(_SCAN_CHUNK)
                size += len(more)
                if not more or more.endswith(b"\n"):
                    break
            on_long(number, size)
            continue
        parts = line.splitlines() if b"\r" in line else [line.rstrip(b"\n")]
        for part in parts or [b""]:
            yield number, part


__all__ = ["MAX_ITEMS_PER_FILE", "MAX_LINE_BYTES", "MAX_TEXT_FILE_BYTES", "binary_reason", "check_text_file",
           "iter_lines", "open_regular", "read_capped", "refusal", "wide_encoding"]
