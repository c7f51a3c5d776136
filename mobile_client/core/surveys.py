"""Surveys: listing, opening and answering, with the answers checked on the phone before
sending (the server checks again).

The contract's own checker (``shared_schemas.surveys.validate_answers``) is used when the
app ships with it, so phone and server agree exactly; the fallback below follows the same
question shape: ``{name, type, label, required, choices: [{value, label}], min_value,
max_value, max_length, max_choices, show_if: {question, equals}}``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mobile_client.core.api import ApiError

if TYPE_CHECKING:
    from mobile_client.core.context import Context

SINGLE = {"single_choice", "select_one", "choice", "single"}
MULTIPLE = {"multiple_choice", "select_multiple", "multi"}
SCALE = {"scale5", "scale", "likert"}
YES_NO = {"yes_no", "boolean", "yesno"}
INTEGER = {"integer", "int", "number"}
TEXT = {"text", "free_text", "string"}


def question_key(q: dict[str, Any]) -> str:
    return str(q.get("key") or q.get("name") or q.get("id"))


def choice_values(q: dict[str, Any]) -> list[Any]:
    """The accepted values of a choice question (choices may be strings or {value,label})."""
    values = []
    for c in q.get("choices") or q.get("options") or []:
        values.append(c.get("value", c.get("name", c.get("key"))) if isinstance(c, dict) else c)
    if not values and q.get("type") in SCALE:
        values = [1, 2, 3, 4, 5]
    return values


def choice_labels(q: dict[str, Any]) -> list[tuple[Any, str]]:
    out = []
    for c in q.get("choices") or q.get("options") or []:
        if isinstance(c, dict):
            value = c.get("value", c.get("name", c.get("key")))
            out.append((value, str(c.get("label") or value)))
        else:
            out.append((c, str(c)))
    if not out and q.get("type") in SCALE:
        out = [(i, str(i)) for i in range(1, 6)]
    if not out and q.get("type") in YES_NO:
        out = [("yes", "Yes"), ("no", "No")]
    return out


def is_shown(q: dict[str, Any], answers: dict[str, Any]) -> bool:
    """Simple conditions: ``show_if: {question: X, equals: Y}`` (or ``value``/``in``)."""
    cond = q.get("show_if") or q.get("condition")
    if not isinstance(cond, dict):
        return True
    other = answers.get(str(cond.get("question") or cond.get("key")))
    expected = cond.get("equals", cond.get("value", cond.get("in")))
    if isinstance(expected, list):
        return other in expected or (isinstance(other, list) and bool(set(other) & set(expected)))
    if other is None:
        return False
    if isinstance(other, list):
        return expected in other
    return str(other) == str(expected)


def validate_answers(survey: dict[str, Any], answers: dict[str, Any]) -> dict[str, list[str]]:
    """Problems by question name; empty when the answers can be sent."""
    try:
        from shared_schemas.surveys import validate_answers as contract_check
    except ImportError:
        return _fallback_problems(survey, answers)
    _cleaned, errors = contract_check(survey.get("questions") or [], answers)
    return errors


def _fallback_problems(survey: dict[str, Any], answers: dict[str, Any]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for q in survey.get("questions") or []:
        key, kind = question_key(q), q.get("type")
        value = answers.get(key)
        empty = value is None or value == "" or value == []
        if not is_shown(q, answers):
            if not empty:
                problems[key] = ["this question does not apply to your earlier answer"]
            continue
        if empty:
            if q.get("required"):
                problems[key] = ["please answer this question"]
            continue
        if kind in SINGLE or kind in SCALE:
            allowed = choice_values(q)
            if value not in allowed and str(value) not in {str(a) for a in allowed}:
                problems[key] = ["choose one of the options"]
        elif kind in MULTIPLE:
            allowed_text = {str(a) for a in choice_values(q)}
            if not isinstance(value, list) or any(str(v) not in allowed_text for v in value):
                problems[key] = ["choose from the options"]
            elif q.get("max_choices") and len(value) > int(q["max_choices"]):
                problems[key] = [f"choose at most {q['max_choices']}"]
        elif kind in YES_NO:
            if value not in ("yes", "no"):
                problems[key] = ["answer yes or no"]
        elif kind in INTEGER:
            try:
                number = int(value)  # type: ignore[arg-type]  # a TypeError is caught
                if str(number) != str(value).strip() and not isinstance(value, int):
                    raise ValueError
            except (TypeError, ValueError):
                problems[key] = ["enter a whole number"]
                continue
            lo, hi = q.get("min_value"), q.get("max_value")
            if (lo is not None and number < lo) or (hi is not None and number > hi):
                problems[key] = [f"enter a number from {lo} to {hi}"]
        elif kind in TEXT:
            limit = q.get("max_length") or 1000
            if len(str(value)) > int(limit):
                problems[key] = [f"keep it under {limit} characters"]
    return problems


class Surveys:
    """The partnership's surveys: listing, opening and answering (checked here first)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def load_surveys(self) -> list[dict[str, Any]]:
        surveys = self.ctx.client.surveys()
        self.ctx.state.update(surveys=surveys)
        return surveys

    def open_survey(self, survey_id: int) -> dict[str, Any]:
        survey = self.ctx.client.survey(survey_id)
        self.ctx.state.update(survey=survey)
        return survey

    def answer_survey(self, survey: dict[str, Any], answers: dict[str, Any]) -> Any:
        """Check answers against each question here first, then send them."""
        problems = validate_answers(survey, answers)
        if problems:
            raise ApiError(422, "check your answers", problems, local=True)
        result = self.ctx.client.answer_survey(
            int(survey["id"]), {k: v for k, v in answers.items() if v not in (None, "", [])}
        )
        self.ctx.state.update(message="Thank you for answering.")
        return result
