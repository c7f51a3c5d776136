"""Consultation surveys: question types, survey and answer schemas, and the per-question
answer validation the server and the phone app both run (marshmallow + stdlib only).

A question is a plain dict as the API shows it (``QuestionSchema``); :func:`validate_answers`
takes the survey's question dicts and a resident's ``{question name: value}`` answers and
returns the cleaned answers or the errors, keyed by question name, so the app can show the
same message the server would send in its 422.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from enum import StrEnum
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared_schemas.common import MAX_INT, UtcDateTime


class SurveyStatus(StrEnum):
    """Where a survey is in its life: authored, taking answers, finished."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class QuestionType(StrEnum):
    """The kinds of question a survey may ask."""

    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    SCALE5 = "scale5"
    YES_NO = "yes_no"
    INTEGER = "integer"
    TEXT = "text"
    NOTE = "note"
    DECIMAL = "decimal"
    DATE = "date"
    TIME = "time"
    RANGE = "range"
    RANK = "rank"


SURVEY_STATUSES = tuple(s.value for s in SurveyStatus)
QUESTION_TYPES = tuple(t.value for t in QuestionType)
# Types whose answers are one of a fixed set of values (usable in conditions and gap pairs).
CATEGORICAL_TYPES = {
    QuestionType.SINGLE_CHOICE.value,
    QuestionType.MULTIPLE_CHOICE.value,
    QuestionType.SCALE5.value,
    QuestionType.YES_NO.value,
}
# Types with a list of choices the author gives.
CHOICE_LIST_TYPES = {
    QuestionType.SINGLE_CHOICE.value,
    QuestionType.MULTIPLE_CHOICE.value,
    QuestionType.RANK.value,
}
# Types answered with a number within min_value..max_value.
NUMBER_TYPES = {QuestionType.INTEGER.value, QuestionType.DECIMAL.value, QuestionType.RANGE.value}
NAME_RE = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
# A BCP 47 language tag as forms write it: "en", "pl", "ur", "pt-BR", "sr-Latn".
LANGUAGE_CODE_RE = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$"
MAX_LANGUAGES = 20
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DEFAULT_TEXT_LENGTH = 500
MAX_TEXT_LENGTH = 2000
DEFAULT_MIN_GROUP_SIZE = 10
YES_NO_CHOICES = [{"value": "yes", "label": "Yes"}, {"value": "no", "label": "No"}]
SCALE5_LABELS = ["1", "2", "3", "4", "5"]
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ChoiceSchema(Schema):
    """One answer option: the stored ``value`` and what the resident reads."""

    value = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[A-Za-z0-9_.-]{1,64}$",
            error="a choice name is 1 to 64 letters, digits, '_', '.' or '-' (no spaces)",
        ),
    )
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))


class Number(fields.Number):  # type: ignore[type-arg]
    """A JSON number kept as given (an int stays an int, a float a float); booleans, text,
    NaN and infinities are refused. (A ``fields.Number`` so OpenAPI says ``number``.)"""

    num_type = float
    default_error_messages = {"invalid": "must be a number"}

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return value

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.make_error("invalid")
        return value


def _bound() -> Number:
    return Number(allow_none=True, validate=validate.Range(-MAX_INT, MAX_INT))


class LanguageSchema(Schema):
    """One language a survey is written in: ``{"code": "pl", "name": "Polish"}``."""

    code = fields.String(required=True, validate=validate.Regexp(LANGUAGE_CODE_RE))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class QuestionTranslationSchema(Schema):
    """A question in one more language; anything missing falls back to the default text."""

    label = fields.String(validate=validate.Length(min=1, max=500))
    hint = fields.String(allow_none=True, validate=validate.Length(max=500))
    choices = fields.Dict(
        keys=fields.String(), values=fields.String(validate=validate.Length(min=1, max=200))
    )


class SectionTranslationSchema(Schema):
    label = fields.String(validate=validate.Length(min=1, max=500))


def _translations(schema: type[Schema]) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.Regexp(LANGUAGE_CODE_RE)),
        values=fields.Nested(schema),
        load_default=dict,
    )  # keys must be the survey's languages (at most MAX_LANGUAGES): definition_problems


class ConditionSchema(Schema):
    """Show the question only if an earlier question's answer is (or includes) ``equals``."""

    question = fields.String(required=True, validate=validate.Regexp(NAME_RE))
    equals = fields.String(required=True, validate=validate.Length(min=1, max=64))


class QuestionSchema(Schema):
    """A question as authored and as shown to the app."""

    name = fields.String(required=True, validate=validate.Regexp(NAME_RE))
    label = fields.String(required=True, validate=validate.Length(min=1, max=500))
    hint = fields.String(allow_none=True, validate=validate.Length(max=500))
    type = fields.String(required=True, validate=validate.OneOf(QUESTION_TYPES))
    required = fields.Boolean(load_default=False)
    choices = fields.List(fields.Nested(ChoiceSchema), validate=validate.Length(max=50))
    min_value = _bound()
    max_value = _bound()
    step = Number(allow_none=True, validate=validate.Range(min=0, min_inclusive=False))
    max_length = fields.Integer(allow_none=True, validate=validate.Range(1, MAX_TEXT_LENGTH))
    max_choices = fields.Integer(allow_none=True, validate=validate.Range(min=1))
    show_if = fields.Nested(ConditionSchema, allow_none=True)
    section = fields.String(allow_none=True, validate=validate.Regexp(NAME_RE))
    translations = _translations(QuestionTranslationSchema)


class SectionSchema(Schema):
    """A heading over the questions that name it; hidden with them unless ``show_if`` holds."""

    name = fields.String(required=True, validate=validate.Regexp(NAME_RE))
    label = fields.String(required=True, validate=validate.Length(min=1, max=500))
    translations = _translations(SectionTranslationSchema)
    show_if = fields.Nested(ConditionSchema, allow_none=True, load_default=None)


class GapSideSchema(Schema):
    """A question and the answers that count (e.g. ASB "very big" or "fairly big")."""

    question = fields.String(required=True, validate=validate.Regexp(NAME_RE))
    values = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class GapPairSchema(Schema):
    """A perception question paired with an experience question."""

    perception = fields.Nested(GapSideSchema, required=True)
    experience = fields.Nested(GapSideSchema, required=True)
    report_category = fields.String(allow_none=True, validate=validate.Length(max=64))


class SurveyCreateSchema(Schema):
    """A survey as an admin authors it (JSON); checks the questions hang together."""

    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    opens_at = UtcDateTime(allow_none=True, load_default=None)
    closes_at = UtcDateTime(allow_none=True, load_default=None)
    borough_wide = fields.Boolean(load_default=False)
    target_wards = fields.List(
        fields.String(validate=validate.Regexp(r"^E05\d{6}$")),
        load_default=list,
        validate=validate.Length(max=100),
    )
    min_group_size = fields.Integer(
        load_default=DEFAULT_MIN_GROUP_SIZE, validate=validate.Range(min=2, max=1000)
    )
    questions = fields.List(
        fields.Nested(QuestionSchema), required=True, validate=validate.Length(min=1, max=100)
    )
    gap = fields.Nested(GapPairSchema, allow_none=True, load_default=None)
    languages = fields.List(
        fields.Nested(LanguageSchema),
        load_default=list,
        validate=validate.Length(max=MAX_LANGUAGES),
    )
    default_language = fields.String(
        allow_none=True, load_default=None, validate=validate.Regexp(LANGUAGE_CODE_RE)
    )
    title_translations = fields.Dict(
        keys=fields.String(validate=validate.Regexp(LANGUAGE_CODE_RE)),
        values=fields.String(validate=validate.Length(min=1, max=200)),
        load_default=dict,
    )
    sections = fields.List(
        fields.Nested(SectionSchema), load_default=list, validate=validate.Length(max=100)
    )

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        if data.get("opens_at") and data.get("closes_at") and data["closes_at"] <= data["opens_at"]:
            errors["closes_at"] = ["must be after opens_at"]
        if not data.get("borough_wide") and not data.get("target_wards"):
            errors["target_wards"] = ["give at least one ward, or set borough_wide"]
        problems = definition_problems(
            data.get("questions", []),
            data.get("gap"),
            sections=data.get("sections") or (),
            languages=data.get("languages") or (),
            default_language=data.get("default_language"),
            title_translations=data.get("title_translations"),
        )
        if problems:
            errors.update(problems)
        if errors:
            raise ValidationError(errors)


def normalise_question(question: Mapping[str, Any]) -> dict[str, Any]:
    """Fill in the implied parts of a question (yes/no choices, scale labels, text length,
    a range's step of 1, no translations, no section)."""
    q = dict(question)
    kind = q.get("type")
    if kind == QuestionType.YES_NO.value:
        q["choices"] = [dict(c) for c in YES_NO_CHOICES]
    elif kind == QuestionType.SCALE5.value:
        labels = [c["label"] for c in q.get("choices") or []] or SCALE5_LABELS
        q["choices"] = [{"value": str(i), "label": label} for i, label in enumerate(labels, 1)]
    elif kind == QuestionType.TEXT.value:
        q["max_length"] = q.get("max_length") or DEFAULT_TEXT_LENGTH
    elif kind == QuestionType.RANGE.value and q.get("step") is None:
        q["step"] = 1
    q.setdefault("required", False)
    q["translations"] = dict(q.get("translations") or {})
    q.setdefault("section", None)
    return q


def _sections_by_name(
    sections: Sequence[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]] | None,
) -> Mapping[str, Mapping[str, Any]]:
    if not sections:
        return {}
    if isinstance(sections, Mapping):
        return sections
    return {s["name"]: s for s in sections}


def _condition_problem(
    condition: Mapping[str, Any], seen: Mapping[str, Mapping[str, Any]]
) -> str | None:
    """Why a show_if condition cannot work, given the questions before it (or None)."""
    ref = seen.get(condition["question"])
    if ref is None:
        return f"show_if refers to {condition['question']!r}, not an earlier question"
    if ref["type"] not in CATEGORICAL_TYPES:
        return f"show_if needs a choice, scale or yes/no question, not {ref['type']}"
    if condition["equals"] not in {c["value"] for c in ref["choices"]}:
        return f"{condition['equals']!r} is not a choice of {ref['name']!r}"
    return None


def _question_problems(q: Mapping[str, Any]) -> list[str]:
    """What is wrong with one (normalised) question on its own."""
    problems: list[str] = []
    kind = q["type"]
    values = [c["value"] for c in q.get("choices") or []]
    if kind in CHOICE_LIST_TYPES:
        if len(values) < 2:
            problems.append("give at least two choices")
        if len(set(values)) != len(values):
            problems.append("choice values must be unique")
    if kind == QuestionType.SCALE5.value and len(values) != 5:
        problems.append("a 5-point scale has exactly five labels")
    lo, hi = q.get("min_value"), q.get("max_value")
    if kind in (QuestionType.INTEGER.value, QuestionType.RANGE.value):
        if lo is None or hi is None:
            problems.append(
                f"a{'n' if kind == 'integer' else ''} {kind} question needs min_value and max_value"
            )
    if kind == QuestionType.INTEGER.value and any(isinstance(v, float) for v in (lo, hi)):
        problems.append("an integer question's min_value and max_value are whole numbers")
    if kind in NUMBER_TYPES and lo is not None and hi is not None and lo > hi:
        problems.append("min_value is greater than max_value")
    if kind not in NUMBER_TYPES and (lo is not None or hi is not None):
        problems.append("min_value and max_value only apply to integer, decimal and range")
    if q.get("step") is not None and kind != QuestionType.RANGE.value:
        problems.append("step only applies to range")
    if kind == QuestionType.RANGE.value and lo is not None and hi is not None and q["step"]:
        if (hi - lo) / q["step"] > 10_000:
            problems.append("a range has at most 10000 steps")
    if q.get("max_choices") is not None and kind != QuestionType.MULTIPLE_CHOICE.value:
        problems.append("max_choices only applies to multiple_choice")
    if kind == QuestionType.NOTE.value and q.get("required"):
        problems.append("a note takes no answer, so it cannot be required")
    if q.get("choices") and kind not in CHOICE_LIST_TYPES | CATEGORICAL_TYPES:
        problems.append(f"choices do not apply to {kind}")
    return problems


def _translation_problems(
    translations: Mapping[str, Any], codes: set[str], default: str | None
) -> list[str]:
    problems = []
    for code in translations:
        if code == default:
            problems.append(
                f"translation {code!r} is the default language: put it in the base text"
            )
        elif code not in codes:
            problems.append(f"translation {code!r} is not one of the survey's languages")
    return problems


def definition_problems(
    questions: Sequence[Mapping[str, Any]],
    gap: Mapping[str, Any] | None = None,
    *,
    sections: Sequence[Mapping[str, Any]] = (),
    languages: Sequence[Mapping[str, Any]] = (),
    default_language: str | None = None,
    title_translations: Mapping[str, Any] | None = None,
) -> dict[str, list[str]]:
    """What is wrong with a survey's questions, sections and languages (keyed
    ``questions.<name>``, ``sections.<name>``, ``languages``, ``default_language``,
    ``title_translations`` or ``gap``)."""
    errors: dict[str, list[str]] = {}
    seen: dict[str, Mapping[str, Any]] = {}

    def add(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    codes = [lang["code"] for lang in languages]
    if len(set(codes)) != len(codes):
        add("languages", "a language is listed twice")
    if codes and default_language not in codes:
        add("default_language", "give the default language, one of the survey's languages")
    if not codes and default_language is not None:
        add("default_language", "list the survey's languages first")
    others = set(codes) - {default_language}
    for message in _translation_problems(title_translations or {}, others, default_language):
        add("title_translations", message)

    section_names = [s["name"] for s in sections]
    by_section = {s["name"]: s for s in sections}
    if len(set(section_names)) != len(section_names):
        add("sections", "section names must be unique")
    for section in sections:
        for message in _translation_problems(
            section.get("translations") or {}, others, default_language
        ):
            add(f"sections.{section['name']}", message)
    started: set[str] = set()
    for raw in questions:
        q = normalise_question(raw)
        name = q["name"]
        key = f"questions.{name}"
        if name in seen:
            add(key, "duplicate question name")
        for message in _question_problems(q):
            add(key, message)
        for message in _translation_problems(q["translations"], others, default_language):
            add(key, message)
        values = {c["value"] for c in q.get("choices") or []}
        for code, text in q["translations"].items():
            unknown = sorted(set((text or {}).get("choices") or {}) - values)
            if unknown:
                add(key, f"translation {code!r} names {unknown[0]!r}, not a choice")
        section = q["section"]
        if section is not None:
            if section not in by_section:
                add(key, f"section {section!r} is not one of the survey's sections")
            elif section not in started:
                # A section's condition may use only the questions before its first question.
                started.add(section)
                condition = by_section[section].get("show_if")
                problem = _condition_problem(condition, seen) if condition else None
                if problem:
                    add(f"sections.{section}", problem)
        condition = q.get("show_if")
        if condition:
            problem = _condition_problem(condition, seen)
            if problem:
                add(key, problem)
        seen[name] = q
    for name in section_names:
        if name not in started:
            add(f"sections.{name}", "no question is in this section")
    if gap:
        for side in ("perception", "experience"):
            ref = seen.get(gap[side]["question"])
            if ref is None or ref["type"] not in CATEGORICAL_TYPES:
                errors.setdefault("gap", []).append(
                    f"{side}: {gap[side]['question']!r} is not a choice, scale or yes/no question"
                )
            elif not set(gap[side]["values"]) <= {c["value"] for c in ref["choices"]}:
                errors.setdefault("gap", []).append(f"{side}: values are not all choices")
    return errors


def _holds(condition: Mapping[str, Any] | None, answers: Mapping[str, Any]) -> bool:
    if not condition:
        return True
    given = answers.get(condition["question"])
    if given is None:
        return False
    if isinstance(given, list):
        return condition["equals"] in given
    return str(given) == condition["equals"]


def _hidden_because(
    question: Mapping[str, Any],
    answers: Mapping[str, Any],
    sections: Mapping[str, Mapping[str, Any]],
) -> str | None:
    """Why a question is hidden (the condition that fails, in words), or None if shown."""
    section = sections.get(question.get("section") or "")
    if section and not _holds(section.get("show_if"), answers):
        cond = section["show_if"]
        return (
            f"its section {section['name']} is shown only if {cond['question']} is {cond['equals']}"
        )
    if not _holds(question.get("show_if"), answers):
        cond = question["show_if"]
        return f"shown only if {cond['question']} is {cond['equals']}"
    return None


def is_visible(
    question: Mapping[str, Any],
    answers: Mapping[str, Any],
    sections: Sequence[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]] | None = None,
) -> bool:
    """Whether a question is shown, given the (cleaned) answers to earlier questions: its
    section's ``show_if`` (if it is in a section) and its own ``show_if`` both hold.
    ``sections`` is the survey's section list (or a mapping of them by name)."""
    return _hidden_because(question, answers, _sections_by_name(sections)) is None


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _is_number(value: Any) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and (isinstance(value, int) or math.isfinite(value))
    )


def _fmt(number: int | float) -> str:
    return f"{number:g}" if isinstance(number, float) else str(number)


def _out_of_range(q: Mapping[str, Any], value: int | float) -> str | None:
    lo, hi = q.get("min_value"), q.get("max_value")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        if lo is not None and hi is not None:
            return f"{_fmt(value)} is out of range: answer from {_fmt(lo)} to {_fmt(hi)}"
        if lo is not None:
            return f"{_fmt(value)} is out of range: answer {_fmt(lo)} or more"
        return f"{_fmt(value)} is out of range: answer {_fmt(hi)} or less"  # type: ignore[arg-type]
    return None


def _on_grid(q: Mapping[str, Any], value: int | float) -> int | float | None:
    """A range answer snapped to its step grid, or None if it is not on the grid."""
    lo, step = q["min_value"], q["step"]
    steps = (value - lo) / step
    k = round(steps)
    if abs(steps - k) > 1e-9 * max(1.0, abs(steps)):
        return None
    snapped = lo + k * step
    if isinstance(lo, int) and isinstance(step, int):
        return int(snapped)
    snapped = round(snapped, 10)
    return int(snapped) if snapped == int(snapped) and isinstance(value, int) else snapped


def _check_one(q: Mapping[str, Any], value: Any) -> tuple[Any, str | None]:
    """(cleaned value, None) or (None, message) for one answered question."""
    kind = q["type"]
    values = [c["value"] for c in q.get("choices") or []]
    if kind in (QuestionType.SINGLE_CHOICE.value, QuestionType.YES_NO.value):
        if not isinstance(value, str):
            return None, "answer with one of the choices (a string)"
        if value not in values:
            return None, f"unknown choice {value[:40]!r}; choose one of {', '.join(values)}"
        return value, None
    if kind == QuestionType.MULTIPLE_CHOICE.value:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None, "answer with a list of choices"
        unknown = [v for v in value if v not in values]
        if unknown:
            return None, f"unknown choice {unknown[0][:40]!r}; choose from {', '.join(values)}"
        if len(set(value)) != len(value):
            return None, "a choice is given twice"
        limit = q.get("max_choices")
        if limit and len(value) > limit:
            return None, f"choose at most {limit}"
        return sorted(value, key=values.index), None
    if kind == QuestionType.RANK.value:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None, "answer with a list of every choice, in your order"
        unknown = [v for v in value if v not in values]
        if unknown:
            return None, f"unknown choice {unknown[0][:40]!r}; rank {', '.join(values)}"
        if len(set(value)) != len(value):
            return None, "a choice is given twice"
        missing = [v for v in values if v not in value]
        if missing:
            return None, f"rank every choice: {', '.join(missing)} missing"
        return list(value), None
    if kind == QuestionType.SCALE5.value:
        if isinstance(value, str) and value in values:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            return None, "answer with a whole number from 1 to 5"
        if not 1 <= value <= 5:
            return None, f"{value} is out of range: answer from 1 to 5"
        return value, None
    if kind == QuestionType.INTEGER.value:
        if isinstance(value, bool) or not isinstance(value, int):
            return None, "answer with a whole number"
        problem = _out_of_range(q, value)
        return (None, problem) if problem else (value, None)
    if kind in (QuestionType.DECIMAL.value, QuestionType.RANGE.value):
        if not _is_number(value) or abs(value) > MAX_INT:
            return None, "answer with a number"
        problem = _out_of_range(q, value)
        if problem:
            return None, problem
        if kind == QuestionType.RANGE.value:
            snapped = _on_grid(q, value)
            if snapped is None:
                return None, (
                    f"{_fmt(value)} is not a step of the scale: answer {_fmt(q['min_value'])},"
                    f" {_fmt(q['min_value'] + q['step'])}, ... up to {_fmt(q['max_value'])}"
                )
            return snapped, None
        return value, None
    if kind == QuestionType.DATE.value:
        if not isinstance(value, str) or not _DATE_RE.match(value):
            return None, "answer with a date as YYYY-MM-DD"
        try:
            date.fromisoformat(value)
        except ValueError:
            return None, f"{value} is not a date in the calendar"
        return value, None
    if kind == QuestionType.TIME.value:
        if not isinstance(value, str) or not _TIME_RE.match(value):
            return None, "answer with a time as HH:MM (24-hour, UK time)"
        return value, None
    if kind == QuestionType.NOTE.value:
        return None, "this is a note: it takes no answer"
    if kind == QuestionType.TEXT.value:
        if not isinstance(value, str):
            return None, "answer with text"
        text = value.strip()
        if _CONTROL_CHARS.search(text):
            return None, "text contains control characters"
        limit = q.get("max_length") or DEFAULT_TEXT_LENGTH
        if len(text) > limit:
            return None, f"too long: at most {limit} characters"
        return text, None
    return None, f"unsupported question type {kind!r}"


def validate_answers(
    questions: Sequence[Mapping[str, Any]],
    answers: Mapping[str, Any],
    sections: Sequence[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Check answers against the questions, in order; returns ``(cleaned, errors)``.

    ``errors`` names each offending question: an unknown question, an unknown choice, an
    out-of-range number, a missing required answer, an answer to a note, or an answer to a
    question hidden by its own or its section's condition (``sections``: the survey's
    sections). ``cleaned`` holds only the visible answered questions, in their stored form:
    values, never labels, whatever language the resident read."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    by_name = _sections_by_name(sections)
    known = {q["name"] for q in questions}
    for name in answers:
        if name not in known:
            errors[str(name)[:64]] = ["no such question in this survey"]
    for raw in questions:
        q = normalise_question(raw)
        name, value = q["name"], answers.get(q["name"])
        hidden = _hidden_because(q, cleaned, by_name)
        if hidden:
            if not _empty(value):
                errors[name] = [f"hidden question answered: {hidden}"]
            continue
        if _empty(value):
            if q.get("required"):
                errors[name] = ["an answer is required"]
            continue
        clean, problem = _check_one(q, value)
        if problem:
            errors[name] = [problem]
        else:
            cleaned[name] = clean
    return cleaned, errors


class ResponseInSchema(Schema):
    """A resident's answers: ``{"answers": {question name: value}}``."""

    answers = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True)


class SurveyOutSchema(Schema):
    """A survey as the app and the portal see it."""

    id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String()
    status = fields.String(validate=validate.OneOf(SURVEY_STATUSES))
    opens_at = fields.DateTime(allow_none=True)
    closes_at = fields.DateTime(allow_none=True)
    borough_wide = fields.Boolean()
    target_wards = fields.List(fields.String())
    min_group_size = fields.Integer()
    source = fields.String()
    questions = fields.List(fields.Nested(QuestionSchema))
    gap = fields.Nested(GapPairSchema, allow_none=True)
    answered = fields.Boolean(allow_none=True)
    languages = fields.List(fields.Nested(LanguageSchema))
    default_language = fields.String(allow_none=True)
    title_translations = fields.Dict(keys=fields.String(), values=fields.String())
    sections = fields.List(fields.Nested(SectionSchema))
