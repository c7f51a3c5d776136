"""XLSForm (.xlsx) to SafeHaven survey questions, via pyxform; anything unsupported is refused
with its sheet row and the reason, never dropped.

Supported (``survey`` + ``choices`` sheets, optional ``settings`` with form_title/form_id/version):
  * ``select_one LIST``      -> single_choice; a list whose choices are exactly ``yes`` and
    ``no`` -> yes_no; with ``appearance`` = ``likert`` and five choices named 1..5 -> scale5
    (the choice labels become the scale labels)
  * ``select_multiple LIST`` -> multiple_choice; ``constraint`` ``count-selected(.) <= N``
    -> at most N choices
  * ``integer`` -> integer; ``constraint`` ``. >= A and . <= B`` (either order, ``<``/``>``
    too) gives the bounds; without one the bounds are 0..1000000
  * ``text`` -> free text, 500 characters unless ``constraint`` ``string-length(.) <= N``
    (N at most 2000)
  * ``required`` yes/no/true/false; ``hint``; ``relevant`` of the simple form
    ``${q} = 'value'`` or ``selected(${q}, 'value')``
Refused: every other type (groups, repeats, notes, dates, decimals, geopoints, calculations,
metadata such as start/end/deviceid, media...), other appearances, other constraints or
relevance expressions, constraint/required messages, defaults, choice filters, translations
(``label::Language``), media columns, and unknown settings.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError as SchemaError

from backend.errors import ValidationError

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_UNPACKED_BYTES = 40 * 1024 * 1024  # a small .xlsx that unpacks to more is refused (zip bomb)
DEFAULT_INTEGER_BOUNDS = (0, 1_000_000)
SURVEY_COLUMNS = {
    "type",
    "name",
    "label",
    "hint",
    "required",
    "relevant",
    "constraint",
    "appearance",
}
CHOICES_COLUMNS = {"list_name", "list name", "name", "label"}
SETTINGS_COLUMNS = {"form_title", "form_id", "version"}
CHILD_KEYS = {"type", "name", "label", "hint", "bind", "control", "parameters", "itemset"}
CHILD_KEYS |= {"list_name", "choices"}
TRUE_VALUES = {"yes", "true", "true()"}
FALSE_VALUES = {"no", "false", "false()", ""}

_RELEVANT_EQ = re.compile(r"^\s*\$\{([A-Za-z_][A-Za-z0-9_]*)\}\s*=\s*(['\"])([^'\"]+)\2\s*$")
_RELEVANT_SELECTED = re.compile(
    r"^\s*selected\(\s*\$\{([A-Za-z_][A-Za-z0-9_]*)\}\s*,\s*(['\"])([^'\"]+)\2\s*\)\s*$"
)
_COUNT_SELECTED = re.compile(r"^\s*count-selected\(\s*\.\s*\)\s*<=\s*(\d+)\s*$")
_STRING_LENGTH = re.compile(r"^\s*string-length\(\s*\.\s*\)\s*<=\s*(\d+)\s*$")
_BOUND = re.compile(r"^\s*\.\s*(>=|<=|>|<)\s*(-?\d+)\s*$")


@dataclass
class ParsedForm:
    """What an XLSForm gave: a title, questions in the shared schema's shape, and rows."""

    title: str
    questions: list[dict[str, Any]]
    rows: dict[str, int] = field(default_factory=dict)


def _refuse(problems: list[str]) -> ValidationError:
    return ValidationError(
        f"XLSForm refused: {problems[0]}"
        + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
        errors={"file": problems},
    )


def _check_unpacked_size(content: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _refuse([f"not a readable .xlsx workbook ({exc.__class__.__name__})"]) from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise _refuse([f"the workbook unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MiB"])


def _cell(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _scan_sheets(content: bytes) -> tuple[dict[str, int], list[str]]:
    """Rows by question name, and the problems found in the raw sheets (columns, settings)."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _refuse([f"not a readable .xlsx workbook ({exc.__class__.__name__})"]) from exc
    rows: dict[str, int] = {}
    problems: list[str] = []
    try:
        sheets = {ws.title.strip().lower(): ws for ws in book.worksheets}
        if "survey" not in sheets:
            raise _refuse(["the workbook has no 'survey' sheet"])
        allowed = {
            "survey": SURVEY_COLUMNS,
            "choices": CHOICES_COLUMNS,
            "settings": SETTINGS_COLUMNS,
        }
        for sheet_name, ws in sheets.items():
            if sheet_name not in allowed:
                problems.append(
                    f"sheet '{ws.title}' is not supported (only survey, choices, settings)"
                )
                continue
            table = [[_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
            if not table:
                continue
            header = [h.lower() for h in table[0]]
            for number, row in enumerate(table[1:], start=2):
                for column, value in zip(header, row, strict=False):
                    if not value or not column or column in allowed[sheet_name]:
                        continue
                    reason = (
                        "translations are not supported"
                        if "::" in column and column.split("::")[0] in ("label", "hint")
                        else f"column '{column}' is not supported"
                    )
                    problems.append(f"{sheet_name} row {number}: {reason}")
                if sheet_name == "survey" and "name" in header:
                    name = row[header.index("name")] if header.index("name") < len(row) else ""
                    if name:
                        rows.setdefault(name, number)
    finally:
        book.close()
    return rows, problems


def _parse_with_pyxform(content: bytes, filename: str) -> dict[str, Any]:
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import parse_file_to_json

    fd, path = tempfile.mkstemp(suffix=".xlsx")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        return parse_file_to_json(
            path, default_name=re.sub(r"\W", "_", filename)[:40] or "form", warnings=[]
        )
    except PyXFormError as exc:
        raise _refuse([str(exc).strip()[:500]]) from exc
    except (ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        raise _refuse(
            [f"pyxform could not read the form ({exc.__class__.__name__}: {str(exc)[:200]})"]
        ) from exc
    finally:
        os.unlink(path)


def _where(child: dict[str, Any], rows: dict[str, int]) -> str:
    name = child.get("name", "?")
    row = rows.get(name)
    return f"survey row {row} ('{name}')" if row else f"question '{name}'"


def _required(raw: Any) -> bool | None:
    text = _cell(raw).lower()
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    return None


def _condition(expr: str) -> dict[str, str] | None:
    match = _RELEVANT_EQ.match(expr) or _RELEVANT_SELECTED.match(expr)
    return {"question": match.group(1), "equals": match.group(3)} if match else None


def _bounds(expr: str) -> tuple[int | None, int | None] | None:
    lo = hi = None
    for part in re.split(r"\s+and\s+", expr.strip()):
        match = _BOUND.match(part)
        if not match:
            return None
        op, number = match.group(1), int(match.group(2))
        if op == ">=":
            lo = number
        elif op == ">":
            lo = number + 1
        elif op == "<=":
            hi = number
        else:
            hi = number - 1
    return lo, hi


def _convert(
    child: dict[str, Any], rows: dict[str, int]
) -> tuple[dict[str, Any] | None, list[str]]:
    """One pyxform child as a question, or the reasons it is refused."""
    where = _where(child, rows)
    kind = child.get("type", "")
    problems: list[str] = []
    supported = {"select one", "select all that apply", "integer", "text"}
    if kind in ("group", "repeat"):
        return None, [f"{where}: {kind}s are not supported (put questions at the top level)"]
    if kind not in supported:
        return None, [
            f"{where}: type '{kind}' is not supported (use select_one, select_multiple, integer or text)"
        ]
    for key in sorted(set(child) - CHILD_KEYS):
        problems.append(f"{where}: '{key}' is not supported")
    if child.get("parameters"):
        problems.append(f"{where}: parameters are not supported")
    label = child.get("label")
    if not isinstance(label, str) or not label.strip():
        problems.append(f"{where}: a label is required (translations are not supported)")
        label = ""
    hint = child.get("hint")
    if hint is not None and not isinstance(hint, str):
        problems.append(f"{where}: translated hints are not supported")
        hint = None
    question: dict[str, Any] = {"name": child.get("name"), "label": label.strip(), "hint": hint}
    bind = dict(child.get("bind") or {})
    required = _required(bind.pop("required", ""))
    if required is None:
        problems.append(f"{where}: required must be yes or no (expressions are not supported)")
    question["required"] = bool(required)
    relevant = bind.pop("relevant", None)
    if relevant:
        condition = _condition(relevant)
        if condition is None:
            problems.append(
                f"{where}: relevant {relevant!r} is not supported (only ${{q}} = 'value' or selected(${{q}}, 'value'))"
            )
        question["show_if"] = condition
    constraint = bind.pop("constraint", None)
    for key in sorted(bind):
        problems.append(f"{where}: '{key}' is not supported")
    appearance = _cell((child.get("control") or {}).get("appearance"))
    extra_control = set(child.get("control") or {}) - {"appearance"}
    if extra_control:
        problems.append(f"{where}: {', '.join(sorted(extra_control))} not supported")
    if appearance and not (appearance == "likert" and kind == "select one"):
        problems.append(
            f"{where}: appearance '{appearance}' is not supported (only likert on select_one)"
        )

    def refuse_constraint(expected: str) -> None:
        problems.append(f"{where}: constraint {constraint!r} is not supported (only {expected})")

    itemset = _cell(child.get("itemset"))
    if kind in ("select one", "select all that apply") and re.search(
        r"\.(csv|xml|geojson)$", itemset
    ):
        return None, [f"{where}: choices from a file ({itemset}) are not supported"]
    if kind in ("select one", "select all that apply"):
        choices = [
            {"value": _cell(c.get("name")), "label": c.get("label")}
            for c in child.get("choices") or []
        ]
        if any(not isinstance(c["label"], str) for c in choices):
            problems.append(
                f"{where}: choice labels must be plain text (translations are not supported)"
            )
            choices = [{**c, "label": str(c["label"])} for c in choices]
        values = [c["value"] for c in choices]
        if kind == "select all that apply":
            question["type"] = "multiple_choice"
            question["choices"] = choices
            if constraint:
                match = _COUNT_SELECTED.match(constraint)
                if match:
                    question["max_choices"] = int(match.group(1))
                else:
                    refuse_constraint("count-selected(.) <= N")
        else:
            if constraint:
                refuse_constraint("none on select_one")
            if appearance == "likert":
                if values != ["1", "2", "3", "4", "5"]:
                    problems.append(
                        f"{where}: a likert scale needs five choices named 1, 2, 3, 4, 5 in order"
                    )
                question["type"] = "scale5"
                question["choices"] = choices
            elif sorted(values) == ["no", "yes"]:
                question["type"] = "yes_no"
            else:
                question["type"] = "single_choice"
                question["choices"] = choices
    elif kind == "integer":
        question["type"] = "integer"
        lo, hi = DEFAULT_INTEGER_BOUNDS
        if constraint:
            bounds = _bounds(constraint)
            if bounds is None:
                refuse_constraint(". >= A and . <= B")
            else:
                lo = bounds[0] if bounds[0] is not None else lo
                hi = bounds[1] if bounds[1] is not None else hi
        question["min_value"], question["max_value"] = lo, hi
    else:
        question["type"] = "text"
        if constraint:
            match = _STRING_LENGTH.match(constraint)
            if match and 1 <= int(match.group(1)) <= 2000:
                question["max_length"] = int(match.group(1))
            else:
                refuse_constraint("string-length(.) <= N with N from 1 to 2000")
    return (None if problems else question), problems


def _is_pyxform_meta(child: dict[str, Any]) -> bool:
    """The ``meta`` group pyxform adds itself (instanceID only), not a row of the form."""
    return bool(
        child.get("name") == "meta"
        and child.get("type") == "group"
        and (child.get("control") or {}).get("bodyless")
        and [c.get("name") for c in child.get("children") or []] == ["instanceID"]
    )


def parse_xlsform(content: bytes, filename: str = "form.xlsx") -> ParsedForm:
    """Questions from an XLSForm workbook; raises ValidationError (422) whose ``errors.file``
    lists each refused row with its reason."""
    if not content:
        raise _refuse(["the uploaded file is empty"])
    if len(content) > MAX_UPLOAD_BYTES:
        raise _refuse([f"the file is larger than {MAX_UPLOAD_BYTES // 1024} KiB"])
    _check_unpacked_size(content)
    with warnings.catch_warnings():
        # openpyxl warns about workbook extras it ignores (data validation, styles); they
        # carry no form logic, and the form logic it does read is checked below.
        warnings.simplefilter("ignore", UserWarning)
        rows, problems = _scan_sheets(content)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            form = _parse_with_pyxform(content, filename)
    except ValidationError as exc:
        raise _refuse(problems + list(exc.errors.get("file", []))) from exc
    questions: list[dict[str, Any]] = []
    for child in form.get("children") or []:
        if _is_pyxform_meta(child):
            continue
        if child.get("name") == "meta" and child.get("type") == "group":
            for meta in child.get("children") or []:
                if meta.get("name") != "instanceID":
                    problems.append(
                        f"{_where(meta, rows)}: metadata '{meta.get('type')}' is not supported"
                    )
            continue
        question, refused = _convert(child, rows)
        problems.extend(refused)
        if question:
            questions.append(question)
    if problems:
        raise _refuse(problems)
    if not questions:
        raise _refuse(["the survey sheet has no questions"])
    title = form.get("title") if isinstance(form.get("title"), str) else None
    return ParsedForm(
        title=(title or filename.rsplit(".", 1)[0])[:200], questions=questions, rows=rows
    )


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    """Nested marshmallow messages as ``"choices.0.value: message"`` lines."""
    if isinstance(messages, dict):
        out: list[str] = []
        for key, value in messages.items():
            out.extend(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(messages, list):
        return [f"{prefix}: {m}" if prefix else str(m) for m in messages]
    return [f"{prefix}: {messages}"]


def schema_error_with_rows(exc: SchemaError, parsed: ParsedForm) -> ValidationError:
    """The survey-level check's errors, with question problems pointed at their rows."""
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    errors: dict[str, Any] = {}
    file_problems: list[str] = []
    for key, value in messages.items():
        if key.startswith("questions."):
            name = key.split(".", 1)[1]
            row = parsed.rows.get(name)
            where = f"survey row {row} ('{name}')" if row else f"question '{name}'"
            file_problems.extend(f"{where}: {m}" for m in value)
        elif key == "questions" and isinstance(value, dict):
            for index, problems in value.items():
                name = parsed.questions[int(index)]["name"] if str(index).isdigit() else index
                row = parsed.rows.get(name)
                file_problems.extend(
                    f"survey row {row} ('{name}'): {m}" for m in _flatten(problems)
                )
        else:
            errors[key] = value
    if file_problems:
        errors["file"] = file_problems
    first_key = next(iter(errors))
    first = errors[first_key][0] if isinstance(errors[first_key], list) else "invalid"
    return ValidationError(f"{first_key}: {first}", errors=errors)
