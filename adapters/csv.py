"""CSV exports (RFC 4180 and its Italian office variants): a file, or a folder of drops.

Options (YAML, in a source definition)::

    adapter: csv
    options:
      path: /srv/drops/milano/welfare        # a file, a folder (see ``pattern``) or a glob
      pattern: "*.csv"
      encoding: null                         # null: detect (UTF-8, Windows-1252...)
      delimiter: ";"
      skip_lines: 2                          # preamble lines before the header
      id_column: ID_PRATICA

Rows are streamed in binary blocks (constant memory on any file size); newlines inside quoted
fields, mixed ``\\r\\n``/``\\n`` line endings and a UTF-8 BOM are handled. A row that cannot be read
— wrong column count, bytes not valid in the encoding, a line the CSV parser rejects — is yielded
as a record with ``problem`` set (``position="line N"``) and the next rows go on. A cell that
starts like a spreadsheet formula (``=``, ``@``, or ``+``/``-`` not followed by a plain number) is
never evaluated here, but it is flagged: the record carries its data *and* a ``problem`` naming the
column (BRIEF §13), so that it is quarantined rather than exported to a spreadsheet.

The cursor is compact JSON: per file, ``[offset, line, head_len, head_hash, encoding, skip]`` —
a byte offset where a row starts, the physical line count before it, the identity of the file
(a hash of its first ``head_len`` bytes, at most 64 KiB: it survives appends and copies that
reset the mtime, and notices a file replaced under the same name) and the number of rows to skip
after the offset. Exact byte offsets are only taken at block boundaries, which keeps the hot loop
as cheap as a bare ``csv.reader``; resuming parses at most one block to skip rows. Every file's
final position stays in the cursor, so a folder is read in file-name order, a finished file is
not read again (unless it grows or is replaced) and a late file is still picked up.
"""

from __future__ import annotations

import codecs
import glob
import hashlib
import io
import json
import logging
import os
import time
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import BinaryIO

import charset_normalizer
from pydantic import Field, field_validator, model_validator

from adapters.base import Adapter, AdapterOptions, RawRecord
from adapters.csv_stream import FileState, RowStream
from adapters.errors import FatalSourceError, RetriableSourceError

__all__ = ["CsvAdapter", "CsvOptions"]

logger = logging.getLogger(__name__)

HEAD_BYTES = 64 * 1024
_UNSUPPORTED_BOMS = (
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
)


class CsvOptions(AdapterOptions):
    """Options of the ``csv`` adapter."""

    path: str = Field(description="A file, a folder of drops (see 'pattern') or a glob pattern.")
    pattern: str = Field(default="*.csv", description="File pattern when 'path' is a folder.")
    encoding: str | None = Field(default=None, description="Codec name; None detects it.")
    detect_candidates: list[str] = Field(
        default_factory=lambda: ["utf_8", "cp1252", "iso8859_15"],
        description="Encodings that detection may choose from (charset-normalizer).",
    )
    delimiter: str = Field(default=";", min_length=1, max_length=1)
    quotechar: str = Field(default='"', min_length=1, max_length=1)
    skip_lines: int = Field(default=0, ge=0, description="Preamble lines before the header.")
    header: bool = Field(
        default=True, description="The first row after the preamble names columns."
    )
    columns: list[str] | None = Field(
        default=None, description="Column names; required without a header row, else override it."
    )
    strict_columns: bool = Field(
        default=True, description="Short rows are problems; False pads them with empty cells."
    )
    id_column: str | None = Field(default=None, description="Column holding the record id.")
    flag_formulas: bool = True
    min_age: float = Field(
        default=0.0, ge=0, description="Skip files modified less than this many seconds ago."
    )
    sample_size: int = Field(default=HEAD_BYTES, ge=1024, description="Bytes used to detect.")
    block_size: int = Field(default=1 << 20, ge=1024, description="Bytes read per block.")

    @field_validator("encoding")
    @classmethod
    def _ascii_compatible(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            name = codecs.lookup(value).name
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None
        if name == "utf-8-sig":
            return "utf-8"
        if not _is_ascii_compatible(name):
            raise ValueError(f"encoding {value!r} is not ASCII-compatible; convert to UTF-8")
        return name

    @model_validator(mode="after")
    def _columns_known(self) -> CsvOptions:
        if not self.header and not self.columns:
            raise ValueError("'columns' is required when 'header' is false")
        if self.delimiter == self.quotechar:
            raise ValueError("'delimiter' and 'quotechar' must differ")
        if self.delimiter in "\r\n" or self.quotechar in "\r\n":
            raise ValueError("'delimiter' and 'quotechar' cannot be line breaks")
        return self


def _is_ascii_compatible(encoding: str) -> bool:
    probe = 'id;a,b\t"x"\r\n=+-@'
    try:
        return probe.encode(encoding) == probe.encode("ascii")
    except (UnicodeError, LookupError):
        return False


class CsvAdapter(Adapter[CsvOptions]):
    """Read CSV files (one file, or a folder of drops in file-name order)."""

    kind = "csv"
    Options = CsvOptions

    def fetch(self, cursor: str | None) -> Iterator[RawRecord]:
        """Yield the rows after ``cursor`` in every file, file-name order."""
        # chain() of per-file iterators rather than nested generators: every generator level
        # costs time on every row. Nothing runs before the first next(), like a generator.
        return chain.from_iterable(self._files(cursor))

    def _files(self, cursor: str | None) -> Iterator[Iterator[RawRecord]]:
        states = self._decode_cursor(cursor)
        files = self._list_files()
        # Files gone from the folder are forgotten, so the cursor does not grow forever.
        states = {name: st for name, st in states.items() if name in files}
        for name, path in files.items():
            yield self._read_file(name, path, states)

    def read_stream(self, stream: BinaryIO | bytes, *, name: str = "upload") -> Iterator[RawRecord]:
        """Yield the rows of an uploaded file given as bytes or a binary stream.

        Used by the HTTP push of a CSV file through a source's options; cursors point into
        the stream under ``name``.
        """
        return chain.from_iterable(self._upload(stream, name))

    def _upload(self, stream: BinaryIO | bytes, name: str) -> Iterator[Iterator[RawRecord]]:
        if isinstance(stream, bytes | bytearray | memoryview):
            stream = io.BytesIO(bytes(stream))
        sample = stream.read(self.options.sample_size)
        encoding, bom = self._resolve_encoding(sample)
        state = FileState(offset=bom, line=0, head_len=0, head_hash="", encoding=encoding)
        yield self._stream(stream, name, state, {}, prefix=sample[bom:])

    # -- files -------------------------------------------------------------------------
    def _list_files(self) -> dict[str, Path]:
        opts = self.options
        path = Path(opts.path)
        if path.is_dir():
            base, found = path, [Path(p) for p in glob.glob(str(path / opts.pattern))]
        elif glob.has_magic(opts.path):
            base = _glob_root(opts.path)
            found = [Path(p) for p in glob.glob(opts.path, recursive=True)]
        elif path.is_file():
            base, found = path.parent, [path]
        else:
            raise FatalSourceError(f"CSV path not found: {opts.path}", source=self.source)
        now = time.time()
        files: dict[str, Path] = {}
        for p in found:
            try:
                stat = p.stat()
            except OSError:
                continue  # moved away between listing and stat
            if not p.is_file() or (opts.min_age and now - stat.st_mtime < opts.min_age):
                continue
            files[p.relative_to(base).as_posix()] = p
        return dict(sorted(files.items()))

    def _read_file(
        self, name: str, path: Path, states: dict[str, FileState]
    ) -> Iterator[RawRecord]:
        try:
            stream = path.open("rb")
        except PermissionError as exc:
            raise FatalSourceError(f"cannot open file {name}", source=self.source) from exc
        except OSError as exc:
            raise RetriableSourceError(f"cannot open file {name}", source=self.source) from exc
        try:
            state = self._start_state(name, stream, states.get(name))
            size = os.fstat(stream.fileno()).st_size
        except OSError as exc:
            stream.close()
            raise RetriableSourceError(f"cannot read file {name}", source=self.source) from exc
        except BaseException:
            stream.close()
            raise
        if state.offset >= size and state.skip == 0 and state.line > 0:
            stream.close()
            states[name] = state
            return iter(())  # finished and unchanged
        return self._stream(stream, name, state, states, close=True)

    def _start_state(self, name: str, stream: BinaryIO, known: FileState | None) -> FileState:
        sample = stream.read(max(HEAD_BYTES, self.options.sample_size))
        if known is not None and known.head_len <= len(sample):
            if _head_hash(sample[: known.head_len]) == known.head_hash:
                return known
            logger.warning(
                "source %s: a file changed under the same name; reading it again", self.source
            )
        encoding, bom = self._resolve_encoding(sample[: self.options.sample_size])
        head_len = min(len(sample), HEAD_BYTES)
        return FileState(
            offset=bom,
            line=0,
            head_len=head_len,
            head_hash=_head_hash(sample[:head_len]),
            encoding=encoding,
        )

    def _stream(
        self,
        stream: BinaryIO,
        name: str,
        state: FileState,
        states: dict[str, FileState],
        *,
        prefix: bytes | None = None,
        close: bool = False,
    ) -> Iterator[RawRecord]:
        others = {n: s for n, s in states.items() if n != name}
        rows = RowStream(self.options, source=self.source, name=name, others=others)

        def done(final: FileState) -> None:
            states[name] = final

        return rows.read(stream, state, prefix=prefix, on_done=done, close=close)

    # -- encoding ----------------------------------------------------------------------
    def _resolve_encoding(self, sample: bytes) -> tuple[str, int]:
        """Return ``(encoding, BOM length)`` for a file whose first bytes are ``sample``."""
        if sample.startswith(codecs.BOM_UTF8):
            return "utf-8", len(codecs.BOM_UTF8)
        if sample.startswith(_UNSUPPORTED_BOMS):
            raise FatalSourceError(
                "UTF-16/32 files are not supported; export as UTF-8", source=self.source
            )
        if self.options.encoding is not None:
            return self.options.encoding, 0
        # Cut at a line end so a multi-byte character is not split by the sample size.
        cut = sample.rfind(b"\n")
        body = sample[: cut + 1] if cut > 0 else sample
        try:
            body.decode("utf-8")
            return "utf-8", 0
        except UnicodeDecodeError:
            pass
        candidates = [c for c in self.options.detect_candidates if _is_ascii_compatible(c)]
        best = charset_normalizer.from_bytes(body, cp_isolation=candidates or None).best()
        if best is not None and _is_ascii_compatible(best.encoding):
            return codecs.lookup(best.encoding).name, 0
        # No candidate decodes the sample cleanly: use the first 8-bit one and report the
        # undecodable lines one by one instead of refusing the whole file.
        fallback = next((c for c in candidates if codecs.lookup(c).name != "utf-8"), "cp1252")
        return codecs.lookup(fallback).name, 0

    # -- cursor ------------------------------------------------------------------------
    def _decode_cursor(self, cursor: str | None) -> dict[str, FileState]:
        if not cursor:
            return {}
        try:
            doc = json.loads(cursor)
            if doc.get("v") != 1:
                raise ValueError("cursor version")
            return {name: FileState.from_list(v) for name, v in doc["files"].items()}
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise FatalSourceError(
                "cursor is not a CSV adapter cursor", source=self.source
            ) from exc


def _head_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _glob_root(pattern: str) -> Path:
    parts = Path(pattern).parts
    root = Path()
    for part in parts:
        if glob.has_magic(part):
            break
        root = root / part
    return root
