"""The streaming core of the CSV adapter: binary blocks in, records with byte-offset cursors out.

How offsets stay cheap: the file is read in binary blocks cut after a ``\\n``; each block is
decoded at once and its lines fed to one ``csv.reader``. The block knows the byte offset and
the physical line number where it ends. When a row ends exactly at the end of a block (nearly
always, unless a quoted field spans the cut) that offset becomes the new *checkpoint*; every
record's cursor is ``checkpoint + rows since it``. The per-row cost is one integer comparison
and a string concatenation — the rest is ``csv.reader`` in C.

Per-row checks that would cost time on every row (bytes not valid in the encoding, formula-like
cells) are prefiltered per block: strict decoding and a regular expression run over the whole
block in C, and only rows of a block that failed them are inspected one by one.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping
from itertools import chain
from typing import TYPE_CHECKING, Any, BinaryIO

from adapters.base import RawRecord
from adapters.csv_formulas import formula_column, formula_prefilter
from adapters.errors import FatalSourceError, RecordProblem, RetriableSourceError

if TYPE_CHECKING:
    from adapters.csv import CsvOptions

__all__ = ["FileState", "RowStream"]


@dataclasses.dataclass(slots=True)
class FileState:
    """Where reading one file resumes: ``skip`` rows after the row boundary at ``offset``."""

    offset: int
    line: int
    head_len: int
    head_hash: str
    encoding: str
    skip: int = 0

    def prefix(self) -> str:
        """JSON of this state without ``skip`` and the closing bracket."""
        return (
            json.dumps(
                [self.offset, self.line, self.head_len, self.head_hash, self.encoding],
                separators=(",", ":"),
            )[:-1]
            + ","
        )

    def to_list(self) -> list[Any]:
        return [self.offset, self.line, self.head_len, self.head_hash, self.encoding, self.skip]

    @classmethod
    def from_list(cls, value: Any) -> FileState:
        o, line, hl, h, enc, skip = value
        if not all(isinstance(n, int) and n >= 0 for n in (o, line, hl, skip)):
            raise ValueError("cursor numbers")
        if not isinstance(h, str) or not isinstance(enc, str):
            raise ValueError("cursor strings")
        return cls(o, line, hl, h, enc, skip)


class _Blocks:
    """Binary blocks ending at a line break, decoded; tracks where the latest block ends."""

    __slots__ = (
        "block_size",
        "check_until",
        "encoding",
        "end_line",
        "end_offset",
        "formula_re",
        "prefix",
        "quote",
        "source",
        "stream",
    )

    def __init__(
        self,
        stream: BinaryIO,
        *,
        encoding: str,
        offset: int,
        line: int,
        block_size: int,
        prefix: bytes | None,
        formula_re: re.Pattern[str] | None,
        quote: str,
        source: str,
    ) -> None:
        self.source = source
        self.stream = stream
        self.encoding = encoding
        self.end_offset = offset
        self.end_line = line
        self.block_size = block_size
        self.prefix = prefix
        self.formula_re = formula_re
        self.quote = quote
        #: rows starting at or before this line need the slow per-row inspection
        self.check_until = -1

    def texts(self) -> Iterator[io.StringIO]:
        try:
            yield from self._texts()
        except OSError as exc:
            raise RetriableSourceError("cannot read the file", source=self.source) from exc

    def _texts(self) -> Iterator[io.StringIO]:
        read, size = self.stream.read, self.block_size
        carry = self.prefix or b""
        while True:
            chunk = carry + read(size)
            if not chunk:
                return
            cut = chunk.rfind(b"\n") + 1
            while cut == 0:  # a line longer than a block: keep reading until it ends
                more = read(size)
                if not more:
                    cut = len(chunk)
                    break
                seen = len(chunk)
                chunk += more
                found = chunk.find(b"\n", seen)
                cut = chunk.rfind(b"\n") + 1 if found >= 0 else 0
            block, carry = chunk[:cut], chunk[cut:]
            try:
                text = block.decode(self.encoding)
                dirty = False
            except UnicodeDecodeError:
                # Undecodable bytes become lone surrogates; the rows holding them are reported.
                text = block.decode(self.encoding, "surrogateescape")
                dirty = True
            lines = text.count("\n")
            cr = text.count("\r")
            if cr:
                lines += cr - text.count("\r\n")
            if text[-1] not in "\r\n":
                lines += 1
            self.end_offset += len(block)
            self.end_line += lines
            fre = self.formula_re
            if dirty or (
                fre is not None
                # Four memchr-speed scans spare the regular expression most clean blocks.
                and ("=" in text or "@" in text or "+" in text or "-" in text)
                and (fre.search(text) is not None or text[0] in "=@+-" or text[0] == self.quote)
            ):
                self.check_until = self.end_line
            yield io.StringIO(text, newline="")


def _fast_setters() -> tuple[Any, ...] | None:
    """``object.__new__`` and RawRecord's slot setters, for the hot loop.

    The frozen dataclass ``__init__`` costs about as much as parsing the row; setting the slots
    through their descriptors halves that. ``None`` (use the constructor) if RawRecord's fields
    ever change.
    """
    names = tuple(f.name for f in dataclasses.fields(RawRecord))
    expected = ("data", "cursor", "record_id", "position", "deleted", "problem", "raw")
    if names != expected or "__slots__" not in vars(RawRecord):
        return None
    return (object.__new__, *(getattr(RawRecord, n).__set__ for n in expected))


_FAST_SETTERS = _fast_setters()


def dict_builder(columns: list[str]) -> Callable[[list[str]], dict[str, str]]:
    """``row -> {column: cell}``, compiled for a header; ~40% faster than ``dict(zip(...))``.

    Like ``collections.namedtuple``, the function is generated: the source holds only
    identifiers (``_k0``) and indices, the column names are bound as values, so no text from
    the file ever becomes code.
    """
    if not columns or len(columns) > 255:
        return lambda row: dict(zip(columns, row, strict=False))
    namespace: dict[str, Any] = {f"_k{i}": name for i, name in enumerate(columns)}
    items = ", ".join(f"_k{i}: r[{i}]" for i in range(len(columns)))
    exec(f"def build(r):\n    return {{{items}}}\n", namespace)  # noqa: S102 - see docstring
    build: Callable[[list[str]], dict[str, str]] = namespace["build"]
    return build


class RowStream:
    """Reads one file (or upload) from a :class:`FileState`; sets ``final_state`` at the end."""

    def __init__(
        self, options: CsvOptions, *, source: str, name: str, others: Mapping[str, FileState]
    ) -> None:
        self.options = options
        self.source = source
        self.name = name
        # The cursor of a record holds every other file's state, then this file's.
        self._head = (
            '{"v":1,"files":{'
            + "".join(
                f"{json.dumps(n)}:{json.dumps(s.to_list(), separators=(',', ':'))},"
                for n, s in others.items()
            )
            + json.dumps(name)
            + ":"
        )
        self.final_state: FileState | None = None
        self._encoding = "utf-8"

    def _blocks(
        self, stream: BinaryIO, state: FileState, prefix: bytes | None, block_size: int
    ) -> _Blocks:
        o = self.options
        return _Blocks(
            stream,
            encoding=state.encoding,
            offset=state.offset,
            line=state.line,
            block_size=block_size,
            prefix=prefix,
            formula_re=formula_prefilter(o.delimiter, o.quotechar) if o.flag_formulas else None,
            quote=o.quotechar,
            source=self.source,
        )

    def _reader(self, lines: Iterator[str]) -> Any:
        o = self.options
        return csv.reader(lines, delimiter=o.delimiter, quotechar=o.quotechar, strict=False)

    def _columns(self, lines: Iterator[str], reader: Any) -> list[str] | None:
        """Skip the preamble and read the header; ``None`` for a file without one."""
        o = self.options
        for _ in range(o.skip_lines):
            if next(lines, None) is None:
                return None
        if o.header:
            try:
                row: list[str] | None = next(reader, None)
                while row == []:  # blank lines before the header
                    row = next(reader, None)
            except csv.Error as exc:
                raise FatalSourceError(
                    f"header of {self.name} is not CSV", source=self.source
                ) from exc
            if row is None:
                return None
            if o.columns is None:
                return self._header_names(row)
        return list(o.columns or [])

    def _header_names(self, row: list[str]) -> list[str]:
        names = [c.strip() or f"column_{i + 1}" for i, c in enumerate(row)]
        try:
            "".join(names).encode("utf-8")
        except UnicodeEncodeError:
            raise FatalSourceError(
                f"header of {self.name} is not valid in the encoding; set 'encoding'",
                source=self.source,
            ) from None
        seen: set[str] = set()
        for i, n in enumerate(names):
            if n in seen:
                raise FatalSourceError(
                    f"header of {self.name} repeats a column name at column {i + 1}",
                    source=self.source,
                )
            seen.add(n)
        return names

    def _header_from_start(self, stream: BinaryIO, state: FileState) -> list[str] | None:
        stream.seek(0)
        bom = 3 if stream.read(3) == b"\xef\xbb\xbf" else 0
        stream.seek(bom)
        start = dataclasses.replace(state, offset=bom, line=0)
        blocks = self._blocks(stream, start, None, 64 * 1024)
        lines = chain.from_iterable(blocks.texts())
        return self._columns(lines, self._reader(lines))

    def read(
        self,
        stream: BinaryIO,
        state: FileState,
        *,
        prefix: bytes | None = None,
        on_done: Callable[[FileState], None] | None = None,
        close: bool = False,
    ) -> Iterator[RawRecord]:
        """Yield the records after ``state``; ``prefix`` holds bytes already read at its offset.

        At the end ``on_done`` gets the state at the end of the stream; ``close`` closes the
        stream when the generator ends or is discarded.
        """
        try:
            yield from self._read(stream, state, prefix)
        finally:
            if close:
                stream.close()
        if on_done is not None and self.final_state is not None:
            on_done(self.final_state)

    def _read(
        self, stream: BinaryIO, state: FileState, prefix: bytes | None
    ) -> Iterator[RawRecord]:
        o = self.options
        self._encoding = state.encoding
        at_start = state.line == 0
        columns = None if at_start else self._header_from_start(stream, state)
        if prefix is None:
            stream.seek(state.offset)
        blocks = self._blocks(stream, state, prefix, o.block_size)
        lines = chain.from_iterable(blocks.texts())
        reader = self._reader(lines)
        base = state.line
        if at_start:
            base += o.skip_lines
            columns = self._columns(lines, reader)
        if columns is not None:
            yield from self._rows(reader, blocks, columns, state, base)
        self.final_state = dataclasses.replace(
            state, offset=blocks.end_offset, line=blocks.end_line, skip=0
        )

    def _rows(
        self, reader: Any, blocks: _Blocks, columns: list[str], state: FileState, base: int
    ) -> Iterator[RawRecord]:
        o = self.options
        ncol = len(columns)
        id_index = columns.index(o.id_column) if o.id_column in columns else -1
        if o.id_column is not None and id_index < 0:
            raise FatalSourceError(
                f"id column {o.id_column!r} not in the header of {self.name}", source=self.source
            )
        has_id = id_index >= 0
        as_dict = dict_builder(columns)
        head = self._head

        def checkpoint(offset: int, line: int) -> str:
            return head + dataclasses.replace(state, offset=offset, line=line).prefix()

        prefix = checkpoint(state.offset, state.line)
        fast = _FAST_SETTERS
        if fast is not None:
            new, s_data, s_cursor, s_id, s_pos, s_del, s_prob, s_raw = fast
        skip = state.skip
        k = 0
        prev_end = base + reader.line_num
        while True:
            try:
                for row in reader:
                    end = base + reader.line_num
                    k += 1
                    if end == blocks.end_line:
                        # The row ends where the block ends: an exact byte offset, for free.
                        prefix = checkpoint(blocks.end_offset, end)
                        k = 0
                    if skip:
                        skip -= 1
                    elif len(row) != ncol or prev_end < blocks.check_until:
                        rec = self._inspect(
                            row, columns, prev_end + 1, f"{prefix}{k}]}}}}", id_index
                        )
                        if rec is not None:
                            yield rec
                    elif fast is not None:
                        # RawRecord(data, cursor, record_id, position), twice as fast.
                        rec = new(RawRecord)
                        s_data(rec, as_dict(row))
                        s_cursor(rec, f"{prefix}{k}]}}}}")
                        s_id(rec, (row[id_index] or None) if has_id else None)
                        s_pos(rec, f"line {prev_end + 1}")
                        s_del(rec, False)
                        s_prob(rec, None)
                        s_raw(rec, None)
                        yield rec
                    else:
                        yield RawRecord(
                            as_dict(row),
                            f"{prefix}{k}]}}}}",
                            (row[id_index] or None) if has_id else None,
                            f"line {prev_end + 1}",
                        )
                    prev_end = end
                return
            except csv.Error:
                end = base + reader.line_num
                k += 1
                if end == blocks.end_line:
                    prefix = checkpoint(blocks.end_offset, end)
                    k = 0
                if skip:
                    skip -= 1
                else:
                    yield self._problem(
                        "line is not valid CSV (unbalanced quotes or an oversized field)",
                        prev_end + 1,
                        f"{prefix}{k}]}}}}",
                        None,
                        [],
                    )
                prev_end = end

    def _inspect(
        self, row: list[str], columns: list[str], start: int, cursor: str, id_index: int
    ) -> RawRecord | None:
        """The slow path: blank lines, ragged rows, undecodable bytes, formula-like cells."""
        if not row:
            return None  # a blank line
        ncol = len(columns)
        if len(row) != ncol:
            if len(row) > ncol or self.options.strict_columns:
                return self._problem(
                    f"row has {len(row)} columns, the header has {ncol}", start, cursor, None, row
                )
            row = row + [""] * (ncol - len(row))
        for i, cell in enumerate(row):
            try:
                cell.encode("utf-8")
            except UnicodeEncodeError:
                return self._problem(
                    f"bytes not valid in {self._encoding}",
                    start,
                    cursor,
                    columns[i],
                    row,
                )
        record_id = (row[id_index] or None) if id_index >= 0 else None
        data = dict(zip(columns, row, strict=False))
        if self.options.flag_formulas and (col := formula_column(row, columns)) is not None:
            problem = RecordProblem(
                "cell starts like a spreadsheet formula",
                source=self.source,
                position=f"line {start}",
                field=col,
            )
            return RawRecord(data, cursor, record_id, f"line {start}", problem=problem)
        return RawRecord(data, cursor, record_id, f"line {start}")

    def _problem(
        self, reason: str, start: int, cursor: str, column: str | None, row: list[str]
    ) -> RawRecord:
        problem = RecordProblem(reason, source=self.source, position=f"line {start}", field=column)
        return RawRecord({}, cursor, None, f"line {start}", problem=problem, raw=self._raw(row))

    def _raw(self, row: list[str]) -> bytes | None:
        """The row re-serialised in its source encoding, for the quarantine."""
        if not row:
            return None
        out = io.StringIO()
        o = self.options
        csv.writer(out, delimiter=o.delimiter, quotechar=o.quotechar, lineterminator="\n").writerow(
            row
        )
        try:
            return out.getvalue().encode(self._encoding, "surrogateescape")
        except UnicodeEncodeError:
            return out.getvalue().encode("utf-8", "surrogateescape")
