"""Files written so that a crash never leaves half of one: what the callbacks that
write files (:class:`~sknn_scratch.callbacks.Checkpoint`,
:class:`~sknn_scratch.callbacks.CSVLogger`) build on.

- :func:`replace_file` writes a whole file next to its destination, syncs it and renames
  it into place: the old file or the new one, never part of one.
- :func:`append_line` appends one line in one write and syncs it; a failed write is cut
  off again. :func:`drop_torn_line` removes a last line without its line end.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import secrets
import shutil

__all__ = ["replace_file", "csv_line", "write_text", "append_line", "drop_torn_line"]


def _fsync_directory(directory):
    """Make a rename in ``directory`` durable (POSIX; elsewhere renames need no such step)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):  # some file systems cannot sync a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def replace_file(path, write):
    """Write the file ``path`` as a whole: ``write(temporary)`` fills a new file next to
    it, which is synced to disk and then renamed over ``path``. A crash or a full disk
    leaves the old file or the new one, never part of one; on an error the temporary
    file is removed. The temporary name ends as ``path`` does (joblib chooses its
    compression from the ending)."""
    path = os.path.realpath(path)  # through a symbolic link, as writing in place would
    directory, name = os.path.split(path)
    temporary = os.path.join(directory, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp{os.path.splitext(name)[1]}")
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # a new name; the umask applies
    try:
        with contextlib.suppress(FileNotFoundError):
            shutil.copymode(path, temporary)  # a replaced file keeps its permissions
        write(temporary)
        fd = os.open(temporary, os.O_RDWR)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    _fsync_directory(directory)


def csv_line(values):
    """One CSV row as text, with its line end."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def write_text(path, text):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def append_line(path, line):
    """Append ``line`` to the file ``path`` in one write on a file opened for appending,
    synced to disk. If the write fails (a full disk), what it wrote is cut off again:
    the file never ends in part of a line."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
    try:
        size = os.fstat(fd).st_size
        try:
            rest = memoryview(line.encode())
            while rest:  # one write; another only after a short one, which then reports the error (a full disk)
                rest = rest[os.write(fd, rest) :]
            os.fsync(fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)


def drop_torn_line(path):
    """Cut a last line without its line end (what a crash may leave) from the file
    ``path``; return the size kept (0 for a missing file)."""
    try:
        fh = open(path, "rb+")
    except FileNotFoundError:
        return 0
    with fh:
        end = position = fh.seek(0, os.SEEK_END)
        keep = 0
        while position > 0:  # back from the end, a block at a time, to the last line end
            start = max(0, position - 4096)
            fh.seek(start)
            found = fh.read(position - start).rfind(b"\n")
            if found >= 0:
                keep = start + found + 1
                break
            position = start
        if keep < end:
            fh.truncate(keep)
            fh.flush()
            os.fsync(fh.fileno())
    return keep
