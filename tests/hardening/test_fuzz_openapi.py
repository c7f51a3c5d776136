"""Schemathesis against the app's own ``/openapi.json``: every operation, anonymously, as a
resident and as an admin, with valid and invalid inputs, on the engine under test (the suite
runs once per engine). No 5xx, and every response conforms to the documented status codes,
content types and schemas. Bounded (``FUZZ_EXAMPLES`` per operation, derandomised) so it costs
well under two minutes per engine; ``SAFEHAVEN_FUZZ_EXAMPLES`` raises it. Schemathesis keeps
its files (``.schemathesis/``) under the session's temporary folder, not in the repository."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

FUZZ_EXAMPLES = int(os.environ.get("SAFEHAVEN_FUZZ_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
RUN_STATS: dict[str, int] = {"operations": 0, "examples": 0}


def _operations():  # type: ignore[no-untyped-def]
    from tests.support.apps import make_test_app

    spec_app = make_test_app("sqlite://")
    schema = schemathesis.openapi.from_wsgi("/openapi.json", spec_app)
    return sorted(op.ok().label for op in schema.get_all_operations())


OPERATIONS = _operations()


@pytest.fixture(scope="module", autouse=True)
def _schemathesis_files_in_a_temporary_folder(tmp_path_factory):  # type: ignore[no-untyped-def]
    from schemathesis.core import storage

    saved = storage.DEFAULT_ROOT
    storage.DEFAULT_ROOT = tmp_path_factory.mktemp("schemathesis") / ".schemathesis"
    yield
    storage.DEFAULT_ROOT = saved


@pytest.fixture(scope="module")
def api_schema(app):  # type: ignore[no-untyped-def]
    # Once per module: loading the document took most of each test's time.
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


def test_every_api_route_is_in_the_fuzzed_schema(app):
    documented = {label.split(" ", 1)[1] for label in OPERATIONS}
    api_rules = {
        rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith(("/api/", "/open"))
    }
    assert len(documented) >= len({r for r in api_rules if r.startswith("/api/")})
    assert OPERATIONS, "no operations found in /openapi.json"


@pytest.mark.parametrize("role", ["anonymous", "resident", "admin"])
@pytest.mark.parametrize("label", OPERATIONS)
def test_fuzz_operation(api_schema, label, role, make_person):
    from backend.extensions import limiter

    person = make_person(f"fuzz-{role}", role) if role != "anonymous" else None
    headers = {"Authorization": f"Bearer {person.token}"} if person else {}
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, label
    # The caller's token is fixed, not generated: a case made negative by a missing or
    # mangled Authorization header would be sent with the real one (and "accepted"). The
    # anonymous pass sends whatever is generated there.
    fixed = {"headers": headers} if headers else {}
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, **fixed),
        operation.as_strategy(GenerationMode.NEGATIVE, **fixed),
    )
    seen = {"n": 0}

    @settings(
        max_examples=FUZZ_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):  # type: ignore[no-untyped-def]
        seen["n"] += 1
        # Rate limits are tested on their own; here they would only turn examples into 429s.
        limiter.enabled = False
        try:
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)
        finally:
            limiter.enabled = True

    run()
    RUN_STATS["operations"] += 1
    RUN_STATS["examples"] += seen["n"]
    assert seen["n"] > 0
    print(f"fuzzed {label} as {role}: {seen['n']} examples (total {RUN_STATS})")
