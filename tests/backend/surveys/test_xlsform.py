"""XLSForm authoring: a workbook built here is imported, opened and answered; anything
unsupported is refused with its row and the reason."""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pytest

from tests.backend.surveys.conftest import ABRAM, CLOSES, OPENS

SURVEY_HEADER = [
    "type",
    "name",
    "label",
    "required",
    "relevant",
    "constraint",
    "appearance",
    "hint",
]
BASE_ROWS = [
    ["select_one yn", "felt_unsafe", "Have you felt unsafe at night?", "yes", "", "", "", ""],
    [
        "select_multiple why",
        "why",
        "What made you feel unsafe?",
        "",
        "${felt_unsafe} = 'yes'",
        "count-selected(.) <= 2",
        "",
        "",
    ],
    ["select_one safe", "safe", "How safe do you feel after dark?", "yes", "", "", "likert", ""],
    ["select_one area", "area", "Where do you go out?", "", "", "", "", ""],
    [
        "integer",
        "evenings",
        "Evenings out last month",
        "true",
        "",
        ". >= 0 and . <= 31",
        "",
        "0 to 31",
    ],
    [
        "text",
        "comment",
        "Anything else?",
        "",
        "selected(${why}, 'dark')",
        "string-length(.) <= 50",
        "",
        "",
    ],
]
CHOICES = [
    ["yn", "yes", "Yes"],
    ["yn", "no", "No"],
    ["why", "dark", "Poor lighting"],
    ["why", "groups", "Groups hanging around"],
    ["why", "drink", "Drink or drugs"],
    *[
        ["safe", str(i), label]
        for i, label in enumerate(["Very unsafe", "Unsafe", "Neither", "Safe", "Very safe"], 1)
    ],
    ["area", "wigan", "Wigan town centre"],
    ["area", "leigh", "Leigh town centre"],
]


def workbook(
    rows=None,
    header=None,
    choices=None,
    choices_header=None,
    settings=(("form_title",), ("Night-time safety",)),
    extra_sheet=None,
) -> bytes:  # type: ignore[no-untyped-def]
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(header or SURVEY_HEADER)
    for row in BASE_ROWS if rows is None else rows:
        survey.append(row)
    sheet = book.create_sheet("choices")
    sheet.append(choices_header or ["list_name", "name", "label"])
    for row in CHOICES if choices is None else choices:
        sheet.append(row)
    if settings:
        sheet = book.create_sheet("settings")
        for row in settings:
            sheet.append(list(row))
    if extra_sheet:
        book.create_sheet(extra_sheet).append(["x"])
    out = io.BytesIO()
    book.save(out)
    book.close()
    return out.getvalue()


def upload(client, admin, content: bytes, **fields):  # type: ignore[no-untyped-def]
    data = {
        "file": (io.BytesIO(content), "night.xlsx"),
        "opens_at": OPENS,
        "closes_at": CLOSES,
        "target_wards": ABRAM,
        **fields,
    }
    return client.post(
        "/api/v1/surveys", data=data, content_type="multipart/form-data", headers=admin.headers
    )


def test_an_xlsform_built_here_is_imported_and_answered(client, admin, in_ward):
    response = upload(client, admin, workbook(), min_group_size="5")
    assert response.status_code == 201, response.get_json()
    survey = response.get_json()
    assert survey["title"] == "Night-time safety" and survey["source"] == "xlsform"
    assert survey["min_group_size"] == 5 and survey["target_wards"] == [ABRAM]
    q = {item["name"]: item for item in survey["questions"]}
    assert [n for n in q] == ["felt_unsafe", "why", "safe", "area", "evenings", "comment"]
    assert q["felt_unsafe"]["type"] == "yes_no" and q["felt_unsafe"]["required"] is True
    assert q["why"]["type"] == "multiple_choice" and q["why"]["max_choices"] == 2
    assert q["why"]["show_if"] == {"question": "felt_unsafe", "equals": "yes"}
    assert q["safe"]["type"] == "scale5"
    assert [c["label"] for c in q["safe"]["choices"]][0] == "Very unsafe"
    assert q["area"]["type"] == "single_choice" and len(q["area"]["choices"]) == 2
    assert (q["evenings"]["min_value"], q["evenings"]["max_value"]) == (0, 31)
    assert q["evenings"]["hint"] == "0 to 31" and q["evenings"]["required"] is True
    assert q["comment"]["max_length"] == 50
    assert q["comment"]["show_if"] == {"question": "why", "equals": "dark"}

    assert (
        client.post(f"/api/v1/surveys/{survey['id']}/open", headers=admin.headers).status_code
        == 200
    )
    resident = in_ward("r-xls", ABRAM)
    answers = {
        "felt_unsafe": "yes",
        "why": ["dark", "drink"],
        "safe": 2,
        "area": "leigh",
        "evenings": 4,
        "comment": "More lights on Bradshawgate",
    }
    ok = client.post(
        f"/api/v1/surveys/{survey['id']}/responses",
        json={"answers": answers},
        headers=resident.headers,
    )
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["answers"] == answers
    bad = client.post(
        f"/api/v1/surveys/{survey['id']}/responses",
        json={"answers": {**answers, "why": ["groups"], "evenings": 40}},
        headers=resident.headers,
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"comment", "evenings"}


@pytest.mark.parametrize(
    ("rows", "row_number", "reason"),
    [
        (
            [["geopoint", "where", "Where?", "", "", "", "", ""]],
            2,
            "a survey must not collect residents' positions without a purpose",
        ),
        ([["calculate", "c", "", "", "", "", "", ""]], 2, "Missing calculation"),  # pyxform's own
        ([["start", "start", "", "", "", "", "", ""]], 2, "metadata is not collected"),
        ([["image", "photo", "Photo", "", "", "", "", ""]], 2, "takes no uploads"),
        (
            [
                ["begin_repeat", "r", "R", "", "", "", "", ""],
                ["end_repeat", "", "", "", "", "", "", ""],
            ],
            2,
            "repeats and loops are not supported",
        ),
        (
            [
                ["begin_group", "g", "G", "", "${felt_unsafe} = 'yes'", "", "", ""],
                ["begin_group", "h", "H", "", "${felt_unsafe} = 'no'", "", "", ""],
                ["text", "t", "T", "", "", "", "", ""],
                ["end_group", "", "", "", "", "", "", ""],
                ["end_group", "", "", "", "", "", "", ""],
            ],
            3,
            "combine the conditions into one group",
        ),
        (
            [["text", "t", "T", "${felt_unsafe} = 'yes'", "", "", "", ""]],
            2,
            "required must be yes or no",
        ),
        ([["text", "t", "T", "", "${t} != ''", "", "", ""]], 2, "relevant"),
        ([["integer", "i", "I", "", "", ". mod 2 = 0", "", ""]], 2, "constraint"),
        ([["decimal", "d", "D", "", "", ". > 0", "", ""]], 2, "constraint"),
        ([["date", "d", "D", "", "", ". <= today()", "", ""]], 2, "constraint"),
        ([["text", "t", "T", "", "", "regex(., '^a')", "", ""]], 2, "constraint"),
        ([["select_one area", "a", "A", "", "", "", "map minimal", ""]], 2, "appearance 'map'"),
        ([["date", "d", "D", "", "", "", "month-year", ""]], 2, "appearance 'month-year'"),
        ([["select_one area", "a", "A", "", "", "", "likert", ""]], 2, "five choices named 1"),
        ([["select_one_from_file streets.csv", "s", "S", "", "", "", "", ""]], 2, "from a file"),
        ([["note", "n", "N", "yes", "", "", "", ""]], 2, "a note takes no answer"),
    ],
)
def test_unsupported_features_are_refused_with_row_and_reason(
    client, admin, rows, row_number, reason
):
    response = upload(client, admin, workbook(rows=[BASE_ROWS[0], *rows]))
    assert response.status_code == 422, response.get_json()
    problems = response.get_json()["errors"]["file"]
    row = re.compile(rf"row :? ?{row_number + 1}\b")
    assert any(row.search(p) and reason in p for p in problems), problems


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        (
            {"header": [*SURVEY_HEADER, "default"], "rows": [[*BASE_ROWS[0], "yes"]]},
            "survey row 2, column 'default'",
        ),
        (
            {"header": [*SURVEY_HEADER, "constraint_message"], "rows": [[*BASE_ROWS[0], "no"]]},
            "column 'constraint_message'",
        ),
        (
            {"header": ["type", "name", "label::Xyzzy"], "rows": [["text", "t", "T"]]},
            "cannot tell which language 'Xyzzy' is",
        ),
        (
            {
                "choices_header": ["list_name", "name", "label", "filter"],
                "choices": [[*c, "x" if i == 0 else ""] for i, c in enumerate(CHOICES)],
            },
            "choices row 2, column 'filter'",
        ),
        (
            {"settings": (("form_title", "submission_url"), ("T", "http://example.invalid"))},
            "settings row 2, column 'submission_url'",
        ),
        ({"extra_sheet": "external_choices"}, "sheet 'external_choices': external choices"),
        ({"rows": [["select_one nolist", "x", "X", "", "", "", "", ""]]}, "nolist"),
    ],
)
def test_unsupported_columns_sheets_and_lists_are_refused(client, admin, kwargs, fragment):
    response = upload(client, admin, workbook(**kwargs))
    assert response.status_code == 422, response.get_json()
    assert any(fragment in p for p in response.get_json()["errors"]["file"]), response.get_json()


def test_choice_names_the_app_cannot_store_are_refused_with_the_row(client, admin):
    choices = [
        ["yn", "yes", "Yes"],
        ["yn", "no", "No"],
        ["odd", "a b", "Spaced"],
        ["odd", "c", "C"],
    ]
    rows = [BASE_ROWS[0], ["select_one odd", "odd", "Odd", "", "", "", "", ""]]
    response = upload(client, admin, workbook(rows=rows, choices=choices))
    assert response.status_code == 422
    problems = response.get_json()["errors"]["file"]
    assert problems == [
        "survey row 3: choices.0.value: a choice name is 1 to 64 letters, digits, '_', '.'"
        " or '-' (no spaces)"
    ]


def test_a_relevant_pointing_at_a_later_question_is_refused_with_its_row(client, admin):
    rows = [
        ["text", "first", "First", "", "${second} = 'yes'", "", "", ""],
        ["select_one yn", "second", "Second", "", "", "", "", ""],
    ]
    response = upload(client, admin, workbook(rows=rows))
    assert response.status_code == 422
    problems = response.get_json()["errors"]["file"]
    assert problems == ["survey row 2: show_if refers to 'second', not an earlier question"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty"),
        (b"not a zip at all", "not a readable .xlsx"),
        (b"PK\x03\x04broken", "not a readable"),
    ],
)
def test_files_that_are_not_workbooks_are_refused(client, admin, content, fragment):
    response = upload(client, admin, content)
    assert response.status_code == 422
    assert fragment in response.get_json()["errors"]["file"][0]


def test_upload_without_a_file_or_with_bad_fields(client, admin):
    missing = client.post(
        "/api/v1/surveys",
        data={"title": "x"},
        content_type="multipart/form-data",
        headers=admin.headers,
    )
    assert missing.status_code == 422 and "file" in missing.get_json()["errors"]
    bad_ward = upload(client, admin, workbook(), target_wards="E05999999")
    assert bad_ward.status_code == 422 and "target_wards" in bad_ward.get_json()["errors"]
    bad_size = upload(client, admin, workbook(), min_group_size="ten")
    assert bad_size.status_code == 422 and "min_group_size" in bad_size.get_json()["errors"]


def test_only_admins_may_upload(client, resident):
    response = client.post(
        "/api/v1/surveys",
        data={"file": (io.BytesIO(workbook()), "f.xlsx")},
        content_type="multipart/form-data",
        headers=resident.headers,
    )
    assert response.status_code == 403


def test_a_workbook_that_unpacks_too_large_is_refused(client, admin, monkeypatch):
    from backend.surveys import xlsform

    monkeypatch.setattr(xlsform, "MAX_UNPACKED_BYTES", 1024 * 1024)  # keep the test small
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (2 * 1024 * 1024))
    response = upload(client, admin, out.getvalue())
    assert response.status_code == 422
    assert "unpacks to more than" in response.get_json()["errors"]["file"][0]
