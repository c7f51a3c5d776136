"""Survey results: counts and percentages with small-group suppression, the anonymised CSV,
bar charts, and the perception-versus-experience gap per ward.

Suppression (the same for every reader, admins included): a group is a set of respondents a
figure describes (everyone, one ward, the people in a ward who answered one question). A group
smaller than the survey's ``min_group_size`` shows no figures. So that a hidden ward cannot be
recovered by subtracting the shown wards from the borough total, if the hidden wards together
number fewer than the minimum, the smallest shown wards are hidden too until they do
(complementary suppression). Free-text answers are only ever counted, never shown.
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import io
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import case, func, literal_column, select

from backend.areas.service import ward_names
from backend.errors import NotFound
from backend.extensions import db
from backend.surveys.models import Survey, SurveyAnswer, SurveyQuestion, SurveyResponse
from shared_schemas.surveys import CATEGORICAL_TYPES, QuestionType

NO_WARD = "unknown"
CountsByWard = Callable[[datetime, datetime, str | None], dict[str, int] | None]


def suppressed_groups(sizes: dict[Hashable, int], minimum: int) -> set[Hashable]:
    """The groups to hide: those with 1..minimum-1 members, plus the smallest others until
    the hidden ones together reach ``minimum`` (or every non-empty group is hidden)."""
    hidden = {k for k, n in sizes.items() if 0 < n < minimum}
    if not hidden:
        return hidden
    shown = sorted((n, str(k), k) for k, n in sizes.items() if n >= minimum)
    while sum(sizes[k] for k in hidden) < minimum and shown:
        hidden.add(shown.pop(0)[2])
    return hidden


class _Answer(NamedTuple):
    value: str | None
    number: int | None


@dataclass
class _Response:
    ward: str
    answers: dict[int, list[_Answer]] = field(default_factory=dict)


def _load(survey: Survey, question_ids: list[int]) -> list[_Response]:
    """Every response with an answer to one of ``question_ids``, with those answers."""
    responses: dict[str, _Response] = {}
    rows = db.session.execute(
        select(
            SurveyAnswer.response_key,
            SurveyAnswer.ward_code,
            SurveyAnswer.question_id,
            SurveyAnswer.value,
            SurveyAnswer.number,
        ).where(SurveyAnswer.question_id.in_(question_ids))
    )
    for key, ward, question_id, value, number in rows:
        response = responses.setdefault(key, _Response(ward or NO_WARD))
        response.answers.setdefault(question_id, []).append(_Answer(value, number))
    return list(responses.values())


@dataclass
class _Tally:
    """Aggregates of one group (borough or ward), filled from SQL GROUP BY rows."""

    respondents: int = 0
    answered: Counter[int] = field(default_factory=Counter)  # question id -> people
    options: dict[int, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    numbers: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))

    def add(self, other: _Tally) -> None:
        self.respondents += other.respondents
        self.answered.update(other.answered)
        for qid, counts in other.options.items():
            self.options[qid].update(counts)
        for qid, numbers in other.numbers.items():
            self.numbers[qid].extend(numbers)


def _tallies(survey: Survey) -> dict[str, _Tally]:
    """Per ward (``NO_WARD`` for none): respondents, answered counts, option counts, numbers.

    Question ids belong to one survey and answers carry their response's ward, so every
    query reads one table (no join whose plan could go wrong on stale statistics)."""
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    for ward, n in db.session.execute(
        select(SurveyResponse.ward_code, func.count())
        .where(SurveyResponse.survey_id == survey.id)
        .group_by(SurveyResponse.ward_code)
    ):
        tallies[ward or NO_WARD].respondents = n
    all_ids = [q.id for q in survey.questions]
    # One pass: rows per (ward, question, value) for choice questions, per (ward, question) for
    # the rest; one row is one person except in multiple choice, counted apart below.
    categorical = [q.id for q in survey.questions if q.type in CATEGORICAL_TYPES]
    multiple = [q.id for q in survey.questions if q.type == QuestionType.MULTIPLE_CHOICE.value]
    # Labelled, and grouped by that name: PostgreSQL would not match two copies of a CASE
    # with separately bound parameters.
    value_or_none = case(
        (SurveyAnswer.question_id.in_(categorical or [-1]), SurveyAnswer.value), else_=None
    ).label("choice_value")
    for ward, qid, value, n in db.session.execute(
        select(SurveyAnswer.ward_code, SurveyAnswer.question_id, value_or_none, func.count())
        .where(SurveyAnswer.question_id.in_(all_ids))
        .group_by(SurveyAnswer.ward_code, SurveyAnswer.question_id, literal_column("choice_value"))
    ):
        tally = tallies[ward or NO_WARD]
        if value is not None:
            tally.options[qid][value] = n
        if qid not in multiple:
            tally.answered[qid] += n
    if multiple:
        # People, not choices: one (response, question) pair per person who answered.
        pairs = (
            select(SurveyAnswer.ward_code, SurveyAnswer.question_id, SurveyAnswer.response_key)
            .where(SurveyAnswer.question_id.in_(multiple))
            .group_by(SurveyAnswer.ward_code, SurveyAnswer.question_id, SurveyAnswer.response_key)
            .subquery()
        )
        for ward, qid, n in db.session.execute(
            select(pairs.c.ward_code, pairs.c.question_id, func.count()).group_by(
                pairs.c.ward_code, pairs.c.question_id
            )
        ):
            tallies[ward or NO_WARD].answered[qid] = n
    integers = [q.id for q in survey.questions if q.type == QuestionType.INTEGER.value]
    if integers:
        for ward, qid, number in db.session.execute(
            select(SurveyAnswer.ward_code, SurveyAnswer.question_id, SurveyAnswer.number)
            .where(SurveyAnswer.question_id.in_(integers))
            .where(SurveyAnswer.number.is_not(None))
        ):
            if number is not None:
                tallies[ward or NO_WARD].numbers[qid].append(number)
    return tallies


def _question_figures(q: SurveyQuestion, tally: _Tally, minimum: int) -> dict[str, Any]:
    answered = tally.answered.get(q.id, 0)
    if answered < minimum:
        return _suppressed_question(q)
    out: dict[str, Any] = {
        "name": q.name,
        "label": q.label,
        "type": q.type,
        "answered": answered,
        "suppressed": False,
    }
    if q.type in CATEGORICAL_TYPES:
        counts = tally.options.get(q.id, Counter())
        out["options"] = [
            {
                "value": c["value"],
                "label": c["label"],
                "count": counts.get(c["value"], 0),
                "percent": round(100.0 * counts.get(c["value"], 0) / answered, 1),
            }
            for c in q.choices or []
        ]
    elif q.type == QuestionType.INTEGER.value and tally.numbers.get(q.id):
        numbers = tally.numbers[q.id]
        out["mean"] = round(statistics.fmean(numbers), 2)
        out["median"] = statistics.median(numbers)
    return out


def _suppressed_question(q: SurveyQuestion) -> dict[str, Any]:
    return {"name": q.name, "label": q.label, "type": q.type, "answered": None, "suppressed": True}


def compute_results(survey: Survey, by_ward: bool = False) -> dict[str, Any]:
    """Counts and percentages per question, overall and (optionally) per ward, suppressed."""
    minimum = survey.min_group_size
    tallies = _tallies(survey)
    overall = _Tally()
    for tally in tallies.values():
        overall.add(tally)
    overall_hidden = overall.respondents < minimum
    result: dict[str, Any] = {
        "survey_id": survey.id,
        "title": survey.title,
        "status": survey.status,
        "min_group_size": minimum,
        "respondents": None if overall_hidden else overall.respondents,
        "suppressed": overall_hidden,
        "questions": [
            _suppressed_question(q) if overall_hidden else _question_figures(q, overall, minimum)
            for q in survey.questions
        ],
    }
    if by_ward:
        result["wards"] = _ward_breakdown(survey, tallies, overall_hidden)
    return result


def _ward_breakdown(
    survey: Survey, tallies: dict[str, _Tally], overall_hidden: bool
) -> list[dict[str, Any]]:
    minimum = survey.min_group_size
    groups = dict(tallies)
    for code in survey.target_wards:
        groups.setdefault(code, _Tally())
    sizes: dict[Hashable, int] = {code: t.respondents for code, t in groups.items()}
    hidden = set(groups) if overall_hidden else suppressed_groups(sizes, minimum)
    # Per question, the people in each ward who answered it form a group too.
    hidden_by_question = {
        q.id: suppressed_groups({c: t.answered.get(q.id, 0) for c, t in groups.items()}, minimum)
        for q in survey.questions
    }
    names = ward_names()
    wards = []
    for code in sorted(groups, key=lambda c: (names.get(c, "~"), c)):
        tally = groups[code]
        is_hidden = code in hidden
        wards.append(
            {
                "ward_code": None if code == NO_WARD else code,
                "ward_name": names.get(code, "No home ward set"),
                "respondents": None if is_hidden else tally.respondents,
                "suppressed": is_hidden,
                "questions": [
                    _suppressed_question(q)
                    if is_hidden or code in hidden_by_question[q.id]
                    else _question_figures(q, tally, minimum)
                    for q in survey.questions
                ],
            }
        )
    return wards


CSV_COLUMNS = [
    "survey_id",
    "question",
    "question_label",
    "group",
    "ward_code",
    "ward_name",
    "respondents",
    "answered",
    "answer",
    "answer_label",
    "count",
    "percent",
    "mean",
    "median",
    "suppressed",
]


def _safe_cell(value: Any) -> Any:
    """Defuse spreadsheet formulas in text cells (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv_rows(survey_id: int, group: dict[str, Any], label: str) -> Iterable[dict[str, Any]]:
    for q in group["questions"]:
        base = {
            "survey_id": survey_id,
            "question": q["name"],
            "question_label": q["label"],
            "group": label,
            "ward_code": group.get("ward_code") or "",
            "ward_name": group.get("ward_name") or "",
            "respondents": "" if group["respondents"] is None else group["respondents"],
            "answered": "" if q["answered"] is None else q["answered"],
            "suppressed": "yes" if q["suppressed"] else "no",
        }
        if q["suppressed"] or not q.get("options"):
            yield {**base, "mean": q.get("mean", ""), "median": q.get("median", "")}
            continue
        for option in q["options"]:
            yield {
                **base,
                "answer": option["value"],
                "answer_label": option["label"],
                "count": option["count"],
                "percent": option["percent"],
            }


def results_csv(survey: Survey, by_ward: bool = True) -> str:
    """The anonymised export: aggregate rows only, the same suppression as the JSON results."""
    results = compute_results(survey, by_ward=by_ward)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    groups = [(results, "borough")] + [(w, "ward") for w in results.get("wards", [])]
    for group, label in groups:
        for row in _csv_rows(survey.id, group, label):
            writer.writerow({k: _safe_cell(v) for k, v in row.items()})
    return out.getvalue()


def chart_svg(survey: Survey, question_name: str) -> str:
    """A bar chart (SVG) of one question's overall percentages; a suppressed question draws a
    notice instead of bars. Raises NotFound for an unknown or non-chartable question."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    question = next((q for q in survey.questions if q.name == question_name), None)
    if question is None or question.type not in CATEGORICAL_TYPES:
        raise NotFound(f"no chartable question {question_name!r} in survey {survey.id}")
    figures = next(q for q in compute_results(survey)["questions"] if q["name"] == question_name)
    fig = Figure(figsize=(7, 0.5 * max(len(question.choices or []), 2) + 1.2))
    FigureCanvasSVG(fig)
    ax = fig.add_subplot()
    ax.set_title(question.label[:90], fontsize=10, loc="left")
    if figures["suppressed"]:
        ax.text(
            0.5,
            0.5,
            f"Suppressed: fewer than {survey.min_group_size} answers",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
    else:
        options = list(reversed(figures["options"]))
        bars = ax.barh([o["label"][:40] for o in options], [o["percent"] for o in options])
        ax.bar_label(bars, labels=[f"{o['percent']:.0f}% ({o['count']})" for o in options])
        ax.set_xlim(0, 110)
        ax.set_xlabel(f"% of {figures['answered']} who answered")
    fig.tight_layout()
    out = io.StringIO()
    fig.savefig(out, format="svg")
    return out.getvalue()


# ---- perception versus experience ---------------------------------------------------------


def _reports_installed() -> bool:
    return (
        importlib.util.find_spec("backend.reports") is not None
        and importlib.util.find_spec("backend.reports.service") is not None
    )


def live_report_counts(
    start: datetime, end: datetime, category: str | None
) -> dict[str, int] | None:
    """Concern reports per ward from the reports domain, or None where it is not installed."""
    if not _reports_installed():
        return None
    module = importlib.import_module("backend.reports.service")
    return dict(module.counts_by_ward(start, end, category=category))


def _share(group: list[_Response], q: SurveyQuestion, values: set[str]) -> tuple[int, int]:
    answered = [r.answers[q.id] for r in group if q.id in r.answers]
    hits = sum(1 for rows in answered if any(a.value in values for a in rows))
    return hits, len(answered)


def _pct(hits: int, n: int) -> float | None:
    return round(100.0 * hits / n, 1) if n else None


def perception_gap(
    survey: Survey, now: datetime, counts_by_ward: CountsByWard | None = None
) -> dict[str, Any]:
    """Per ward: the share who call the problem big (perception), the share who experienced it,
    the gap in percentage points, and the concern reports in that ward over the survey's
    period. Suppressed like the results. ``counts_by_ward`` defaults to the reports domain."""
    if not survey.gap:
        raise NotFound(f"survey {survey.id} pairs no perception and experience questions")
    gap = survey.gap
    by_name = {q.name: q for q in survey.questions}
    perception = by_name[gap["perception"]["question"]]
    experience = by_name[gap["experience"]["question"]]
    p_values, e_values = set(gap["perception"]["values"]), set(gap["experience"]["values"])
    start = survey.opens_at or survey.created_at
    end = survey.closes_at if survey.closes_at and survey.closes_at < now else now
    counter = counts_by_ward or live_report_counts
    if end > start:
        reports = counter(start, end, gap.get("report_category"))
    else:  # not open yet: an empty period has no reports (and the reports domain refuses it)
        reports = {} if counts_by_ward is not None or _reports_installed() else None

    minimum = survey.min_group_size
    responses = _load(survey, [perception.id, experience.id])
    groups: dict[str, list[_Response]] = defaultdict(list)
    for r in responses:
        groups[r.ward].append(r)
    for code in list(survey.target_wards) + list(reports or {}):
        groups.setdefault(code, [])

    def both(members: list[_Response]) -> list[_Response]:
        return [r for r in members if perception.id in r.answers and experience.id in r.answers]

    sizes = {code: len(both(m)) for code, m in groups.items()}
    hidden = suppressed_groups(sizes, minimum)  # type: ignore[arg-type]

    def figures(members: list[_Response], is_hidden: bool) -> dict[str, Any]:
        paired = both(members)
        if is_hidden or not paired:
            return {
                "respondents": None if is_hidden else 0,
                "perception_percent": None,
                "experience_percent": None,
                "gap_points": None,
                "suppressed": is_hidden,
            }
        p_hits, n = _share(paired, perception, p_values)
        e_hits, _ = _share(paired, experience, e_values)
        return {
            "respondents": n,
            "perception_percent": _pct(p_hits, n),
            "experience_percent": _pct(e_hits, n),
            "gap_points": round(100.0 * (p_hits - e_hits) / n, 1),
            "suppressed": False,
        }

    names = ward_names()
    total_paired = sum(sizes.values())
    wards = []
    for code in sorted(groups, key=lambda c: (names.get(c, "~"), c)):
        row = {
            "ward_code": None if code == NO_WARD else code,
            "ward_name": names.get(code, "No home ward set"),
            **figures(groups[code], code in hidden or total_paired < minimum),
            "reports": None if reports is None else int(reports.get(code, 0)),
        }
        wards.append(row)
    return {
        "survey_id": survey.id,
        "period": {"start": start, "end": end},
        "perception": gap["perception"],
        "experience": gap["experience"],
        "report_category": gap.get("report_category"),
        "reports_available": reports is not None,
        "min_group_size": minimum,
        "borough": {
            **figures(responses, total_paired < minimum),
            "reports": None if reports is None else int(sum(reports.values())),
        },
        "wards": wards,
    }
