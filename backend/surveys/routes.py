"""Consultation surveys: authoring (JSON or XLSForm), answering once, suppressed results."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from marshmallow import ValidationError as SchemaError

from backend.arguments import Blueprint
from backend.auth.current import admin_required, current_user, login_required
from backend.db import utcnow
from backend.errors import ValidationError, field_error
from backend.surveys import service
from backend.surveys.schemas import (
    GapOutSchema,
    MyResponseSchema,
    ResponseInSchema,
    ResultsArgsSchema,
    ResultsSchema,
    SurveyCreateSchema,
    SurveyListArgsSchema,
    SurveyOutSchema,
)

blp = Blueprint(
    "surveys", __name__, url_prefix="/api/v1/surveys", description="Consultation surveys"
)


def accepts(*content_types: str):  # type: ignore[no-untyped-def]
    """Mark a view as taking these request body types (read by the app's 415 guard)."""

    def mark(view):  # type: ignore[no-untyped-def]
        view.accepts_content_types = set(content_types)
        return view

    return mark


def _load_json(schema: Any) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise field_error("_schema", "send a JSON object")
    try:
        return schema.load(body)
    except SchemaError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        first = next(iter(messages))
        detail = messages[first]
        text = detail[0] if isinstance(detail, list) and detail else "invalid"
        raise ValidationError(f"{first}: {text}", errors=messages) from exc


XLSFORM_BODY = {
    "content": {
        "application/json": {"schema": SurveyCreateSchema},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "XLSForm .xlsx"},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "opens_at": {"type": "string", "format": "date-time"},
                    "closes_at": {"type": "string", "format": "date-time"},
                    "borough_wide": {"type": "boolean"},
                    "target_wards": {"type": "string", "description": "comma-separated codes"},
                    "min_group_size": {"type": "integer"},
                },
            }
        },
    }
}


@blp.get("")
@login_required
@blp.arguments(SurveyListArgsSchema, location="query")
@blp.response(200, SurveyOutSchema(many=True))
def list_surveys(args):
    """Open surveys for your ward (admins: every survey, optionally by status)."""
    return service.list_surveys(current_user(), utcnow(), args.get("status"))


@blp.post("")
@admin_required
@blp.doc(requestBody=XLSFORM_BODY)
@blp.response(201, SurveyOutSchema)
@accepts("application/json", "multipart/form-data")
def create_survey():
    """Create a draft survey from JSON or an XLSForm .xlsx upload (admin)."""
    actor = current_user()
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise field_error("file", "attach the XLSForm as 'file'")
        content = upload.read()
        upload.close()
        survey = service.create_from_xlsform(
            actor, content, upload.filename or "form.xlsx", request.form.to_dict()
        )
    else:
        survey = service.create_survey(actor, _load_json(SurveyCreateSchema()))
    return service.get_survey(actor, survey.id)


@blp.get("/<int:survey_id>")
@login_required
@blp.response(200, SurveyOutSchema)
def get_survey(survey_id: int):
    """One survey with its questions and whether you have answered."""
    return service.get_survey(current_user(), survey_id)


@blp.post("/<int:survey_id>/open")
@admin_required
@blp.response(200, SurveyOutSchema)
def open_survey(survey_id: int):
    """Open a draft survey for answers (admin)."""
    survey = service.set_status(current_user(), survey_id, "open", utcnow())
    return service.get_survey(current_user(), survey.id)


@blp.post("/<int:survey_id>/close")
@admin_required
@blp.response(200, SurveyOutSchema)
def close_survey(survey_id: int):
    """Close an open survey (admin); answers stop, results can be published."""
    survey = service.set_status(current_user(), survey_id, "closed", utcnow())
    return service.get_survey(current_user(), survey.id)


@blp.post("/<int:survey_id>/responses")
@login_required
@blp.arguments(ResponseInSchema)
@blp.response(200, MyResponseSchema)
@blp.alt_response(201, schema=MyResponseSchema, description="First answer recorded")
def answer(args, survey_id: int):
    """Answer a survey (201), or change your answer until it closes (200)."""
    body, created = service.submit_response(current_user(), survey_id, args["answers"], utcnow())
    return body, 201 if created else 200


@blp.get("/<int:survey_id>/responses/mine")
@login_required
@blp.response(200, MyResponseSchema)
def my_response(survey_id: int):
    """Your own answers to a survey."""
    return service.my_response(current_user(), survey_id)


@blp.get("/<int:survey_id>/results")
@login_required
@blp.arguments(ResultsArgsSchema, location="query")
@blp.response(200, ResultsSchema)
def results(args, survey_id: int):
    """Counts and percentages per question (by=ward for wards); small groups suppressed."""
    return service.results(current_user(), survey_id, by_ward=args.get("by") == "ward")


@blp.get("/<int:survey_id>/results.csv")
@login_required
@blp.response(200, content_type="text/csv")
def results_csv(survey_id: int):
    """Anonymised aggregate CSV (borough and wards), small groups suppressed."""
    body = service.results_csv(current_user(), survey_id)
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="survey-{survey_id}-results.csv"'},
    )


@blp.get("/<int:survey_id>/results/<string:question>.svg")
@login_required
@blp.response(200, content_type="image/svg+xml")
def results_chart(survey_id: int, question: str):
    """Bar chart (SVG) of one question's answers across the borough."""
    return Response(
        service.results_chart(current_user(), survey_id, question), mimetype="image/svg+xml"
    )


@blp.get("/<int:survey_id>/gap")
@login_required
@blp.response(200, GapOutSchema)
def perception_gap(survey_id: int):
    """Perception versus experience per ward, beside concern reports in the same period."""
    return service.perception_gap(current_user(), survey_id, utcnow())
