"""Survey results: how long the suppressed results (borough + every ward) take to compute for
N responses, against a reference measured in the same run: one SQL GROUP BY that counts the
answers per question and value (the least any implementation must do).

    .venv/bin/python bench/surveys_results.py [--sizes 1000,10000,50000] [--engine sqlite|postgis]

Prints a table and writes bench/results/surveys_results.json (or _postgis.json).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    """Median wall time of ``fn()`` in milliseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def fill(survey, n: int, wards: list[str], rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """Insert n synthetic responses in bulk (Core inserts, the same keyed hashes)."""
    from backend.extensions import db
    from backend.surveys import seed, service
    from backend.surveys.models import SurveyAnswer, SurveyResponse, SurveyResponseOwner
    from shared_schemas.surveys import validate_answers

    questions = {q.name: q for q in survey.questions}
    dicts = [q.as_dict() for q in survey.questions]
    owners, responses, answers = [], [], []
    for i in range(n):
        uid = f"bench:{i}"
        key = service.response_key(survey.id, uid)
        owners.append({"survey_id": survey.id, "owner_hash": service.owner_hash(survey.id, uid)})
        ward = wards[i % len(wards)] if i % 7 else wards[rng.randrange(3)]
        responses.append({"key": key, "survey_id": survey.id, "ward_code": ward})
        cleaned, _ = validate_answers(dicts, seed._key_answers(rng, 0.5))
        for name, value in cleaned.items():
            for row in service._store_value(questions[name], value):
                answers.append(
                    {
                        "response_key": key,
                        "question_id": row.question_id,
                        "value": row.value,
                        "number": row.number,
                        "ward_code": ward,
                    }
                )
    for table, rows in (
        (SurveyResponseOwner.__table__, owners),
        (SurveyResponse.__table__, responses),
        (SurveyAnswer.__table__, answers),
    ):
        for start in range(0, len(rows), 5000):
            db.session.execute(table.insert(), rows[start : start + 5000])
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--engine", choices=["sqlite", "postgis"], default="sqlite")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    from sqlalchemy import delete, func, select

    from backend.areas import service as areas
    from backend.extensions import db
    from backend.surveys import results, seed, service
    from backend.surveys.models import SurveyAnswer, SurveyResponse, SurveyResponseOwner
    from shared_schemas.surveys import SurveyCreateSchema
    from tests.support import databases
    from tests.support.apps import dispose_all, make_test_app

    tmp = tempfile.TemporaryDirectory()
    if args.engine == "postgis":
        url = databases.fresh_pg_database("safehaven_bench_surveys")
    else:
        url = f"sqlite:///{tmp.name}/bench.sqlite3"
    app = make_test_app(url)
    rows_out = []
    with app.app_context():
        db.create_all()
        areas.load_wards()
        wards = [w.code for w in areas.list_wards()]
        spec = {k: v for k, v in seed.KEY_QUESTIONS.items() if k != "gap"}
        survey = service.create_survey(None, SurveyCreateSchema().load(spec))
        rng = random.Random(1)  # noqa: S311
        reference_query = (
            select(SurveyAnswer.question_id, SurveyAnswer.value, func.count())
            .join(SurveyResponse, SurveyAnswer.response_key == SurveyResponse.key)
            .where(SurveyResponse.survey_id == survey.id)
            .group_by(SurveyAnswer.question_id, SurveyAnswer.value)
        )
        for n in sizes:
            for model in (SurveyAnswer, SurveyResponse, SurveyResponseOwner):
                db.session.execute(delete(model))
            db.session.commit()
            fill(survey, n, wards, rng)
            answer_rows = db.session.scalar(select(func.count()).select_from(SurveyAnswer))
            ref = timed(lambda: db.session.execute(reference_query).all())
            overall = timed(lambda: results.compute_results(survey, by_ward=False))
            by_ward = timed(lambda: results.compute_results(survey, by_ward=True))
            csv_ms = timed(lambda: results.results_csv(survey, by_ward=True))
            rows_out.append(
                {
                    "responses": n,
                    "answer_rows": answer_rows,
                    "reference_group_by_ms": round(ref, 1),
                    "results_ms": round(overall, 1),
                    "results_by_ward_ms": round(by_ward, 1),
                    "csv_ms": round(csv_ms, 1),
                }
            )
        db.session.remove()
    dispose_all()
    if args.engine == "postgis":
        databases.drop_pg_database("safehaven_bench_surveys")
    tmp.cleanup()

    header = [
        "responses",
        "answer_rows",
        "reference_group_by_ms",
        "results_ms",
        "results_by_ward_ms",
        "csv_ms",
    ]
    print(f"survey results on {args.engine} (median of 3, ms)")
    print(" | ".join(f"{h:>22}" for h in header))
    for row in rows_out:
        print(" | ".join(f"{row[h]:>22}" for h in header))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    name = "surveys_results" + ("_postgis" if args.engine == "postgis" else "") + ".json"
    (out / name).write_text(json.dumps({"engine": args.engine, "rows": rows_out}, indent=2) + "\n")


if __name__ == "__main__":
    main()
