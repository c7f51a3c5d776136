"""Who may see, answer and read the results of a survey; each raises or returns None."""

from __future__ import annotations

from datetime import datetime

from backend.auth.models import User
from backend.errors import Conflict, Forbidden, NotFound
from backend.surveys.models import Survey
from shared_schemas.surveys import SurveyStatus


def is_targeted(actor: User, survey: Survey) -> bool:
    """Whether the survey is meant for the actor's home ward (borough-wide: everyone)."""
    return survey.borough_wide or (
        actor.ward_code is not None and actor.ward_code in survey.target_wards
    )


def require_can_view(actor: User, survey: Survey) -> None:
    """Admins see every survey; residents see open or closed surveys targeted at their ward.
    Raises NotFound otherwise (a draft's existence is not revealed)."""
    if actor.is_admin:
        return
    if survey.status == SurveyStatus.DRAFT.value or not is_targeted(actor, survey):
        raise NotFound(f"no survey {survey.id}")


def require_can_answer(actor: User, survey: Survey, now: datetime) -> None:
    """The survey is visible, open and inside its window; raises NotFound or Conflict."""
    require_can_view(actor, survey)
    if not is_targeted(actor, survey):
        raise Forbidden("this survey is for residents of other wards")
    if survey.status != SurveyStatus.OPEN.value:
        raise Conflict(f"this survey is {survey.status}: answers are not being taken")
    if survey.opens_at and now < survey.opens_at:
        raise Conflict("this survey has not opened yet")
    if survey.closes_at and now >= survey.closes_at:
        raise Conflict("this survey has closed")


def require_can_read_results(actor: User, survey: Survey) -> None:
    """Admins at any time; residents once a survey they could see has closed.
    Raises NotFound or Forbidden."""
    require_can_view(actor, survey)
    if not actor.is_admin and survey.status != SurveyStatus.CLOSED.value:
        raise Forbidden("results are published when the survey closes")
