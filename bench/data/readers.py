"""Strict readers for the files of a dataset directory: UTF-8 text, JSON Lines and CSV.

Each reader returns the rows with their 1-based line numbers and raises
:class:`bench.core.errors.DataError` naming the file, the line and the fix on the first defect
(invalid UTF-8, an empty file, a line that is not a JSON object, malformed CSV). Blank lines
are skipped and *counted*, so the caller can report them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.core.errors import DataError

BOM = "\ufeff"
# CVs and project descriptions can exceed the csv module's default 128 KiB field limit.
CSV_FIELD_LIMIT = 2**31 - 1


def read_text(path: Path, fix_empty: str) -> str:
    """The UTF-8 text of ``path`` (a leading byte-order mark removed).

    Args:
        path: the file.
        fix_empty: what to tell the user when the file is empty or only whitespace.

    Returns:
        The decoded text.

    Raises:
        DataError: unreadable file, invalid UTF-8 (naming the line) or an empty file.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError(
            path, f"cannot be read ({error.strerror})", fix="check that it is a readable file"
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise DataError(
            path,
            f"is not valid UTF-8 (byte 0x{data[error.start]:02x})",
            line,
            "save the file with UTF-8 encoding",
        ) from None
    if text.startswith(BOM):
        text = text[1:]
    if not text.strip():
        raise DataError(path, "the file is empty", fix=fix_empty)
    return text


def _lines(text: str) -> list[str]:
    """Physical lines split on ``\\n`` only (JSON strings may hold U+2028 and friends)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it does not start a blank one
    return lines


class _DuplicateKey(ValueError):
    """A JSON object names a key twice (json.loads would silently keep the last value)."""


def _object_without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(f"key {key!r} appears twice")
        obj[key] = value
    return obj


def _parse_json_line(path: Path, number: int, raw: str, example: str) -> Any:
    """One JSON value of a JSON Lines file; every way it can fail is a :class:`DataError`.

    Besides syntax errors: keys given twice, nesting deeper than Python's recursion limit,
    integers longer than Python converts (4300 digits), and ``\\u`` escapes of lone UTF-16
    surrogates, which decode to strings no UTF-8 writer (hashes, tokenizers, files) accepts.
    """
    fix = f"write one JSON object per line, e.g. {example}"
    try:
        obj = json.loads(raw, object_pairs_hook=_object_without_duplicate_keys)
        if "\\u" in raw:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except json.JSONDecodeError as error:
        raise DataError(path, f"invalid JSON ({error.msg} at column {error.colno})", number, fix) from None
    except _DuplicateKey as error:
        raise DataError(path, f"invalid JSON object ({error})", number, "keep each key once") from None
    except RecursionError:
        raise DataError(path, "JSON nested too deeply to read", number, fix) from None
    except UnicodeEncodeError as error:
        raise DataError(
            path,
            f"a \\u escape encodes a lone UTF-16 surrogate (U+{ord(error.object[error.start]):04X}), "
            "which is not valid text",
            number,
            "save the file as UTF-8 text, or escape characters outside the BMP as a surrogate pair",
        ) from None
    except ValueError as error:  # e.g. an integer longer than Python converts
        raise DataError(path, f"invalid JSON value ({error})", number, fix) from None
    return obj


def read_jsonl(path: Path, fix_empty: str, example: str) -> tuple[list[tuple[int, dict[str, Any]]], int]:
    """The JSON objects of a JSON Lines file, one per non-blank line.

    Args:
        path: the ``.jsonl`` file.
        fix_empty: the fix to print when the file is empty.
        example: one valid line, quoted in the fix of a malformed line.

    Returns:
        ``([(line_number, object), ...], number_of_blank_lines_skipped)``.
    """
    text = read_text(path, fix_empty)
    rows: list[tuple[int, dict[str, Any]]] = []
    blank = 0
    for number, raw in enumerate(_lines(text), 1):
        if not raw.strip():
            blank += 1
            continue
        obj = _parse_json_line(path, number, raw, example)
        if not isinstance(obj, dict):
            raise DataError(
                path,
                f"expected a JSON object, found a JSON {type(obj).__name__}",
                number,
                f"write one JSON object per line, e.g. {example}",
            )
        rows.append((number, obj))
    if not rows:
        raise DataError(path, "the file has only blank lines", fix=fix_empty)
    return rows, blank


def read_csv(path: Path, fix_empty: str) -> tuple[int, list[str], list[tuple[int, list[str]]], int]:
    """The header and rows of a CSV file (RFC 4180 quoting; fields may hold newlines).

    Every row must have as many fields as the header. Line numbers are those of the line where a
    row *starts*, so a row whose quoted field spans lines is reported where it begins.

    Args:
        path: the ``.csv`` file.
        fix_empty: the fix to print when the file is empty.

    Returns:
        ``(header_line, header, [(line_number, fields), ...], number_of_blank_lines_skipped)``;
        header names are stripped of surrounding whitespace.
    """
    text = read_text(path, fix_empty)
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, list[str]]] = []
    blank = 0
    start = 1
    try:
        for fields in reader:
            line, start = start, reader.line_num + 1
            if not fields:
                blank += 1
                continue
            if header is None:
                header, header_line = [name.strip() for name in fields], line
                continue
            if len(fields) != len(header):
                spans = reader.line_num - line + 1
                hint = f" (the row spans {spans} lines: is a quote left open?)" if spans > 1 else ""
                raise DataError(
                    path,
                    f"row has {len(fields)} field(s) but the header has {len(header)}{hint}",
                    line,
                    "give every row one value per header column and quote values that contain commas",
                )
            rows.append((line, fields))
    except csv.Error as error:
        raise DataError(
            path,
            f"malformed CSV ({error})",
            start,
            "quote fields with double quotes and double any quote inside a quoted field",
        ) from None
    if header is None:
        raise DataError(path, "the file has only blank lines", fix=fix_empty)
    return header_line, header, rows, blank


def check_keys(path: Path, line: int, found: Iterable[str], allowed: Iterable[str], what: str) -> None:
    """Raise when ``found`` holds names outside ``allowed`` (JSON keys or CSV columns), naming them."""
    allowed = list(allowed)
    unknown = [k for k in found if k not in allowed]
    if unknown:
        raise DataError(
            path,
            f"unknown {what} {', '.join(map(repr, unknown))}",
            line,
            f"use only the {what}s {', '.join(allowed)}",
        )
