"""XLSForms as people write them: language columns, groups, the newer question types,
"or other", pyxform's own example forms, and refusals said once per cause."""

from __future__ import annotations

import io
import re

import pytest

from tests.backend.surveys.conftest import ABRAM, CLOSES, OPENS
from tests.backend.surveys.xlsform_books import PYXFORM_EXAMPLES, book

EN, PL, UR = "label::English (en)", "label::Polski (pl)", "label::Urdu"
SURVEY = [
    [
        "type",
        "name",
        EN,
        PL,
        UR,
        "hint::English (en)",
        "hint::Polski (pl)",
        "relevant",
        "required",
        "constraint",
        "parameters",
        "appearance",
    ],
    ["note", "intro", "Thank you for helping", "Dziękujemy", "شکریہ", "", "", "", "", "", "", ""],
    [
        "select_one yn",
        "out",
        "Out after dark?",
        "Po zmroku?",
        "رات کو باہر؟",
        "",
        "",
        "",
        "yes",
        "",
        "",
        "",
    ],
    [
        "begin group",
        "night",
        "At night",
        "W nocy",
        "رات کو",
        "",
        "",
        "${out} = 'yes'",
        "",
        "",
        "",
        "field-list",
    ],
    ["time", "home", "Home by?", "O której w domu?", "", "24-hour", "", "", "", "", "", ""],
    [
        "rank streets",
        "streets",
        "Rank the streets",
        "Uszereguj ulice",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    ["begin group", "dark", "Dark places", "Ciemne miejsca", "", "", "", "", "", "", "", ""],
    [
        "select_one where or_other",
        "where",
        "Darkest place?",
        "Najciemniej?",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    ["end group", "", "", "", "", "", "", "", "", "", "", ""],
    [
        "decimal",
        "miles",
        "Miles walked",
        "Mile",
        "",
        "",
        "",
        "",
        "",
        ". >= 0 and . <= 20.5",
        "",
        "",
    ],
    ["end group", "", "", "", "", "", "", "", "", "", "", ""],
    [
        "range",
        "calm",
        "How calm?",
        "Jak spokojnie?",
        "",
        "",
        "",
        "",
        "",
        "",
        "start=0 end=10 step=0.5",
        "",
    ],
    ["date", "when", "Last incident", "Ostatni incydent", "", "", "", "", "", "", "", ""],
]
CHOICES = [
    ["list_name", "name", EN, PL, UR],
    ["yn", "yes", "Yes", "Tak", "ہاں"],
    ["yn", "no", "No", "Nie", "نہیں"],
    ["streets", "wallgate", "Wallgate", "Wallgate", ""],
    ["streets", "market", "Market Street", "Targowa", ""],
    ["streets", "library", "Library Street", "Biblioteczna", ""],
    ["where", "park", "Mesnes Park", "Park", ""],
    ["where", "station", "The station", "Dworzec", ""],
]
SETTINGS = [["form_title", "default_language"], ["Night-time safety", "English (en)"]]


def upload(client, admin, content: bytes, **fields):  # type: ignore[no-untyped-def]
    data = {
        "file": (io.BytesIO(content), "form.xlsx"),
        "opens_at": OPENS,
        "closes_at": CLOSES,
        "target_wards": ABRAM,
        **fields,
    }
    return client.post(
        "/api/v1/surveys", data=data, content_type="multipart/form-data", headers=admin.headers
    )


def grouped(**sheets):  # type: ignore[no-untyped-def]
    return book({"survey": SURVEY, "choices": CHOICES, "settings": SETTINGS, **sheets})


def test_a_translated_grouped_form_becomes_a_survey_in_three_languages(client, admin, in_ward):
    response = upload(client, admin, grouped())
    assert response.status_code == 201, response.get_json()
    survey = response.get_json()
    assert survey["languages"] == [
        {"code": "en", "name": "English"},
        {"code": "pl", "name": "Polski"},
        {"code": "ur", "name": "Urdu"},
    ]
    assert survey["default_language"] == "en"
    assert survey["sections"] == [
        {
            "name": "night",
            "label": "At night",
            "translations": {"pl": {"label": "W nocy"}, "ur": {"label": "رات کو"}},
            "show_if": {"question": "out", "equals": "yes"},
        },
        {
            # The nested group: its own heading, the outer group's condition.
            "name": "dark",
            "label": "Dark places",
            "translations": {"pl": {"label": "Ciemne miejsca"}},
            "show_if": {"question": "out", "equals": "yes"},
        },
        {
            # The outer group resumes after the nested one.
            "name": "night_2",
            "label": "At night",
            "translations": {"pl": {"label": "W nocy"}, "ur": {"label": "رات کو"}},
            "show_if": {"question": "out", "equals": "yes"},
        },
    ]
    q = {item["name"]: item for item in survey["questions"]}
    assert [(n, item["type"], item["section"]) for n, item in q.items()] == [
        ("intro", "note", None),
        ("out", "yes_no", None),
        ("home", "time", "night"),
        ("streets", "rank", "night"),
        ("where", "single_choice", "dark"),
        ("where_other", "text", "dark"),
        ("miles", "decimal", "night_2"),
        ("calm", "range", None),
        ("when", "date", None),
    ]
    assert q["intro"]["translations"] == {"pl": {"label": "Dziękujemy"}, "ur": {"label": "شکریہ"}}
    assert q["out"]["translations"]["ur"] == {
        "label": "رات کو باہر؟",
        "choices": {"yes": "ہاں", "no": "نہیں"},
    }
    assert q["home"]["hint"] == "24-hour"
    assert q["streets"]["translations"]["pl"]["choices"]["market"] == "Targowa"
    assert [c["value"] for c in q["where"]["choices"]] == ["park", "station", "other"]
    assert q["where_other"]["show_if"] == {"question": "where", "equals": "other"}
    assert (q["miles"]["min_value"], q["miles"]["max_value"]) == (0, 20.5)
    assert (q["calm"]["min_value"], q["calm"]["max_value"], q["calm"]["step"]) == (0, 10, 0.5)

    # Answered in Polish or in English, the stored answers are the same values.
    client.post(f"/api/v1/surveys/{survey['id']}/open", headers=admin.headers)
    answers = {
        "out": "yes",
        "home": "23:30",
        "streets": ["market", "wallgate", "library"],
        "where": "other",
        "where_other": "Behind the library",
        "miles": 1.5,
        "calm": 6.5,
        "when": "2026-10-31",
    }
    resident = in_ward("r-pl", ABRAM)
    sent = client.post(
        f"/api/v1/surveys/{survey['id']}/responses",
        json={"answers": answers},
        headers=resident.headers,
    )
    assert sent.status_code == 201, sent.get_json()
    assert sent.get_json()["answers"] == answers


@pytest.mark.parametrize(
    ("label_columns", "settings", "languages", "default"),
    [
        # Settings name the default; the plain column is that language.
        (
            ["label", "label::Polski (pl)"],
            [["default_language"], ["English (en)"]],
            ["en", "pl"],
            "en",
        ),
        # A plain column next to translated ones, and no setting: read as English.
        (["label", "label::Polski (pl)"], None, ["en", "pl"], "en"),
        # Only suffixed columns, no setting: the first language of the survey sheet
        # (the default language is always listed first).
        (["label::Polski (pl)", "label::English (en)"], None, ["pl", "en"], "pl"),
        # A code alone, any case; a name alone.
        (["label::PL", "label::english"], [["default_language"], ["english"]], ["en", "pl"], "en"),
        # A plain column beside one in the language it is read as: one language, not two.
        (["label", "label::English (en)", "label::Polski (pl)"], None, ["en", "pl"], "en"),
        # One language, plain: no languages at all.
        (["label"], None, [], None),
    ],
)
def test_the_default_language(client, admin, label_columns, settings, languages, default):
    survey = [["type", "name", *label_columns], ["text", "t", *["Text"] * len(label_columns)]]
    sheets = {"survey": survey}
    if settings:
        sheets["settings"] = settings
    response = upload(client, admin, book(sheets))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert [lang["code"] for lang in body["languages"]] == languages
    assert body["default_language"] == default


def test_a_default_language_the_form_lacks_is_refused_once(client, admin):
    survey = [
        ["type", "name", "label::English (en)", "label::Polski (pl)"],
        ["text", "a", "A", "A"],
        ["text", "b", "B", "B"],
    ]
    sheets = {"survey": survey, "settings": [["default_language"], ["Urdu (ur)"]]}
    response = upload(client, admin, book(sheets))
    assert response.status_code == 422
    assert response.get_json()["errors"]["file"] == [
        "settings row 2, column 'default_language': 'Urdu (ur)' is not one of the form's"
        " languages (English (en), Polski (pl)): name one of them"
    ]


def test_a_missing_default_label_names_the_column_and_rows_once(client, admin):
    survey = [
        ["type", "name", "label::English (en)", "label::Polski (pl)"],
        ["text", "a", "", "A"],
        ["text", "b", "", "B"],
        ["text", "c", "C", "C"],
    ]
    response = upload(client, admin, book({"survey": survey}))
    assert response.status_code == 422
    assert response.get_json()["errors"]["file"] == [
        "survey rows 2 and 3, column 'label::English (en)': a question needs a label in the"
        " default language: write one"
    ]


def test_each_cause_is_said_once_with_all_its_rows(client, admin):
    """A long form that uses many refused features on many rows: one line per cause."""
    header = ["type", "name", "label", "default", "constraint_message", "image", "choice_filter"]
    rows = [header]
    rows += [["geopoint", f"where_{i}", "Where?", "", "", "", ""] for i in range(40)]
    rows += [["image", f"photo_{i}", "Photo", "", "", "", ""] for i in range(30)]
    rows += [["text", f"t_{i}", "T", "x", "Say more", "pic.png", ""] for i in range(50)]
    rows += [["geoshape", "area", "Area", "", "", "", ""]]
    rows += [["begin repeat", f"r_{i}", "R", "", "", "", ""] for i in range(1)]
    rows += [["text", "inner", "Inner", "", "", "", ""], ["end repeat", "", "", "", "", "", ""]]
    response = upload(client, admin, book({"survey": rows}))
    assert response.status_code == 422
    problems = response.get_json()["errors"]["file"]
    assert len(problems) == len(set(problems)) == 6, problems
    assert problems[0] == (
        "survey rows 72-121, column 'default': default answers are not supported: residents"
        " give their own; remove the column"
    )
    assert any(
        p.startswith("survey rows 2-41 and 122, column 'type': location questions")
        for p in problems
    ), problems
    assert any(p.startswith("survey rows 42-71, column 'type': file, photo") for p in problems)
    assert any(p.startswith("survey row 123, column 'type': repeats") for p in problems)
    assert any("column 'constraint_message': custom messages" in p for p in problems)
    assert any("column 'image': media are not supported" in p for p in problems)


def test_or_other_never_errs_about_the_question_pyxform_adds(client, admin):
    """Translated "or other" makes pyxform warn and add an untranslated question; neither is
    the author's problem, and a real problem elsewhere is named without it."""
    survey = [
        ["type", "name", EN, PL],
        ["select_one where or_other", "where", "Where?", "Gdzie?"],
        ["select_multiple where or_other", "also", "Also?", "Też?"],
    ]
    choices = [
        ["list_name", "name", EN, PL],
        ["where", "park", "Park", "Park"],
        ["where", "station", "Station", "Dworzec"],
    ]
    response = upload(client, admin, book({"survey": survey, "choices": choices}))
    assert response.status_code == 201, response.get_json()
    names = [q["name"] for q in response.get_json()["questions"]]
    assert names == ["where", "where_other", "also", "also_other"]
    broken = [*survey, ["geopoint", "gps", "GPS", "GPS"]]
    response = upload(client, admin, book({"survey": broken, "choices": choices}))
    assert response.status_code == 422
    problems = response.get_json()["errors"]["file"]
    assert len(problems) == 1 and problems[0].startswith("survey row 4, column 'type'"), problems
    assert not any("other" in p for p in problems)


def test_appearances_that_only_change_the_look_are_accepted(client, admin):
    survey = [
        ["type", "name", "label", "appearance"],
        ["select_one where", "where", "Where?", "minimal"],
        ["select_multiple where", "also", "Also?", "horizontal-compact"],
        ["text", "more", "More?", "multiline"],
        ["range", "calm", "Calm?", "vertical no-ticks"],
    ]
    choices = [["list_name", "name", "label"], ["where", "park", "Park"], ["where", "pier", "Pier"]]
    response = upload(client, admin, book({"survey": survey, "choices": choices}))
    assert response.status_code == 201, response.get_json()
    types = [q["type"] for q in response.get_json()["questions"]]
    assert types == ["single_choice", "multiple_choice", "text", "range"]


def test_kobo_bookkeeping_columns_are_ignored(client, admin):
    survey = [
        ["type", "name", "label::English (en)", "$kuid", "$autoname"],
        ["integer", "age", "Age", "abc123", "age"],
    ]
    choices = [["list_name", "name", "label::English (en)", "$kuid"]]
    response = upload(client, admin, book({"survey": survey, "choices": choices}))
    assert response.status_code == 201, response.get_json()
    assert [q["name"] for q in response.get_json()["questions"]] == ["age"]


def test_range_parameters_and_defaults(client, admin):
    survey = [
        ["type", "name", "label", "parameters"],
        ["range", "plain", "Plain", ""],
        ["range", "down", "Down", "start=10 end=0 step=2"],
    ]
    response = upload(client, admin, book({"survey": survey}))
    assert response.status_code == 201, response.get_json()
    q = {item["name"]: item for item in response.get_json()["questions"]}
    assert (q["plain"]["min_value"], q["plain"]["max_value"], q["plain"]["step"]) == (1, 10, 1)
    assert (q["down"]["min_value"], q["down"]["max_value"], q["down"]["step"]) == (0, 10, 2)


@pytest.mark.parametrize("name", sorted(PYXFORM_EXAMPLES))
def test_pyxform_example_forms_upload_or_are_refused_once_per_cause(client, admin, name):
    sheets, expected = PYXFORM_EXAMPLES[name]
    response = upload(client, admin, book(sheets))
    if expected == "uploads":
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["questions"]
        return
    assert response.status_code == 422, response.get_json()
    problems = response.get_json()["errors"]["file"]
    assert len(problems) == len(expected), problems
    for line, fragment in zip(problems, expected, strict=True):
        assert line.startswith(fragment), (line, fragment)
        # Each line says where (sheet, and row and column where there is one) and what to do.
        assert re.match(r"^(sheet '\w+'|survey rows? [\d, -and]+, column '\w+'): .+", line), line


def test_problems_found_after_reading_name_their_rows(client, admin):
    """A group's relevant and two questions' relevant point at later questions: each cause
    named once, at its rows."""
    survey = [
        ["type", "name", "label", "relevant"],
        ["begin group", "later", "Later", "${out} = 'yes'"],
        ["text", "t", "T", ""],
        ["end group", "", "", ""],
        ["select_one yn", "out", "Out?", ""],
        ["text", "u", "U", "${last} = 'yes'"],
        ["text", "v", "V", "${last} = 'yes'"],
        ["select_one yn", "last", "Last?", ""],
    ]
    choices = [["list_name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]]
    response = upload(client, admin, book({"survey": survey, "choices": choices}))
    assert response.status_code == 422
    assert response.get_json()["errors"]["file"] == [
        "survey row 2: show_if refers to 'out', not an earlier question",
        "survey rows 6 and 7: show_if refers to 'last', not an earlier question",
    ]


def test_pyxform_errors_are_passed_on(client, admin):
    survey = [["type", "name", "label"], ["begin group", "g", "G"], ["text", "t", "T"]]
    response = upload(client, admin, book({"survey": survey}))
    assert response.status_code == 422
    problems = response.get_json()["errors"]["file"]
    assert len(problems) == 1 and "end_group" in problems[0].replace(" ", "_"), problems
