"""Consultation surveys: authoring, targeting, answering once, and privacy-safe results.

How answers are kept apart from the people who gave them
-------------------------------------------------------
Identity is used for one thing only: one response per resident per survey, changeable until
the survey closes. Two keyed hashes (HMAC-SHA256 under the server's SECRET_KEY, with different
labels) are derived from (survey id, resident uid):

* ``survey_response_owners.owner_hash`` says "this resident has answered" and nothing else;
* ``survey_responses.key`` is the primary key of the answers.

No table of the survey domain holds a user id, uid, device, IP address or timestamp of an
answer, and the two tables share nothing but the survey id: neither a database reader
without the key, nor the results and the CSV export (aggregate only, never a row per person
and never free text), can tell who gave which answers. Only the server, holding the key, can recompute the
caller's own response key, which is what lets a resident see and change their answers; an
operator who has both the database and the key could do the same for any resident, which is
the inherent price of "changeable until close" (rotating SECRET_KEY ends it, and would let
residents answer again). The respondent's home ward is stored on the response (and repeated
on its answer rows) for the ward breakdown; every group smaller than the survey's minimum is
suppressed (see results.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy import update as sa_update
from sqlalchemy.exc import IntegrityError

from backend.areas.models import Ward
from backend.auth.models import User
from backend.errors import Conflict, NotFound, ValidationError, field_error
from backend.extensions import db
from backend.surveys import policy
from backend.surveys.models import (
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
    SurveyResponseOwner,
    SurveyWard,
)
from shared_schemas.surveys import (
    QuestionType,
    SurveyStatus,
    normalise_question,
    validate_answers,
)

OWNER_LABEL = b"safehaven/surveys/owner/v1"
RESPONSE_LABEL = b"safehaven/surveys/response/v1"


def _keyed_hash(label: bytes, survey_id: int, uid: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    key = hmac.new(secret, label, hashlib.sha256).digest()
    return hmac.new(key, f"{survey_id}\x00{uid}".encode(), hashlib.sha256).hexdigest()


def owner_hash(survey_id: int, uid: str) -> str:
    """The keyed hash that marks that ``uid`` answered ``survey_id``."""
    return _keyed_hash(OWNER_LABEL, survey_id, uid)


def response_key(survey_id: int, uid: str) -> str:
    """The key of ``uid``'s response to ``survey_id`` (unrelated to :func:`owner_hash`)."""
    return _keyed_hash(RESPONSE_LABEL, survey_id, uid)


# ---- authoring -------------------------------------------------------------------------


def create_survey(actor: User | None, data: dict[str, Any], source: str = "json") -> Survey:
    """Create a draft survey from loaded ``SurveyCreateSchema`` data; raises ValidationError
    for an unknown target ward."""
    wards = sorted(set(data.get("target_wards") or []))
    if wards:
        known = set(db.session.scalars(select(Ward.code).where(Ward.code.in_(wards))))
        unknown = [w for w in wards if w not in known]
        if unknown:
            raise field_error("target_wards", f"unknown ward {unknown[0]}")
    survey = Survey(
        title=data["title"].strip(),
        description=data.get("description") or "",
        status=SurveyStatus.DRAFT.value,
        opens_at=data.get("opens_at"),
        closes_at=data.get("closes_at"),
        borough_wide=bool(data.get("borough_wide")),
        min_group_size=data.get("min_group_size") or 10,
        source=source,
        gap=data.get("gap"),
        languages=list(data.get("languages") or []) or None,
        default_language=data.get("default_language"),
        title_translations=dict(data.get("title_translations") or {}) or None,
        sections=list(data.get("sections") or []) or None,
        created_by_id=actor.id if actor else None,
    )
    survey.wards = [SurveyWard(ward_code=w) for w in wards]
    for position, raw in enumerate(data["questions"]):
        q = normalise_question(raw)
        survey.questions.append(
            SurveyQuestion(
                position=position,
                name=q["name"],
                label=q["label"],
                hint=q.get("hint"),
                type=q["type"],
                required=bool(q.get("required")),
                choices=q.get("choices") or None,
                min_value=q.get("min_value"),
                max_value=q.get("max_value"),
                step=q.get("step"),
                max_length=q.get("max_length"),
                max_choices=q.get("max_choices"),
                show_if=q.get("show_if"),
                section=q.get("section"),
                translations=q.get("translations") or None,
            )
        )
    db.session.add(survey)
    db.session.commit()
    return survey


def create_from_xlsform(actor: User, content: bytes, filename: str, form: dict[str, Any]) -> Survey:
    """Create a draft survey from an XLSForm upload plus the form fields (title, wards...);
    raises ValidationError naming the row and reason of anything unsupported."""
    from marshmallow import ValidationError as SchemaError

    from backend.surveys import xlsform
    from shared_schemas.surveys import SurveyCreateSchema

    parsed = xlsform.parse_xlsform(content, filename)
    data: dict[str, Any] = {k: v for k, v in form.items() if v not in (None, "")}
    data.setdefault("title", parsed.title)
    if isinstance(data.get("target_wards"), str):
        data["target_wards"] = [w.strip() for w in data["target_wards"].split(",") if w.strip()]
    data.update(parsed.survey_fields())
    try:
        loaded = SurveyCreateSchema().load(data)
    except SchemaError as exc:
        raise xlsform.schema_error_with_rows(exc, parsed) from exc
    return create_survey(actor, loaded, source="xlsform")


def _get(survey_id: int) -> Survey:
    survey = db.session.get(Survey, survey_id)
    if survey is None:
        raise NotFound(f"no survey {survey_id}")
    return survey


def set_status(actor: User, survey_id: int, status: str, now: datetime) -> Survey:
    """Open a draft or close an open survey (admin); raises Conflict for other moves."""
    from backend.auth.policy import require_admin

    require_admin(actor)
    survey = _get(survey_id)
    moves = {
        SurveyStatus.OPEN.value: {SurveyStatus.DRAFT.value},
        SurveyStatus.CLOSED.value: {SurveyStatus.OPEN.value},
    }
    if survey.status not in moves.get(status, set()):
        raise Conflict(f"cannot move a {survey.status} survey to {status}")
    if status == SurveyStatus.OPEN.value and survey.closes_at and survey.closes_at <= now:
        raise Conflict("its closing time has passed: set a later closes_at")
    if status == SurveyStatus.CLOSED.value and (survey.closes_at is None or survey.closes_at > now):
        survey.closes_at = now
    if status == SurveyStatus.OPEN.value and survey.opens_at is None:
        survey.opens_at = now
    survey.status = status
    db.session.commit()
    return survey


# ---- reading and answering ---------------------------------------------------------------


def _answered(actor: User, survey: Survey) -> bool:
    return (
        db.session.get(SurveyResponseOwner, (survey.id, owner_hash(survey.id, actor.uid)))
        is not None
    )


def _view(actor: User, survey: Survey) -> dict[str, Any]:
    return {
        "id": survey.id,
        "title": survey.title,
        "description": survey.description,
        "status": survey.status,
        "opens_at": survey.opens_at,
        "closes_at": survey.closes_at,
        "borough_wide": survey.borough_wide,
        "target_wards": survey.target_wards,
        "min_group_size": survey.min_group_size,
        "source": survey.source,
        "questions": [q.as_dict() for q in survey.questions],
        "gap": survey.gap,
        "answered": _answered(actor, survey),
        "languages": list(survey.languages or []),
        "default_language": survey.default_language,
        "title_translations": dict(survey.title_translations or {}),
        "sections": survey.section_list(),
    }


def list_surveys(actor: User, now: datetime, status: str | None = None) -> list[dict[str, Any]]:
    """Admins: every survey (optionally of one status). Residents: the open surveys, inside
    their window, targeted at their ward or the whole borough."""
    query = select(Survey).order_by(Survey.id)
    if actor.is_admin:
        if status:
            query = query.where(Survey.status == status)
        return [_view(actor, s) for s in db.session.scalars(query)]
    query = query.where(Survey.status == SurveyStatus.OPEN.value)
    return [
        _view(actor, s)
        for s in db.session.scalars(query)
        if policy.is_targeted(actor, s)
        and (s.opens_at is None or s.opens_at <= now)
        and (s.closes_at is None or now < s.closes_at)
    ]


def get_survey(actor: User, survey_id: int) -> dict[str, Any]:
    """One survey as the caller may see it; raises NotFound (drafts, other wards)."""
    survey = _get(survey_id)
    policy.require_can_view(actor, survey)
    return _view(actor, survey)


def _store_value(q: SurveyQuestion, value: Any) -> list[SurveyAnswer]:
    if q.type == QuestionType.MULTIPLE_CHOICE.value:
        return [SurveyAnswer(question_id=q.id, value=v) for v in value]
    if q.type == QuestionType.RANK.value:
        return [
            SurveyAnswer(question_id=q.id, value=v, number=position)
            for position, v in enumerate(value, 1)
        ]
    if q.type in (QuestionType.DECIMAL.value, QuestionType.RANGE.value):
        return [SurveyAnswer(question_id=q.id, value=json.dumps(value))]
    if q.type == QuestionType.INTEGER.value:
        return [SurveyAnswer(question_id=q.id, number=value)]
    if q.type == QuestionType.SCALE5.value:
        return [SurveyAnswer(question_id=q.id, value=str(value), number=value)]
    return [SurveyAnswer(question_id=q.id, value=value)]


def submit_response(
    actor: User, survey_id: int, answers: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], bool]:
    """Record (or replace) the caller's answers; returns ``(answers, created)``.
    Raises NotFound, Forbidden, Conflict (not open) or ValidationError naming each question."""
    survey = _get(survey_id)
    policy.require_can_answer(actor, survey, now)
    cleaned, errors = validate_answers(
        [q.as_dict() for q in survey.questions], answers, survey.section_list()
    )
    if errors:
        first = next(iter(errors))
        raise ValidationError(f"{first}: {errors[first][0]}", errors=errors)
    try:
        created = store_response(survey, actor.uid, actor.ward_code, cleaned)
        db.session.commit()
    except IntegrityError as exc:  # the same resident answering twice at the same moment
        db.session.rollback()
        raise Conflict("your answer was being recorded by another request: try again") from exc
    # ``survey_id``, not ``survey.id``: the commit expired the survey, and reading it again
    # would reload it with its questions, choices and wards only to say its id.
    return {"survey_id": survey_id, "answers": cleaned}, created


def store_response(
    survey: Survey, uid: str, ward_code: str | None, cleaned: dict[str, Any]
) -> bool:
    """Write validated answers under the keyed hashes of ``uid`` (no commit); returns whether
    this is the first response of ``uid`` to ``survey``."""
    owner = owner_hash(survey.id, uid)
    key = response_key(survey.id, uid)
    created = db.session.get(SurveyResponseOwner, (survey.id, owner)) is None
    if created:
        db.session.add(SurveyResponseOwner(survey_id=survey.id, owner_hash=owner))
    response = db.session.get(SurveyResponse, key)
    if response is None:
        response = SurveyResponse(key=key, survey_id=survey.id)
        db.session.add(response)
    else:
        db.session.execute(delete(SurveyAnswer).where(SurveyAnswer.response_key == key))
        db.session.expire(response, ["answers"])
    response.ward_code = ward_code
    by_name = {q.name: q for q in survey.questions}
    for name, value in cleaned.items():
        for row in _store_value(by_name[name], value):
            row.response_key = key
            row.ward_code = ward_code
            db.session.add(row)
    return created


def my_response(actor: User, survey_id: int) -> dict[str, Any]:
    """The caller's own answers (found through their keyed hash); raises NotFound if none."""
    survey = _get(survey_id)
    policy.require_can_view(actor, survey)
    response = db.session.get(SurveyResponse, response_key(survey.id, actor.uid))
    if response is None or response.survey_id != survey.id:
        raise NotFound("you have not answered this survey")
    by_id = {q.id: q for q in survey.questions}
    out: dict[str, Any] = {}
    for row in sorted(response.answers, key=lambda a: a.id):
        q = by_id[row.question_id]
        if q.type == QuestionType.MULTIPLE_CHOICE.value:
            out.setdefault(q.name, []).append(row.value)
        elif q.type == QuestionType.RANK.value:
            out.setdefault(q.name, []).append((row.number, row.value))
        elif q.type in (QuestionType.DECIMAL.value, QuestionType.RANGE.value):
            out[q.name] = json.loads(row.value) if row.value is not None else None
        elif q.type in (QuestionType.INTEGER.value, QuestionType.SCALE5.value):
            out[q.name] = row.number
        else:
            out[q.name] = row.value
    for q in survey.questions:
        if q.type == QuestionType.RANK.value and q.name in out:
            out[q.name] = [value for _, value in sorted(out[q.name])]
    return {"survey_id": survey.id, "answers": out}


def survey_for_results(actor: User, survey_id: int) -> Survey:
    """The survey whose results the caller may read; raises NotFound or Forbidden."""
    survey = _get(survey_id)
    policy.require_can_read_results(actor, survey)
    return survey


def results(actor: User, survey_id: int, by_ward: bool = False) -> dict[str, Any]:
    """Suppressed counts and percentages; raises NotFound or Forbidden."""
    from backend.surveys import results as figures

    return figures.compute_results(survey_for_results(actor, survey_id), by_ward=by_ward)


def results_csv(actor: User, survey_id: int, by_ward: bool = True) -> str:
    """The anonymised aggregate CSV; raises NotFound or Forbidden."""
    from backend.surveys import results as figures

    return figures.results_csv(survey_for_results(actor, survey_id), by_ward=by_ward)


def results_chart(actor: User, survey_id: int, question: str) -> str:
    """An SVG bar chart of one question; raises NotFound or Forbidden."""
    from backend.surveys import results as figures

    return figures.chart_svg(survey_for_results(actor, survey_id), question)


def perception_gap(
    actor: User, survey_id: int, now: datetime, counts_by_ward: Any = None
) -> dict[str, Any]:
    """The perception/experience gap per ward with concern-report counts (injectable for
    tests; by default the reports domain's ``counts_by_ward``); raises NotFound or Forbidden."""
    from backend.surveys import results as figures

    survey = survey_for_results(actor, survey_id)
    return figures.perception_gap(survey, now, counts_by_ward=counts_by_ward)


def export_user(user: User) -> dict[str, Any]:
    """For ``GET /api/v1/me/export``: the person's own answers, found through their keyed hash
    (responses hold no user id). Surveys they created are listed by id for admins."""
    answered = []
    for survey_id in db.session.scalars(select(Survey.id).order_by(Survey.id)):
        response = db.session.get(SurveyResponse, response_key(survey_id, user.uid))
        if response is None or response.survey_id != survey_id:
            continue
        answered.append(
            {
                "survey_id": survey_id,
                "ward_code": response.ward_code,
                "answers": [
                    {"question_id": a.question_id, "value": a.value, "number": a.number}
                    for a in sorted(response.answers, key=lambda a: a.id)
                ],
            }
        )
    created = db.session.scalars(select(Survey.id).where(Survey.created_by_id == user.id)).all()
    return {"responses": answered, "surveys_created": list(created)}


def erase_user(user: User) -> None:
    """Erasure: answers stay for the aggregate results but are unlinked for good: each
    response moves to a random key (no keyed hash of the uid finds it again) and the
    "has answered" marker is deleted. No commit (account erasure commits once)."""
    import secrets

    for survey_id in db.session.scalars(select(Survey.id)).all():
        old_key = response_key(survey_id, user.uid)
        response = db.session.get(SurveyResponse, old_key)
        if response is not None and response.survey_id == survey_id:
            new_key = secrets.token_hex(32)
            db.session.add(
                SurveyResponse(key=new_key, survey_id=survey_id, ward_code=response.ward_code)
            )
            db.session.flush()
            db.session.execute(
                sa_update(SurveyAnswer)
                .where(SurveyAnswer.response_key == old_key)
                .values(response_key=new_key)
            )
            db.session.expunge(response)
            db.session.execute(delete(SurveyResponse).where(SurveyResponse.key == old_key))
        db.session.execute(
            delete(SurveyResponseOwner).where(
                SurveyResponseOwner.survey_id == survey_id,
                SurveyResponseOwner.owner_hash == owner_hash(survey_id, user.uid),
            )
        )
    db.session.execute(
        sa_update(Survey).where(Survey.created_by_id == user.id).values(created_by_id=None)
    )
