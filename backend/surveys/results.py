"""Survey results: counts and percentages with small-group suppression, the anonymised CSV,
bar charts, and the perception-versus-experience gap per ward.

Suppression (the same for every reader, admins included): a group is a set of respondents a
figure describes (everyone, one ward, the people in a ward who answered one question). A group
smaller than the survey's ``min_group_size`` shows no figures. So that a hidden ward cannot be
recovered by subtracting the shown wards from the borough total, if the hidden wards together
number fewer than the minimum, the smallest shown wards are hidden too until they do
(complementary suppression). Free-text answers are only ever counted, never shown.

Every question type is suppressed the same way (a question's figures in a group are shown
only if at least ``min_group_size`` people in that group answered it), and every type reports
its distribution as ``options`` (value, label, count, percent of those who answered):
choices as given; decimal and range: binned counts (each step of a short range, else up to
ten equal bins with round edges) plus mean, median and quartiles; date: counts by month
(by year beyond three years); time: counts by three-hour band of UK local time; rank: per
choice the count and percent ranking it first and its mean position (1 = first). Notes take
no answers and are absent. Answers are stored as values, so the language a resident read
changes nothing here.
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import io
import json
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import case, func, literal_column, select

from backend.areas.service import ward_names
from backend.errors import NotFound
from backend.extensions import db
from backend.surveys.models import Survey, SurveyAnswer, SurveyQuestion, SurveyResponse
from shared_schemas.surveys import CATEGORICAL_TYPES, QuestionType

NO_WARD = "unknown"
# Types whose raw answers are gathered per group and summarised in Python.
SUMMARISED_TYPES = {
    QuestionType.DECIMAL.value,
    QuestionType.RANGE.value,
    QuestionType.DATE.value,
    QuestionType.TIME.value,
    QuestionType.RANK.value,
}
# Types answered with several rows per person (counted as people, not rows).
MULTI_ROW_TYPES = {QuestionType.MULTIPLE_CHOICE.value, QuestionType.RANK.value}
CHARTABLE_TYPES = CATEGORICAL_TYPES | SUMMARISED_TYPES
MAX_BINS = 10
MAX_GRID_OPTIONS = 21
TIME_BAND_HOURS = 3
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
    numbers: dict[int, list[int | float]] = field(default_factory=lambda: defaultdict(list))
    # date and time answers as text; rank answers as (choice, position) pairs
    texts: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    ranks: dict[int, list[tuple[str, int]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, other: _Tally) -> None:
        self.respondents += other.respondents
        self.answered.update(other.answered)
        for qid, counts in other.options.items():
            self.options[qid].update(counts)
        for qid, numbers in other.numbers.items():
            self.numbers[qid].extend(numbers)
        for qid, texts in other.texts.items():
            self.texts[qid].extend(texts)
        for qid, ranks in other.ranks.items():
            self.ranks[qid].extend(ranks)


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
    multiple = [q.id for q in survey.questions if q.type in MULTI_ROW_TYPES]
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
    kinds = {q.id: q.type for q in survey.questions if q.type in SUMMARISED_TYPES}
    if kinds:
        for ward, qid, value, number in db.session.execute(
            select(
                SurveyAnswer.ward_code,
                SurveyAnswer.question_id,
                SurveyAnswer.value,
                SurveyAnswer.number,
            ).where(SurveyAnswer.question_id.in_(list(kinds)))
        ):
            if value is None:
                continue
            tally = tallies[ward or NO_WARD]
            if kinds[qid] in (QuestionType.DECIMAL.value, QuestionType.RANGE.value):
                tally.numbers[qid].append(json.loads(value))
            elif kinds[qid] == QuestionType.RANK.value:
                tally.ranks[qid].append((value, number or 0))
            else:
                tally.texts[qid].append(value)
    return tallies


def _fmt(number: float) -> str:
    """A bin edge or grid value as people write it: 2, 2.5, 0.25 (no float noise)."""
    return f"{round(number, 10):g}"


def _nice_edges(lo: float, hi: float) -> list[float]:
    """At most MAX_BINS + 1 round edges covering lo..hi (widths 1, 2, 2.5 or 5 x 10^k)."""
    if hi <= lo:
        return [lo, lo + 1]
    raw = (hi - lo) / MAX_BINS
    power = 10 ** math.floor(math.log10(raw))
    width = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-12))
    start = math.floor(lo / width + 1e-9) * width
    edges = [start]
    while edges[-1] < hi - 1e-9 * width:
        edges.append(round(start + len(edges) * width, 10))
    return edges if len(edges) > 1 else [start, start + width]


def _number_options(q: SurveyQuestion, numbers: list[int | float]) -> list[dict[str, Any]]:
    """Counts per step of a short range, else per bin between round edges."""
    lo, hi, step = q.min_value, q.max_value, q.step
    if q.type == QuestionType.RANGE.value and lo is not None and hi is not None and step:
        points = int(round((hi - lo) / step)) + 1
        if points <= MAX_GRID_OPTIONS:
            grid = [round(lo + k * step, 10) for k in range(points)]
            on_grid = Counter(round(float(n), 10) for n in numbers)
            return [
                {"value": _fmt(v), "label": _fmt(v), "count": on_grid.get(round(v, 10), 0)}
                for v in grid
            ]
    if lo is None or hi is None:
        lo, hi = min(numbers), max(numbers)  # only the round edges around them are shown
    edges = _nice_edges(float(lo), float(hi))
    counts: Counter[int] = Counter()
    for n in numbers:
        index = next((i for i in range(len(edges) - 1) if n < edges[i + 1]), len(edges) - 2)
        counts[index] += 1
    last = len(edges) - 2
    return [
        {
            "value": f"{_fmt(a)}..{_fmt(b)}",
            "label": f"{_fmt(a)} to {_fmt(b)}" if i == last else f"{_fmt(a)} to under {_fmt(b)}",
            "count": counts.get(i, 0),
        }
        for i, (a, b) in enumerate(zip(edges, edges[1:], strict=False))
    ]


def _month_options(texts: list[str]) -> list[dict[str, Any]]:
    """Counts by month from the first to the last month answered (by year if that is more
    than three years)."""
    days = [date.fromisoformat(t) for t in texts]
    first, last = min(days), max(days)
    if (last.year - first.year) * 12 + last.month - first.month >= 36:
        counts = Counter(str(d.year) for d in days)
        years = [str(y) for y in range(first.year, last.year + 1)]
        return [{"value": y, "label": y, "count": counts.get(y, 0)} for y in years]
    counts = Counter(f"{d.year:04d}-{d.month:02d}" for d in days)
    out = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        key = f"{year:04d}-{month:02d}"
        label = date(year, month, 1).strftime("%B %Y")
        out.append({"value": key, "label": label, "count": counts.get(key, 0)})
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _time_options(texts: list[str]) -> list[dict[str, Any]]:
    """Counts by three-hour band of the day (UK local wall-clock times, as answered)."""
    counts = Counter(int(t[:2]) // TIME_BAND_HOURS for t in texts)
    return [
        {
            "value": f"{band * TIME_BAND_HOURS:02d}",
            "label": f"{band * TIME_BAND_HOURS:02d}:00 to {band * TIME_BAND_HOURS + 2:02d}:59",
            "count": counts.get(band, 0),
        }
        for band in range(24 // TIME_BAND_HOURS)
    ]


def _rank_options(q: SurveyQuestion, ranks: list[tuple[str, int]]) -> list[dict[str, Any]]:
    positions: dict[str, list[int]] = defaultdict(list)
    for value, position in ranks:
        positions[value].append(position)
    return [
        {
            "value": c["value"],
            "label": c["label"],
            "count": sum(1 for p in positions.get(c["value"], []) if p == 1),
            "mean_position": (
                round(statistics.fmean(positions[c["value"]]), 2)
                if positions.get(c["value"])
                else None
            ),
        }
        for c in q.choices or []
    ]


def _summary(q: SurveyQuestion, tally: _Tally) -> dict[str, Any]:
    """The distribution (and, for numbers, the centre and spread) of a summarised type."""
    out: dict[str, Any] = {}
    if q.type in (QuestionType.DECIMAL.value, QuestionType.RANGE.value):
        numbers = tally.numbers.get(q.id) or []
        if not numbers:
            return {"options": []}
        out["mean"] = round(statistics.fmean(numbers), 2)
        out["median"] = round(float(statistics.median(numbers)), 4)
        if len(numbers) >= 2:
            q1, _, q3 = statistics.quantiles(numbers, n=4, method="inclusive")
            out["quartiles"] = [round(q1, 4), round(q3, 4)]
        out["options"] = _number_options(q, numbers)
    elif q.type == QuestionType.RANK.value:
        out["options"] = _rank_options(q, tally.ranks.get(q.id) or [])
    else:
        texts = tally.texts.get(q.id) or []
        if not texts:
            return {"options": []}
        maker = _month_options if q.type == QuestionType.DATE.value else _time_options
        out["options"] = maker(texts)
    return out


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
    elif q.type in SUMMARISED_TYPES:
        out.update(_summary(q, tally))
        for option in out["options"]:
            option["percent"] = round(100.0 * option["count"] / answered, 1)
    return out


def _reported(survey: Survey) -> list[SurveyQuestion]:
    """The questions that have results: every one but notes."""
    return [q for q in survey.questions if q.type != QuestionType.NOTE.value]


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
            for q in _reported(survey)
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
        for q in _reported(survey)
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
                    for q in _reported(survey)
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
    "lower_quartile",
    "upper_quartile",
    "mean_position",
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
        quartiles = q.get("quartiles") or ["", ""]
        summary = {
            **base,
            "mean": q.get("mean", ""),
            "median": q.get("median", ""),
            "lower_quartile": quartiles[0],
            "upper_quartile": quartiles[1],
        }
        if q["suppressed"] or not q.get("options"):
            yield summary
            continue
        if "median" in q:  # numbers: a summary row, then the binned counts
            yield summary
        for option in q["options"]:
            yield {
                **base,
                "answer": option["value"],
                "answer_label": option["label"],
                "count": option["count"],
                "percent": option["percent"],
                "mean_position": option.get("mean_position", ""),
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
    if question is None or question.type not in CHARTABLE_TYPES:
        raise NotFound(f"no chartable question {question_name!r} in survey {survey.id}")
    figures = next(q for q in compute_results(survey)["questions"] if q["name"] == question_name)
    bars_count = len(figures.get("options") or question.choices or [])
    fig = Figure(figsize=(7, 0.5 * max(bars_count, 2) + 1.2))
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
        first = " ranking it first" if question.type == QuestionType.RANK.value else ""
        ax.set_xlabel(f"% of {figures['answered']} who answered{first}")
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
