"""XLSForm (.xlsx) to a SafeHaven survey, via pyxform; anything unsupported is refused with
its sheet, rows and column and what to change, once per cause, never dropped.

Supported (``survey`` + ``choices`` sheets, optional ``settings`` with form_title, form_id,
version, default_language; any other sheet that pyxform itself ignores is ignored):
  * ``select_one LIST`` -> single_choice; a list whose choices are exactly ``yes`` and ``no``
    -> yes_no; with ``appearance`` = ``likert`` and five choices named 1..5 -> scale5 (the
    choice labels become the scale labels). ``select_one LIST or_other`` adds the "Other"
    choice and the "Specify other." text question pyxform makes, shown only for "other".
  * ``select_multiple LIST`` -> multiple_choice; ``constraint`` ``count-selected(.) <= N``
    -> at most N choices
  * ``rank LIST`` -> rank (every choice in the resident's order)
  * ``integer`` / ``decimal`` -> integer / decimal; ``constraint`` ``. >= A and . <= B``
    gives the bounds (integer without one: 0..1000000; decimal without one: unbounded)
  * ``range`` -> range; ``parameters`` ``start=A end=B step=S`` (pyxform's defaults 1, 10, 1)
  * ``date`` ("YYYY-MM-DD"), ``time`` ("HH:MM", UK local), ``note`` (a label, no answer)
  * ``text`` -> free text, 500 characters unless ``constraint`` ``string-length(.) <= N``
  * ``begin group``/``end group`` -> a section with the group's label as its heading and its
    ``relevant`` as the section's condition. A group inside a group is flattened: its
    questions take the inner group's heading, and a condition on either level applies (if
    both levels have one, the form is refused: combine them into one group). Questions of
    the outer group after the inner one go in a continuation section with the outer heading.
  * appearances that only change the look (minimal, horizontal, compact, columns, quick,
    multiline, numbers, thousands-sep, vertical, no-ticks) are accepted and ignored
  * ``required`` yes/no/true/false; ``hint``; ``relevant`` of the simple form
    ``${q} = 'value'`` or ``selected(${q}, 'value')``
  * Languages: ``label::English (en)``, ``hint::Polski (pl)``, choices ``label::...`` (one
    colon works too, as older forms write it). Any language: its code comes from the
    brackets, or the name is looked up (``label::Polish`` -> pl). The default language is
    ``settings.default_language``, else the plain ``label`` column (read as English when it
    stands next to translated columns), else the first language on the survey sheet.
KoboToolbox's bookkeeping columns (``$kuid``, ``$autoname``...) are ignored.
Refused: repeats and loops, location types (geopoint, geotrace, geoshape, osm: a survey must
not collect residents' positions without a purpose), file/image/audio/video/barcode, phone
numbers, metadata (start, end, deviceid...), calculations and hidden values, choices from a
file or an external list, choice filters, media columns, defaults, custom messages, other
appearances, constraints and relevance expressions, and unknown settings.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError as SchemaError

from backend.errors import ValidationError

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_UNPACKED_BYTES = 40 * 1024 * 1024  # a small .xlsx that unpacks to more is refused (zip bomb)
DEFAULT_INTEGER_BOUNDS = (0, 1_000_000)
TRANSLATABLE = {"label", "hint"}
MEDIA_COLUMNS = {"image", "audio", "video", "big-image", "media"}
MESSAGE_COLUMNS = {"constraint_message", "required_message", "guidance_hint"}
SURVEY_COLUMNS = {
    "type",
    "name",
    "label",
    "hint",
    "required",
    "relevant",
    "constraint",
    "appearance",
    "parameters",
}
CHOICES_COLUMNS = {"list_name", "list name", "name", "label"}
SETTINGS_COLUMNS = {"form_title", "form_id", "version", "default_language"}
CHILD_KEYS = {"type", "name", "label", "hint", "bind", "control", "parameters", "itemset"}
CHILD_KEYS |= {"list_name", "choices", "children"}
TRUE_VALUES = {"yes", "true", "true()"}
FALSE_VALUES = {"no", "false", "false()", ""}
GROUP_APPEARANCES = {"field-list", "table-list"}
# Appearances that change only how a question looks in ODK/Enketo, not what it asks or what
# its answer means: accepted, and the app draws its own widget.
LOOK_ONLY_APPEARANCES = {
    "minimal",
    "horizontal",
    "horizontal-compact",
    "compact",
    "columns",
    "columns-pack",
    "quick",
    "multiline",
    "numbers",
    "thousands-sep",
    "vertical",
    "no-ticks",
}
DEFAULT_KEY = "default"  # pyxform's key for text in a column without a language
ASSUMED_PLAIN_LANGUAGE = ("en", "English")
OTHER_LABEL = "Specify other."
# pyxform's bind and control keys -> the survey column they come from.
BIND_COLUMNS = {
    "jr:constraintMsg": "constraint_message",
    "jr:requiredMsg": "required_message",
    "calculate": "calculation",
    "readonly": "read_only",
}

_RELEVANT_EQ = re.compile(r"^\s*\$\{([A-Za-z_][A-Za-z0-9_]*)\}\s*=\s*(['\"])([^'\"]+)\2\s*$")
_RELEVANT_SELECTED = re.compile(
    r"^\s*selected\(\s*\$\{([A-Za-z_][A-Za-z0-9_]*)\}\s*,\s*(['\"])([^'\"]+)\2\s*\)\s*$"
)
_OTHER_RELEVANT = re.compile(r"^selected\(\.\./([A-Za-z_][A-Za-z0-9_]*), 'other'\)$")
_COUNT_SELECTED = re.compile(r"^\s*count-selected\(\s*\.\s*\)\s*<=\s*(\d+)\s*$")
_STRING_LENGTH = re.compile(r"^\s*string-length\(\s*\.\s*\)\s*<=\s*(\d+)\s*$")
_BOUND = re.compile(r"^\s*\.\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")
_LANGUAGE = re.compile(r"^(?P<name>.*?)\s*\((?P<code>[^()]+)\)\s*$")

# Refused question types, grouped by cause: (types, what to say).
LOCATION_TYPES = {
    "geopoint",
    "geotrace",
    "geoshape",
    "osm",
    "start-geopoint",
    "start geopoint",
    "background-geopoint",
}
MEDIA_TYPES = {
    "image",
    "photo",
    "audio",
    "video",
    "file",
    "background-audio",
    "background-video",
    "barcode",
}
METADATA_TYPES = {
    "start",
    "end",
    "today",
    "deviceid",
    "subscriberid",
    "simserial",
    "phonenumber",
    "username",
    "email",
    "audit",
    "imei",
}
REFUSED_TYPES: list[tuple[set[str], str]] = [
    (
        {"repeat", "loop"},
        "repeats and loops are not supported: each resident answers each question once; ask for a"
        " number (integer) or a list (select_multiple) instead",
    ),
    (
        LOCATION_TYPES,
        "location questions (geopoint, geotrace, geoshape, osm) are not supported: a survey"
        " must not collect residents'"
        " positions without a purpose; ask for the area with select_one instead",
    ),
    (
        MEDIA_TYPES,
        "file, photo, sound, video and barcode questions are not supported: the survey"
        " takes no uploads; remove the row",
    ),
    (
        {"phone number"},
        "phone numbers are not asked: survey answers are kept apart from who gave them;"
        " remove the row",
    ),
    (
        METADATA_TYPES,
        "metadata is not collected: answers carry no device, account or timing details;"
        " remove the row",
    ),
    (
        {"include"},
        "including another form is not supported: copy its rows into this survey sheet",
    ),
    (
        {"calculate", "hidden", "xml-external", "csv-external"},
        "calculations and hidden values are not supported: remove the row",
    ),
    (
        {"datetime", "dateTime".lower()},
        "date-and-time questions are not supported: ask a date and a time as two questions",
    ),
]


# ---- collecting problems, once per cause --------------------------------------------------


def _rows_text(rows: list[int]) -> str:
    """'3', '3 and 7', '3-5, 9' for sorted unique rows."""
    rows = sorted(set(rows))
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and row == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    parts: list[str] = []
    for a, b in runs:
        parts += [str(a)] if a == b else [str(a), str(b)] if b == a + 1 else [f"{a}-{b}"]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


@dataclass
class Problems:
    """Refusals keyed by cause (sheet, column, message): each is said once, with its rows."""

    causes: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    plain: list[str] = field(default_factory=list)
    count: int = 0  # every add, repeated causes too
    scanned_rows: set[int] = field(default_factory=set)  # survey rows the column scan named

    def add(self, sheet: str, row: int | None, column: str, message: str) -> None:
        self.count += 1
        rows = self.causes.setdefault((sheet, column, message), [])
        if row is not None:
            rows.append(row)

    def say(self, message: str) -> None:
        self.count += 1
        if message not in self.plain:
            self.plain.append(message)

    def lines(self) -> list[str]:
        out = list(self.plain)
        for (sheet, column, message), rows in self.causes.items():
            where = sheet
            if rows:
                where += f" row{'s' if len(set(rows)) > 1 else ''} {_rows_text(rows)}"
            if column:
                where += f", column '{column}'"
            out.append(f"{where}: {message}")
        return out

    def __bool__(self) -> bool:
        return bool(self.causes or self.plain)


def _refuse(problems: list[str]) -> ValidationError:
    return ValidationError(
        f"XLSForm refused: {problems[0]}"
        + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
        errors={"file": problems},
    )


# ---- reading the workbook -------------------------------------------------------------------


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


def canonical_column(header: str) -> str:
    """A column as pyxform reads it: ``LABEL:English (en)`` -> ``label::English (en)``,
    ``media::image::Polski`` -> ``media::image::Polski``; others lower-cased base only."""
    text = header.strip()
    lower = text.lower()
    if lower.startswith("media::"):
        kind, _, rest = text[7:].partition("::")
        return f"media::{kind.lower()}" + (f"::{rest.strip()}" if rest.strip() else "")
    base, sep, rest = text.partition(":")
    rest = rest.lstrip(":").strip()
    if sep and rest and base.strip().lower() in TRANSLATABLE | MEDIA_COLUMNS | MESSAGE_COLUMNS:
        return f"{base.strip().lower()}::{rest}"
    return text if sep else lower


def _column_base(column: str) -> str:
    base = column.split("::")[0].strip().lower()
    return "media" if base == "media" else base


def _read(content: bytes) -> Any:
    """pyxform's reading of the workbook (``DefinitionData``), columns made canonical."""
    from pyxform.errors import PyXFormError, PyXFormReadError
    from pyxform.xls2json_backends import get_xlsform

    try:
        with warnings.catch_warnings():
            # openpyxl warns about workbook extras it ignores (data validation, styles).
            warnings.simplefilter("ignore", UserWarning)
            data = get_xlsform(io.BytesIO(content))
    except (PyXFormReadError, PyXFormError, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise _refuse([f"not a readable .xlsx workbook ({str(exc)[:200]})"]) from exc
    for sheet in ("survey", "choices", "settings"):
        for attr in (sheet, f"{sheet}_header"):
            rows = getattr(data, attr, None)
            if rows:
                setattr(
                    data,
                    attr,
                    [
                        {canonical_column(k): v for k, v in row.items() if not _bookkeeping(k)}
                        for row in rows
                    ],
                )
    return data


def _bookkeeping(column: str) -> bool:
    """KoboToolbox's own columns ($kuid, $autoname, $given_name...): ids it keeps for itself,
    no part of the form."""
    return column.strip().startswith("$")


def _columns(data: Any, sheet: str) -> list[str]:
    header = getattr(data, f"{sheet}_header", None) or []
    return [k for h in header for k in h]


def _scan_columns(data: Any, problems: Problems) -> None:
    """Sheets and columns SafeHaven does not read, one line per column with its rows."""
    names = [n.strip().lower() for n in data.sheet_names or []]
    if "survey" not in names and not data.survey:
        problems.say("the workbook has no 'survey' sheet")
    sheet_causes = {
        "external_choices": "external choices are not supported: list the choices on the"
        " choices sheet",
        "entities": "entities are not supported: remove the sheet",
        "osm": "OSM questions are not supported: a survey must not collect residents'"
        " positions without a purpose; remove the sheet",
    }
    for name in names:
        if name in sheet_causes and (
            getattr(data, name, None) or getattr(data, f"{name}_header", None)
        ):
            problems.say(f"sheet '{name}': {sheet_causes[name]}")
    allowed = {"survey": SURVEY_COLUMNS, "choices": CHOICES_COLUMNS, "settings": SETTINGS_COLUMNS}
    for sheet, columns in allowed.items():
        for number, row in enumerate(getattr(data, sheet, None) or [], start=2):
            for column, value in row.items():
                if not _cell(value):
                    continue
                base = _column_base(column)
                if base in columns and (base in TRANSLATABLE or "::" not in column):
                    continue
                problems.add(sheet, number, column, _column_cause(sheet, base, column))
                if sheet == "survey":
                    problems.scanned_rows.add(number)


def _column_cause(sheet: str, base: str, column: str) -> str:
    if base in MEDIA_COLUMNS:
        return "media are not supported: the survey shows text only; remove the column"
    if base in MESSAGE_COLUMNS:
        return (
            "custom messages are not supported: the app says what is wrong in the resident's"
            " language; remove the column"
        )
    if base == "choice_filter":
        return (
            "filtered choices are not supported: give the question its own list on the"
            " choices sheet; remove the column"
        )
    if base == "calculation":
        return "calculations are not supported: remove the column and its calculate rows"
    if base == "default":
        return "default answers are not supported: residents give their own; remove the column"
    if base in ("repeat_count", "repeat count"):
        return "repeats are not supported: remove the column"
    if sheet == "choices":
        return (
            "extra choice columns are not supported (a choice is its list_name, name and"
            " label); remove the column"
        )
    if sheet == "settings":
        return (
            f"setting '{column}' is not supported (only {', '.join(sorted(SETTINGS_COLUMNS))});"
            " remove it"
        )
    return f"column '{column}' is not supported: remove it"


# ---- languages ------------------------------------------------------------------------------


def _resolve_language(text: str) -> tuple[str, str] | None:
    """``(code, name)`` for a language as a form names it, or None if it cannot be told."""
    import langcodes

    text = text.strip()
    match = _LANGUAGE.match(text)
    if match and langcodes.tag_is_valid(match.group("code").strip()):
        code = langcodes.standardize_tag(match.group("code").strip())
        name = match.group("name").strip() or langcodes.Language.get(code).display_name()
        return code, name
    if langcodes.tag_is_valid(text):
        code = langcodes.standardize_tag(text)
        return code, langcodes.Language.get(code).display_name()
    try:
        code = langcodes.find(text).to_tag()
    except LookupError:
        return None
    return code, text[:1].upper() + text[1:]


@dataclass
class Languages:
    """The form's languages: pyxform's key (the text after ``::``) -> (code, name)."""

    by_key: dict[str, tuple[str, str]] = field(default_factory=dict)
    default_key: str | None = None

    @property
    def codes(self) -> list[dict[str, str]]:
        """The languages, the default first, then in the order of the sheets' columns."""
        seen: dict[str, str] = {}
        if self.default_key in self.by_key:
            code, name = self.by_key[self.default_key]
            seen[code] = name
        for code, name in self.by_key.values():
            seen.setdefault(code, name)
        return [{"code": c, "name": n} for c, n in seen.items()]

    @property
    def default_code(self) -> str | None:
        return self.by_key[self.default_key][0] if self.default_key in self.by_key else None

    def split(self, text: Any) -> tuple[str | None, dict[str, str]]:
        """(default-language text, {code: text} for the others) of a label or hint."""
        if text is None:
            return None, {}
        if isinstance(text, str):
            return text.strip() or None, {}
        base = None
        others: dict[str, str] = {}
        default_code = self.default_code
        for key, value in text.items():
            value = _cell(value)
            if not value:
                continue
            if key == self.default_key or (key == DEFAULT_KEY and self.default_key is None):
                base = value
            elif key in self.by_key:
                others.setdefault(self.by_key[key][0], value)
        # A second column in the default language (a plain "label" read as English beside
        # "label::English (en)") fills the default text where the first is empty.
        fallback = others.pop(default_code, None) if default_code else None
        return base or fallback, others


def _languages(data: Any, problems: Problems) -> Languages:
    keys: list[str] = []
    for sheet in ("survey", "choices"):
        for column in _columns(data, sheet):
            base, _, key = column.partition("::")
            if base in TRANSLATABLE and key and key not in keys:
                keys.append(key.strip())
    plain = any(c in TRANSLATABLE for c in _columns(data, "survey"))
    settings = (data.settings or [{}])[0] if data.settings else {}
    chosen = _cell(settings.get("default_language")) or None
    found = Languages()
    for key in keys:
        resolved = _resolve_language(key)
        if resolved is None:
            problems.add(
                "survey",
                1,
                f"label::{key}",
                f"cannot tell which language '{key}' is: write it with its code, as in"
                " 'label::Polski (pl)'",
            )
        else:
            found.by_key[key] = resolved
    if chosen:
        resolved = _resolve_language(chosen)
        if resolved is None:
            problems.add(
                "settings",
                2,
                "default_language",
                f"cannot tell which language '{chosen}' is: write it as in 'English (en)'",
            )
            return found
        # pyxform reads plain columns as the default language when settings name it.
        match = next((k for k, v in found.by_key.items() if v[0] == resolved[0]), None)
        if match is None and keys and not plain:
            problems.add(
                "settings",
                2,
                "default_language",
                f"'{chosen}' is not one of the form's languages"
                f" ({', '.join(keys)}): name one of them",
            )
            found.default_key = keys[0]  # read on, so other problems are named too
            return found
        found.default_key = match or chosen
        found.by_key.setdefault(found.default_key, resolved)
    elif plain and keys:
        found.default_key = DEFAULT_KEY
        found.by_key[DEFAULT_KEY] = ASSUMED_PLAIN_LANGUAGE
    elif keys and keys[0] in found.by_key:
        found.default_key = keys[0]
    return found


# ---- pyxform's JSON to questions ------------------------------------------------------------


def _parse_with_pyxform(data: Any, filename: str, default_key: str | None) -> dict[str, Any]:
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import workbook_to_json

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return workbook_to_json(
                workbook_dict=data,
                form_name=re.sub(r"\W", "_", filename)[:40] or "form",
                fallback_form_name=data.fallback_form_name,
                default_language=default_key or DEFAULT_KEY,
                warnings=[],
            )
    except PyXFormError as exc:
        raise _refuse([str(exc).strip()[:500]]) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise _refuse(
            [f"pyxform could not read the form ({exc.__class__.__name__}: {str(exc)[:200]})"]
        ) from exc


@dataclass
class ParsedForm:
    """What an XLSForm gave: the survey's fields in the shared schema's shape, and rows."""

    title: str
    questions: list[dict[str, Any]]
    rows: dict[str, int] = field(default_factory=dict)
    sections: list[dict[str, Any]] = field(default_factory=list)
    languages: list[dict[str, str]] = field(default_factory=list)
    default_language: str | None = None
    title_translations: dict[str, str] = field(default_factory=dict)
    section_rows: dict[str, int] = field(default_factory=dict)

    def survey_fields(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "sections": self.sections,
            "languages": self.languages,
            "default_language": self.default_language,
            "title_translations": self.title_translations,
        }


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


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def _bounds(expr: str, whole: bool) -> tuple[Any, Any] | None:
    lo = hi = None
    for part in re.split(r"\s+and\s+", expr.strip()):
        match = _BOUND.match(part)
        if not match:
            return None
        op, number = match.group(1), _number(match.group(2))
        if op in (">", "<") and not (whole and isinstance(number, int)):
            return None  # a strict bound on a decimal cannot be written as an inclusive one
        if whole and not isinstance(number, int):
            return None
        if op == ">=":
            lo = number
        elif op == ">":
            lo = number + 1
        elif op == "<=":
            hi = number
        else:
            hi = number - 1
    return lo, hi


class _Walker:
    """Walks pyxform's children in sheet order, gathering questions, sections and problems."""

    def __init__(self, data: Any, languages: Languages, problems: Problems) -> None:
        self.languages = languages
        self.problems = problems
        self.questions: list[dict[str, Any]] = []
        self.sections: list[dict[str, Any]] = []
        self.rows: dict[str, int] = {}
        self.section_rows: dict[str, int] = {}
        self._row_queue: dict[str, deque[int]] = defaultdict(deque)
        for number, row in enumerate(data.survey or [], start=2):
            name = _cell(row.get("name"))
            if name:
                self._row_queue[name].append(number)
        self._label_columns = [c for c in _columns(data, "survey") if _column_base(c) == "label"]
        self._bases = {_column_base(c) for c in _columns(data, "survey")}
        self._choice_rows: dict[tuple[str, str], int] = {}
        for number, row in enumerate(data.choices or [], start=2):
            key = (_cell(row.get("list_name") or row.get("list name")), _cell(row.get("name")))
            self._choice_rows.setdefault(key, number)

    def row_of(self, child: dict[str, Any]) -> int | None:
        queue = self._row_queue.get(child.get("name", ""))
        return queue.popleft() if queue else None

    def add(self, row: int | None, column: str, message: str) -> None:
        self.problems.add("survey", row, column, message)

    # -- groups ------------------------------------------------------------------------------

    def walk(self, children: list[dict[str, Any]], stack: list[dict[str, Any]]) -> None:
        """``stack``: the enclosing groups, outermost first, each {"name", "label",
        "translations", "show_if", "row"}."""
        current: dict[str, Any] | None = None
        for child in children:
            kind = child.get("type", "")
            if _is_pyxform_meta(child):
                continue
            if child.get("name") == "meta" and kind == "group":
                # pyxform's own meta group: its instanceID is pyxform's, an entity comes from
                # the entities sheet (refused there); anything else is a metadata row.
                extra = [
                    c
                    for c in child.get("children") or []
                    if c.get("name") != "instanceID" and c.get("type") != "entity"
                ]
                for meta in extra:
                    self.question(meta, self.row_of(meta))
                continue
            if kind == "group":
                self.group(child, stack)
                current = None  # the enclosing group's questions resume in a new section
                continue
            if stack and current is None:
                current = self.open_section(stack)
            row = None if self._generated_other(child) else self.row_of(child)
            question = self.question(child, row)
            if question is None:
                continue
            question["section"] = current["name"] if current else None
            self.questions.append(question)
            if row is not None:
                self.rows.setdefault(question["name"], row)

    def group(self, child: dict[str, Any], stack: list[dict[str, Any]]) -> None:
        row = self.row_of(child)
        control = child.get("control") or {}
        appearance = _cell(control.get("appearance"))
        if appearance and appearance not in GROUP_APPEARANCES:
            self.add(
                row,
                "appearance",
                f"group appearance '{appearance}' is not supported (only field-list, table-list)",
            )
        bind = dict(child.get("bind") or {})
        relevant = bind.pop("relevant", None)
        show_if = None
        if relevant:
            show_if = _condition(relevant)
            if show_if is None:
                self.relevant_problem(row, relevant)
        for key in sorted(bind):
            self.add(row, key, f"'{key}' on a group is not supported: remove it")
        label, translations = self.languages.split(child.get("label"))
        level = {
            "name": child.get("name"),
            "label": label or _heading(child.get("name", "")),
            "translations": {c: {"label": t} for c, t in translations.items()},
            "show_if": show_if,
            "row": row,
        }
        if show_if and any(g["show_if"] for g in stack):
            self.add(
                row,
                "relevant",
                "a group with relevant inside another group with relevant is not supported:"
                " combine the conditions into one group",
            )
        self.walk(child.get("children") or [], [*stack, level])

    def open_section(self, stack: list[dict[str, Any]]) -> dict[str, Any]:
        inner = stack[-1]
        show_if = next((g["show_if"] for g in reversed(stack) if g["show_if"]), None)
        taken = {s["name"] for s in self.sections}
        name, n = inner["name"], 2
        while name in taken:
            name, n = f"{inner['name'][:58]}_{n}", n + 1
        section = {
            "name": name,
            "label": inner["label"],
            "translations": inner["translations"],
            "show_if": show_if,
        }
        self.sections.append(section)
        if inner["row"] is not None:
            self.section_rows.setdefault(name, inner["row"])
        return section

    # -- questions ---------------------------------------------------------------------------

    def _generated_other(self, child: dict[str, Any]) -> bool:
        """The "Specify other." question pyxform adds after an ``or_other`` select."""
        relevant = _cell((child.get("bind") or {}).get("relevant"))
        match = _OTHER_RELEVANT.match(relevant)
        return bool(
            match
            and child.get("name") == f"{match.group(1)}_other"
            and child.get("type") == "text"
            and child.get("label") == OTHER_LABEL
        )

    def relevant_problem(self, row: int | None, relevant: str) -> None:
        self.add(
            row,
            "relevant",
            f"relevant {relevant!r} is not supported: write ${{q}} = 'value' or"
            " selected(${q}, 'value')",
        )

    def question(self, child: dict[str, Any], row: int | None) -> dict[str, Any] | None:
        kind = child.get("type", "")
        for kinds, message in REFUSED_TYPES:
            if kind.lower() in kinds:
                self.add(row, "type", message)
                return None
        if self._generated_other(child):
            match = _OTHER_RELEVANT.match(child["bind"]["relevant"])
            assert match is not None  # noqa: S101 - checked by _generated_other
            return {
                "name": child["name"],
                "label": OTHER_LABEL,
                "type": "text",
                "required": False,
                "show_if": {"question": match.group(1), "equals": "other"},
            }
        itemset = _cell(child.get("itemset"))
        if re.search(r"\.(csv|xml|geojson)$", itemset) or kind.endswith("external"):
            self.add(
                row,
                "type",
                "choices from a file or an external list are not supported: list them on"
                " the choices sheet",
            )
            return None
        converters = {
            "select one": self.select_one,
            "select all that apply": self.select_multiple,
            "rank": self.rank,
            "integer": self.integer,
            "decimal": self.decimal,
            "range": self.range,
            "date": self.plain,
            "time": self.plain,
            "note": self.plain,
            "text": self.text,
        }
        if kind not in converters:
            self.add(
                row,
                "type",
                f"type '{kind}' is not supported (use select_one, select_multiple, rank,"
                " integer, decimal, range, date, time, text or note)",
            )
            return None
        before = self.problems.count
        question = self.common(child, row)
        converters[kind](child, row, question)
        return question if self.problems.count == before else None

    def unread(self, row: int | None, key: str) -> None:
        """A part of a question SafeHaven does not read: said by the column scan when it came
        from a column of the sheet, said here otherwise."""
        column = BIND_COLUMNS.get(key, key)
        if row is not None and row in self.problems.scanned_rows:
            self.problems.count += 1  # the scan said it; the question is still refused
        else:
            self.add(row, column, f"'{column}' is not supported: remove it")

    def common(self, child: dict[str, Any], row: int | None) -> dict[str, Any]:
        for key in sorted(set(child) - CHILD_KEYS):
            self.unread(row, key)
        label, label_tr = self.languages.split(child.get("label"))
        hint, hint_tr = self.languages.split(child.get("hint"))
        if not label:
            self.add(
                row,
                self.default_label_column(),
                "a question needs a label in the default language: write one",
            )
        translations: dict[str, dict[str, Any]] = {}
        for code, text in label_tr.items():
            translations.setdefault(code, {})["label"] = text
        for code, text in hint_tr.items():
            translations.setdefault(code, {})["hint"] = text
        question: dict[str, Any] = {
            "name": child.get("name"),
            "label": (label or "")[:500],
            "hint": hint,
            "type": child.get("type"),
            "translations": translations,
        }
        bind = dict(child.get("bind") or {})
        bind.pop("type", None)  # the XForm data type pyxform derives from the question type
        required = _required(bind.pop("required", ""))
        if required is None:
            self.add(row, "required", "required must be yes or no (expressions are not supported)")
        question["required"] = bool(required)
        relevant = bind.pop("relevant", None)
        if relevant:
            condition = _condition(relevant)
            if condition is None:
                self.relevant_problem(row, relevant)
            question["show_if"] = condition
        question["_constraint"] = bind.pop("constraint", None)
        for key in sorted(bind):
            self.unread(row, key)
        control = dict(child.get("control") or {})
        question["_appearance"] = _cell(control.pop("appearance", None))
        if child.get("type") == "range":
            for key in ("start", "end", "step"):
                control.pop(key, None)
        for key in sorted(control):
            self.unread(row, key)
        if child.get("parameters") and child.get("type") != "range":
            self.add(row, "parameters", "parameters are only read on range questions: remove them")
        return question

    def default_label_column(self) -> str:
        key = self.languages.default_key
        if key and key != DEFAULT_KEY and f"label::{key}" in self._label_columns:
            return f"label::{key}"
        return "label"

    def finish(
        self, question: dict[str, Any], row: int | None, *, appearance_ok: bool = False
    ) -> None:
        words = question.pop("_appearance", "").split()
        refused = [
            w
            for w in words
            if w not in LOOK_ONLY_APPEARANCES and not (appearance_ok and w == "likert")
        ]
        if refused:
            self.add(
                row,
                "appearance",
                f"appearance '{' '.join(refused)}' is not supported on {question['type']}"
                " (likert on select_one, and appearances that only change the look, such as"
                " minimal, horizontal or multiline): remove it",
            )

    def refuse_constraint(self, row: int | None, constraint: str, expected: str) -> None:
        self.add(row, "constraint", f"constraint {constraint!r} is not supported (only {expected})")

    def choices(self, child: dict[str, Any], question: dict[str, Any]) -> list[dict[str, str]]:
        out = []
        for choice in child.get("choices") or []:
            value = _cell(choice.get("name"))
            label, others = self.languages.split(choice.get("label"))
            if not label:
                self.problems.add(
                    "choices",
                    self._choice_rows.get((_cell(child.get("list_name")), value)),
                    self.default_label_column(),
                    "a choice needs a label in the default language: write one",
                )
            out.append({"value": value, "label": (label or value)[:200]})
            for code, text in others.items():
                question["translations"].setdefault(code, {}).setdefault("choices", {})[value] = (
                    text[:200]
                )
        return out

    def select_one(self, child: dict[str, Any], row: int | None, question: dict[str, Any]) -> None:
        constraint = question.pop("_constraint")
        choices = self.choices(child, question)
        values = [c["value"] for c in choices]
        if constraint:
            self.refuse_constraint(row, constraint, "none on select_one")
        likert = "likert" in question.get("_appearance", "").split()
        if likert:
            if values != ["1", "2", "3", "4", "5"]:
                self.add(
                    row,
                    "appearance",
                    "a likert scale needs five choices named 1, 2, 3, 4, 5 in order",
                )
            question["type"] = "scale5"
            question["choices"] = choices
        elif sorted(values) == ["no", "yes"]:
            question["type"] = "yes_no"
        else:
            question["type"] = "single_choice"
            question["choices"] = choices
        self.finish(question, row, appearance_ok=likert)

    def select_multiple(
        self, child: dict[str, Any], row: int | None, question: dict[str, Any]
    ) -> None:
        constraint = question.pop("_constraint")
        question["type"] = "multiple_choice"
        question["choices"] = self.choices(child, question)
        if constraint:
            match = _COUNT_SELECTED.match(constraint)
            if match:
                question["max_choices"] = int(match.group(1))
            else:
                self.refuse_constraint(row, constraint, "count-selected(.) <= N")
        self.finish(question, row)

    def rank(self, child: dict[str, Any], row: int | None, question: dict[str, Any]) -> None:
        constraint = question.pop("_constraint")
        if constraint:
            self.refuse_constraint(row, constraint, "none on rank")
        question["choices"] = self.choices(child, question)
        self.finish(question, row)

    def integer(self, child: dict[str, Any], row: int | None, question: dict[str, Any]) -> None:
        constraint = question.pop("_constraint")
        lo, hi = DEFAULT_INTEGER_BOUNDS
        if constraint:
            bounds = _bounds(constraint, whole=True)
            if bounds is None:
                self.refuse_constraint(row, constraint, ". >= A and . <= B with whole numbers")
            else:
                lo = bounds[0] if bounds[0] is not None else lo
                hi = bounds[1] if bounds[1] is not None else hi
        question["min_value"], question["max_value"] = lo, hi
        self.finish(question, row)

    def decimal(self, child: dict[str, Any], row: int | None, question: dict[str, Any]) -> None:
        constraint = question.pop("_constraint")
        if constraint:
            bounds = _bounds(constraint, whole=False)
            if bounds is None:
                self.refuse_constraint(row, constraint, ". >= A and . <= B")
            else:
                question["min_value"], question["max_value"] = bounds
        self.finish(question, row)

    def range(self, child: dict[str, Any], row: int | None, question: dict[str, Any]) -> None:
        constraint = question.pop("_constraint")
        if constraint:
            self.refuse_constraint(row, constraint, "none on range: use start, end and step")
        params = child.get("parameters") or {}
        try:
            start = _number(_cell(params.get("start")) or "1")
            end = _number(_cell(params.get("end")) or "10")
            step = _number(_cell(params.get("step")) or "1")
        except ValueError:
            self.add(row, "parameters", "start, end and step must be numbers")
            return
        if end < start:
            # ODK draws such a range backwards; the answers are the same grid.
            start, end = end, start
        question["min_value"], question["max_value"], question["step"] = start, end, abs(step)
        self.finish(question, row)

    def plain(self, child: dict[str, Any], row: int | None, question: dict[str, Any]) -> None:
        constraint = question.pop("_constraint")
        if constraint:
            self.refuse_constraint(row, constraint, f"none on {question['type']}")
        if question["type"] == "note" and question.get("required"):
            self.add(row, "required", "a note takes no answer, so it cannot be required")
        self.finish(question, row)

    def text(self, child: dict[str, Any], row: int | None, question: dict[str, Any]) -> None:
        constraint = question.pop("_constraint")
        if constraint:
            match = _STRING_LENGTH.match(constraint)
            if match and 1 <= int(match.group(1)) <= 2000:
                question["max_length"] = int(match.group(1))
            else:
                self.refuse_constraint(
                    row, constraint, "string-length(.) <= N with N from 1 to 2000"
                )
        self.finish(question, row)


def _heading(name: str) -> str:
    return (name.replace("_", " ").strip() or "Section")[:1].upper() + name.replace("_", " ")[1:]


def _is_pyxform_meta(child: dict[str, Any]) -> bool:
    """The ``meta`` group pyxform adds itself (instanceID only), not a row of the form."""
    return bool(
        child.get("name") == "meta"
        and child.get("type") == "group"
        and (child.get("control") or {}).get("bodyless")
        and [c.get("name") for c in child.get("children") or []] == ["instanceID"]
    )


def parse_xlsform(content: bytes, filename: str = "form.xlsx") -> ParsedForm:
    """A survey from an XLSForm workbook; raises ValidationError (422) whose ``errors.file``
    says each refused cause once, with its sheet, rows, column and what to change."""
    if not content:
        raise _refuse(["the uploaded file is empty"])
    if len(content) > MAX_UPLOAD_BYTES:
        raise _refuse([f"the file is larger than {MAX_UPLOAD_BYTES // 1024} KiB"])
    _check_unpacked_size(content)
    data = _read(content)
    problems = Problems()
    _scan_columns(data, problems)
    if "the workbook has no 'survey' sheet" in problems.plain:
        raise _refuse(problems.lines())
    languages = _languages(data, problems)
    try:
        form = _parse_with_pyxform(data, filename, languages.default_key)
    except ValidationError as exc:
        raise _refuse(problems.lines() + list(exc.errors.get("file", []))) from exc
    walker = _Walker(data, languages, problems)
    walker.walk(form.get("children") or [], [])
    if problems:
        raise _refuse(problems.lines())
    if not any(q["type"] != "note" for q in walker.questions):
        raise _refuse(["the survey sheet has no questions"])
    title, title_tr = languages.split(form.get("title"))
    settings = (data.settings or [{}])[0] if data.settings else {}
    if not _cell(settings.get("form_title")):
        title = None
    return ParsedForm(
        title=(title or filename.rsplit(".", 1)[0])[:200],
        questions=walker.questions,
        rows=walker.rows,
        sections=walker.sections,
        languages=languages.codes if languages.default_key else [],
        default_language=languages.default_code,
        title_translations=title_tr,
        section_rows=walker.section_rows,
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


def _add_named(problems: Problems, row: int | None, name: str, message: str) -> None:
    """A definition problem at its row (or, for a question pyxform made, by its name)."""
    if row is None:
        problems.add("survey", None, "", f"'{name}': {message}")
    else:
        problems.add("survey", row, "", message)


def schema_error_with_rows(exc: SchemaError, parsed: ParsedForm) -> ValidationError:
    """The survey-level check's errors, with question and section problems pointed at their
    rows, each cause said once."""
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    errors: dict[str, Any] = {}
    problems = Problems()
    for key, value in messages.items():
        if key.startswith(("questions.", "sections.")):
            kind, name = key.split(".", 1)
            rows = parsed.rows if kind == "questions" else parsed.section_rows
            for message in value:
                _add_named(problems, rows.get(name), name, message)
        elif key in ("questions", "sections") and isinstance(value, dict):
            items = parsed.questions if key == "questions" else parsed.sections
            rows = parsed.rows if key == "questions" else parsed.section_rows
            for index, found in value.items():
                name = items[int(index)]["name"] if str(index).isdigit() else index
                for message in _flatten(found):
                    _add_named(problems, rows.get(name), name, message)
        else:
            errors[key] = value
    if problems:
        errors["file"] = problems.lines()
    first_key = next(iter(errors))
    first = errors[first_key][0] if isinstance(errors[first_key], list) else "invalid"
    return ValidationError(f"{first_key}: {first}", errors=errors)
