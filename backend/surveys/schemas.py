"""Request and response schemas of the surveys API (the shared ones live in shared_schemas)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared_schemas.surveys import (
    SURVEY_STATUSES,
    GapPairSchema,
    ResponseInSchema,
    SurveyCreateSchema,
    SurveyOutSchema,
)

__all__ = [
    "GapOutSchema",
    "GapPairSchema",
    "MyResponseSchema",
    "ResponseInSchema",
    "ResultsArgsSchema",
    "SurveyCreateSchema",
    "SurveyListArgsSchema",
    "SurveyOutSchema",
]


class SurveyListArgsSchema(Schema):
    status = fields.String(validate=validate.OneOf(SURVEY_STATUSES))


class ResultsArgsSchema(Schema):
    by = fields.String(validate=validate.OneOf(["ward"]), load_default=None)


class MyResponseSchema(Schema):
    """A resident's own answers (never anyone else's)."""

    survey_id = fields.Integer(required=True)
    answers = fields.Dict(keys=fields.String(), values=fields.Raw())


class OptionResultSchema(Schema):
    value = fields.String()
    label = fields.String()
    count = fields.Integer()
    percent = fields.Float()
    mean_position = fields.Float(allow_none=True)  # rank: 1 = always first


class QuestionResultSchema(Schema):
    name = fields.String()
    label = fields.String()
    type = fields.String()
    answered = fields.Integer(allow_none=True)
    suppressed = fields.Boolean()
    options = fields.List(fields.Nested(OptionResultSchema))
    mean = fields.Float()
    median = fields.Float()
    quartiles = fields.List(fields.Float())  # decimal and range: [lower, upper]


class WardResultSchema(Schema):
    ward_code = fields.String(allow_none=True)
    ward_name = fields.String()
    respondents = fields.Integer(allow_none=True)
    suppressed = fields.Boolean()
    questions = fields.List(fields.Nested(QuestionResultSchema))


class ResultsSchema(Schema):
    """Counts and percentages; any group below ``min_group_size`` shows nulls and suppressed."""

    survey_id = fields.Integer()
    title = fields.String()
    status = fields.String()
    min_group_size = fields.Integer()
    respondents = fields.Integer(allow_none=True)
    suppressed = fields.Boolean()
    questions = fields.List(fields.Nested(QuestionResultSchema))
    wards = fields.List(fields.Nested(WardResultSchema))


class GapRowSchema(Schema):
    ward_code = fields.String(allow_none=True)
    ward_name = fields.String()
    respondents = fields.Integer(allow_none=True)
    perception_percent = fields.Float(allow_none=True)
    experience_percent = fields.Float(allow_none=True)
    gap_points = fields.Float(allow_none=True)
    suppressed = fields.Boolean()
    reports = fields.Integer(allow_none=True)


class PeriodSchema(Schema):
    start = fields.DateTime()
    end = fields.DateTime()


class GapOutSchema(Schema):
    """Perception versus experience per ward, next to concern reports in the same period."""

    survey_id = fields.Integer()
    period = fields.Nested(PeriodSchema)
    perception = fields.Dict()
    experience = fields.Dict()
    report_category = fields.String(allow_none=True)
    reports_available = fields.Boolean()
    min_group_size = fields.Integer()
    borough = fields.Nested(GapRowSchema)
    wards = fields.List(fields.Nested(GapRowSchema))
