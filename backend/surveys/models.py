"""Surveys, their questions, and answers stored apart from who gave them.

``survey_responses`` and ``survey_answers`` carry no user id, uid, device or timestamp;
``survey_response_owners`` records only that a keyed hash of (survey, resident) has answered.
See ``backend/surveys/service.py`` for how the two are kept unlinkable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, utcnow
from shared_schemas.surveys import DEFAULT_MIN_GROUP_SIZE, SurveyStatus


class Survey(Base):
    """A consultation: its audience, its window and its privacy threshold."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(
        String(10), nullable=False, default=SurveyStatus.DRAFT.value, index=True
    )
    opens_at: Mapped[datetime | None] = mapped_column()
    closes_at: Mapped[datetime | None] = mapped_column()
    borough_wide: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    min_group_size: Mapped[int] = mapped_column(
        Integer, nullable=False, default=DEFAULT_MIN_GROUP_SIZE
    )
    source: Mapped[str] = mapped_column(String(10), nullable=False, default="json")
    gap: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The shared schema's shapes as JSON: [{"code", "name"}], {code: title}, [section dicts].
    languages: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    default_language: Mapped[str | None] = mapped_column(String(35))
    title_translations: Mapped[dict[str, str] | None] = mapped_column(JSON)
    sections: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)

    questions: Mapped[list[SurveyQuestion]] = relationship(
        back_populates="survey",
        order_by="SurveyQuestion.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    wards: Mapped[list[SurveyWard]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def target_wards(self) -> list[str]:
        return sorted(w.ward_code for w in self.wards)

    def section_list(self) -> list[dict[str, Any]]:
        """The sections in the shared schema's shape (what ``validate_answers`` takes)."""
        return [dict(s) for s in self.sections or []]


class SurveyWard(Base):
    """A ward a survey is targeted at (none, with ``borough_wide``, means everyone)."""

    __tablename__ = "survey_wards"

    survey_id: Mapped[int] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True
    )
    ward_code: Mapped[str] = mapped_column(
        ForeignKey("wards.code", ondelete="CASCADE"), primary_key=True, index=True
    )


class SurveyQuestion(Base):
    """One question; ``choices`` and ``show_if`` are the shared schema's shapes as JSON."""

    __tablename__ = "survey_questions"
    __table_args__ = (UniqueConstraint("survey_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    label: Mapped[str] = mapped_column(String(500), nullable=False)
    hint: Mapped[str | None] = mapped_column(String(500))
    type: Mapped[str] = mapped_column(String(20), nullable=False)
    required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    choices: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    # Floats since decimal and range bounds may be fractions; whole numbers read back as int.
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)
    step: Mapped[float | None] = mapped_column(Float)
    max_length: Mapped[int | None] = mapped_column(Integer)
    max_choices: Mapped[int | None] = mapped_column(Integer)
    show_if: Mapped[dict[str, str] | None] = mapped_column(JSON)
    section: Mapped[str | None] = mapped_column(String(64))
    translations: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    survey: Mapped[Survey] = relationship(back_populates="questions")

    def as_dict(self) -> dict[str, Any]:
        """The question in the shared schema's shape (what ``validate_answers`` takes)."""
        return {
            "name": self.name,
            "label": self.label,
            "hint": self.hint,
            "type": self.type,
            "required": self.required,
            "choices": list(self.choices or []),
            "min_value": _number(self.min_value),
            "max_value": _number(self.max_value),
            "step": _number(self.step),
            "max_length": self.max_length,
            "max_choices": self.max_choices,
            "show_if": dict(self.show_if) if self.show_if else None,
            "section": self.section,
            "translations": dict(self.translations or {}),
        }


def _number(value: float | None) -> int | float | None:
    """A stored bound as the author wrote it: 5.0 reads back as 5, 0.25 as 0.25."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else float(value)


class SurveyResponseOwner(Base):
    """That someone answered: a keyed hash of (survey, resident), nothing else."""

    __tablename__ = "survey_response_owners"

    survey_id: Mapped[int] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True
    )
    owner_hash: Mapped[str] = mapped_column(String(64), primary_key=True)


class SurveyResponse(Base):
    """One resident's answers, keyed by a second keyed hash; no person, device or time."""

    __tablename__ = "survey_responses"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # The respondent's home ward when they answered (for breakdowns; None = not set).
    ward_code: Mapped[str | None] = mapped_column(String(9))

    answers: Mapped[list[SurveyAnswer]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class SurveyAnswer(Base):
    """One answered value; a multiple-choice answer is one row per chosen value, a rank
    answer one row per choice with its position (1 = first) in ``number``. Decimal and range
    answers are their number as text in ``value``; dates "YYYY-MM-DD", times "HH:MM"."""

    __tablename__ = "survey_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_key: Mapped[str] = mapped_column(
        ForeignKey("survey_responses.key", ondelete="CASCADE"), nullable=False, index=True
    )
    question_id: Mapped[int] = mapped_column(
        ForeignKey("survey_questions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    value: Mapped[str | None] = mapped_column(Text)
    number: Mapped[int | None] = mapped_column(Integer)
    # The response's ward, repeated so results aggregate this table alone (no join).
    ward_code: Mapped[str | None] = mapped_column(String(9))
