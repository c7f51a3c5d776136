"""Consultation surveys: question types, survey and answer schemas, and the per-question
answer validation the server and the phone app both run (marshmallow + stdlib only).

A question is a plain dict as the API shows it (``QuestionSchema``); :func:`validate_answers`
takes the survey's question dicts and a resident's ``{question name: value}`` answers and
returns the cleaned answers or the errors, keyed by question name, so the app can show the
same message the server would send in its 422.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
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


SURVEY_STATUSES = tuple(s.value for s in SurveyStatus)
QUESTION_TYPES = tuple(t.value for t in QuestionType)
# Types whose answers are one of a fixed set of values (usable in conditions and gap pairs).
CATEGORICAL_TYPES = {
    QuestionType.SINGLE_CHOICE.value,
    QuestionType.MULTIPLE_CHOICE.value,
    QuestionType.SCALE5.value,
    QuestionType.YES_NO.value,
}
NAME_RE = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
DEFAULT_TEXT_LENGTH = 500
MAX_TEXT_LENGTH = 2000
DEFAULT_MIN_GROUP_SIZE = 10
YES_NO_CHOICES = [{"value": "yes", "label": "Yes"}, {"value": "no", "label": "No"}]
SCALE5_LABELS = ["1", "2", "3", "4", "5"]
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ChoiceSchema(Schema):
    """One answer option: the stored ``value`` and what the resident reads."""

    value = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$"))
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))


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
    min_value = fields.Integer(
        allow_none=True, strict=True, validate=validate.Range(-MAX_INT, MAX_INT)
    )
    max_value = fields.Integer(
        allow_none=True, strict=True, validate=validate.Range(-MAX_INT, MAX_INT)
    )
    max_length = fields.Integer(allow_none=True, validate=validate.Range(1, MAX_TEXT_LENGTH))
    max_choices = fields.Integer(allow_none=True, validate=validate.Range(min=1))
    show_if = fields.Nested(ConditionSchema, allow_none=True)


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

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        if data.get("opens_at") and data.get("closes_at") and data["closes_at"] <= data["opens_at"]:
            errors["closes_at"] = ["must be after opens_at"]
        if not data.get("borough_wide") and not data.get("target_wards"):
            errors["target_wards"] = ["give at least one ward, or set borough_wide"]
        problems = definition_problems(data.get("questions", []), data.get("gap"))
        if problems:
            errors.update(problems)
        if errors:
            raise ValidationError(errors)


def normalise_question(question: Mapping[str, Any]) -> dict[str, Any]:
    """Fill in the implied parts of a question (yes/no choices, scale labels, text length)."""
    q = dict(question)
    kind = q.get("type")
    if kind == QuestionType.YES_NO.value:
        q["choices"] = [dict(c) for c in YES_NO_CHOICES]
    elif kind == QuestionType.SCALE5.value:
        labels = [c["label"] for c in q.get("choices") or []] or SCALE5_LABELS
        q["choices"] = [{"value": str(i), "label": label} for i, label in enumerate(labels, 1)]
    elif kind == QuestionType.TEXT.value:
        q["max_length"] = q.get("max_length") or DEFAULT_TEXT_LENGTH
    q.setdefault("required", False)
    return q


def definition_problems(
    questions: Sequence[Mapping[str, Any]], gap: Mapping[str, Any] | None = None
) -> dict[str, list[str]]:
    """What is wrong with a survey's questions (keyed ``questions.<name>`` or ``gap``)."""
    errors: dict[str, list[str]] = {}
    seen: dict[str, Mapping[str, Any]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(f"questions.{name}", []).append(message)

    for raw in questions:
        q = normalise_question(raw)
        name, kind = q["name"], q["type"]
        if name in seen:
            add(name, "duplicate question name")
        values = [c["value"] for c in q.get("choices") or []]
        if kind in (QuestionType.SINGLE_CHOICE.value, QuestionType.MULTIPLE_CHOICE.value):
            if len(values) < 2:
                add(name, "give at least two choices")
            if len(set(values)) != len(values):
                add(name, "choice values must be unique")
        if kind == QuestionType.SCALE5.value and len(values) != 5:
            add(name, "a 5-point scale has exactly five labels")
        if kind == QuestionType.INTEGER.value:
            lo, hi = q.get("min_value"), q.get("max_value")
            if lo is None or hi is None:
                add(name, "an integer question needs min_value and max_value")
            elif lo > hi:
                add(name, "min_value is greater than max_value")
        if q.get("max_choices") is not None and kind != QuestionType.MULTIPLE_CHOICE.value:
            add(name, "max_choices only applies to multiple_choice")
        condition = q.get("show_if")
        if condition:
            ref = seen.get(condition["question"])
            if ref is None:
                add(name, f"show_if refers to {condition['question']!r}, not an earlier question")
            elif ref["type"] not in CATEGORICAL_TYPES:
                add(name, f"show_if needs a choice, scale or yes/no question, not {ref['type']}")
            elif condition["equals"] not in {c["value"] for c in ref["choices"]}:
                add(name, f"{condition['equals']!r} is not a choice of {ref['name']!r}")
        seen[name] = q
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


def is_visible(question: Mapping[str, Any], answers: Mapping[str, Any]) -> bool:
    """Whether a question is shown, given the (cleaned) answers to earlier questions."""
    condition = question.get("show_if")
    if not condition:
        return True
    given = answers.get(condition["question"])
    if given is None:
        return False
    if isinstance(given, list):
        return condition["equals"] in given
    return str(given) == condition["equals"]


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


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
        lo, hi = q.get("min_value"), q.get("max_value")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            return None, f"{value} is out of range: answer from {lo} to {hi}"
        return value, None
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
    questions: Sequence[Mapping[str, Any]], answers: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Check answers against the questions, in order; returns ``(cleaned, errors)``.

    ``errors`` names each offending question: an unknown question, an unknown choice, an
    out-of-range number, a missing required answer, or an answer to a question hidden by its
    condition. ``cleaned`` holds only the visible answered questions, in their stored form."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    known = {q["name"] for q in questions}
    for name in answers:
        if name not in known:
            errors[str(name)[:64]] = ["no such question in this survey"]
    for raw in questions:
        q = normalise_question(raw)
        name, value = q["name"], answers.get(q["name"])
        if not is_visible(q, cleaned):
            if not _empty(value):
                cond = q["show_if"]
                errors[name] = [
                    f"hidden question answered: shown only if {cond['question']} is {cond['equals']}"
                ]
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
