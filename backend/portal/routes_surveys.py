"""Portal pages for consultation surveys (admins): create or upload an XLSForm, open and
close, results with bar charts and the anonymised CSV export."""

from __future__ import annotations

from flask import Response, g, redirect, render_template, request, url_for

from backend.areas.service import list_wards
from backend.db import utcnow
from backend.errors import Conflict, ValidationError
from backend.portal import policy, service
from backend.portal.questionnaire import TYPE_LABELS, questionnaire
from backend.portal.routes import bp
from shared_schemas.surveys import QUESTION_TYPES

# The quick form has a label, a type and choices: types that need bounds (decimal, range)
# are written as JSON or an XLSForm.
QUICK_TYPES = [t for t in QUESTION_TYPES if t not in ("decimal", "range")]


@bp.app_template_filter("number_words")
def number_words(value: object) -> str:
    """A number as people write it: ``3.0`` -> ``3``, ``2.5`` -> ``2.5``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _new_page(form, errors, status: int = 200):  # type: ignore[no-untyped-def]
    return (
        render_template(
            "portal/survey_new.html",
            form=form,
            selected_wards=form.getlist("target_wards") if hasattr(form, "getlist") else [],
            errors=errors,
            wards=list_wards(),
            types=QUICK_TYPES,
            type_labels=TYPE_LABELS,
            rows=range(1, service.MAX_QUICK_QUESTIONS + 1),
        ),
        status,
    )


@bp.get("/surveys")
def surveys():  # type: ignore[no-untyped-def]
    """Admins: every survey and its state."""
    rows = service.list_surveys_for_admin(g.portal_user, utcnow())
    return render_template("portal/surveys.html", rows=rows)


@bp.get("/surveys/new")
def survey_new():  # type: ignore[no-untyped-def]
    """Admins: the create/upload form."""
    policy.require_admin(g.portal_user)
    return _new_page({}, {})


@bp.post("/surveys/new")
def survey_create():  # type: ignore[no-untyped-def]
    """Admins: create a draft survey from the question rows or an XLSForm upload."""
    try:
        survey = service.create_survey_from_form(
            g.portal_user, request.form, request.files.get("xlsform"), utcnow()
        )
    except ValidationError as exc:
        return _new_page(request.form, exc.errors or {"title": [exc.message]}, exc.http_status)
    return redirect(url_for("portal.survey", survey_id=survey.id, saved="created"), code=303)


@bp.get("/surveys/<int:survey_id>")
def survey(survey_id: int):  # type: ignore[no-untyped-def]
    """Admins: a survey, its questions and its results with charts (small groups hidden)."""
    page = service.survey_page(g.portal_user, survey_id)
    names = {w.code: w.name for w in list_wards()}
    return render_template(
        "portal/survey.html",
        ward_names=names,
        type_labels=TYPE_LABELS,
        questionnaire=questionnaire(page["survey"]),
        **page,
    )


@bp.post("/surveys/<int:survey_id>/status")
def survey_status(survey_id: int):  # type: ignore[no-untyped-def]
    """Admins: open or close a survey."""
    status = request.form.get("status", "")
    try:
        service.set_survey_status(g.portal_user, survey_id, status, utcnow())
    except Conflict as exc:
        return redirect(
            url_for("portal.survey", survey_id=survey_id, problem=exc.message), code=303
        )
    return redirect(url_for("portal.survey", survey_id=survey_id, saved=status), code=303)


@bp.get("/surveys/<int:survey_id>/results.csv")
def survey_csv(survey_id: int):  # type: ignore[no-untyped-def]
    """Admins: the anonymised results CSV."""
    return Response(
        service.survey_csv(g.portal_user, survey_id),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="survey-{survey_id}-results.csv"'},
    )
