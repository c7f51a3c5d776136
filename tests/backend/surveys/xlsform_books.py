"""XLSForm workbooks for the tests: any sheets as rows, built with openpyxl, and the example
forms of pyxform's own test suite (tests/example_xls in the XLSForm/pyxform repository,
re-entered here as rows, since the installed package does not ship them)."""

from __future__ import annotations

import io

import openpyxl


def book(sheets: dict[str, list[list[object]]]) -> bytes:
    """An .xlsx with one sheet per entry (first row the header), in the order given."""
    workbook = openpyxl.Workbook()
    first = True
    for name, rows in sheets.items():
        sheet = workbook.active if first else workbook.create_sheet(name)
        sheet.title = name
        first = False
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    workbook.close()
    return out.getvalue()


# name -> (sheets, expected): "uploads", or the refusal lines' fragments, one per cause.
PYXFORM_EXAMPLES: dict[str, tuple[dict[str, list[list[object]]], list[str] | str]] = {
    "group.md": (
        {
            "survey": [
                ["type", "name", "label:English (en)"],
                ["text", "family_name", "What's your family name?"],
                ["begin group", "father", "Father"],
                ["phone number", "phone_number", "What's your father's phone number?"],
                ["integer", "age", "How old is your father?"],
                ["end group", "", ""],
            ]
        },
        ["survey row 4, column 'type': phone numbers are not asked"],
    ),
    "specify_other.md": (
        {
            "survey": [
                ["type", "name", "label:English"],
                ["select one from sexes or specify other", "sex", "What sex are you?"],
            ],
            "choices": [
                ["list name", "name", "label:English"],
                ["sexes", "male", "Male"],
                ["sexes", "female", "Female"],
            ],
        },
        "uploads",
    ),
    "text_and_integer.md": (
        {
            "survey": [
                ["type", "name", "label:english"],
                ["text", "your_name", "What is your name?"],
                ["integer", "your_age", "How many years old are you?"],
            ],
            "choices": [["list name", "name", "label:english"]],
        },
        "uploads",
    ),
    "yes_or_no_question.md": (
        {
            "survey": [
                ["type", "name", "label:english"],
                ["select one from yes_or_no", "good_day", "have you had a good day today?"],
            ],
            "choices": [
                ["list name", "name", "label:english"],
                ["yes_or_no", "yes", "yes"],
                ["yes_or_no", "no", "no"],
            ],
        },
        "uploads",
    ),
    "case_insensitivity.md": (
        {
            "SURVEY": [
                ["TYPE", "NAME", "LABEL::EN", "CHOICE_FILTER"],
                ["select_one c1", "q1", "Are you good?", ""],
                ["select_one_external c1", "q2", "Where are you?", "YES_NO=${q1}"],
                ["osm c1", "q3", "Where exactly?", ""],
            ],
            "CHOICES": [
                ["LIST_NAME", "NAME", "LABEL::EN"],
                ["c1", "n1-c", "l1-c"],
                ["c1", "n2-c", "l2-c"],
            ],
            "SETTINGS": [
                ["FORM_TITLE", "FORM_ID", "DEFAULT_LANGUAGE"],
                ["Yes or no", "YesNo", "EN"],
            ],
            "EXTERNAL_CHOICES": [
                ["LIST_NAME", "NAME", "LABEL", "YES_NO"],
                ["c1", "n1-e", "l1-e", "yes"],
                ["c1", "n2-e", "l2-e", "yes"],
            ],
            "ENTITIES": [["DATASET", "LABEL"], ["e1", "l1"]],
            "OSM": [["LIST_NAME", "NAME", "LABEL"], ["c1", "n1-o", "l1-o"], ["c1", "n2-o", "l2-o"]],
        },
        [
            "sheet 'external_choices': external choices are not supported",
            "sheet 'entities': entities are not supported",
            "sheet 'osm': OSM questions are not supported",
            "survey row 3, column 'choice_filter': filtered choices are not supported",
            "survey row 3, column 'type': choices from a file or an external list",
            "survey row 4, column 'type': location questions",
        ],
    ),
    "loop.md": (
        {
            "survey": [
                ["type", "name", "label:english"],
                [
                    "select all that apply from toilet_type or specify other",
                    "available_toilet_types",
                    "What type of toilets are on the premises?",
                ],
                ["begin loop over toilet_type", "loop_toilet_types"],
                ["integer", "number", "How many %(label)s are on the premises?"],
                ["end loop"],
            ],
            "choices": [
                ["list name", "name", "label:english"],
                ["toilet_type", "pit_latrine_with_slab", "Pit latrine with slab"],
                ["toilet_type", "open_pit_latrine", "Pit latrine without slab/open pit"],
                ["toilet_type", "bucket_system", "Bucket system"],
            ],
        },
        ["survey row 3, column 'type': repeats and loops are not supported"],
    ),
    "include.md": (
        {
            "survey": [
                ["type", "name", "label:English"],
                ["text", "name", "What's your name?"],
                ["include", "yes_or_no_question", "Yes or no question section"],
            ],
            "choices": [["list name", "name", "label:english"]],
        },
        ["survey row 3, column 'type': including another form is not supported"],
    ),
    "include_json.md": (
        {
            "survey": [
                ["type", "name", "label:English"],
                ["include", "how_old_are_you", ""],
            ],
            "choices": [["list name", "name", "label:english"]],
        },
        ["survey row 2, column 'type': including another form is not supported"],
    ),
}
