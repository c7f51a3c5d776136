"""XLSForm workbooks built in the test, and residents answering through the API."""

from __future__ import annotations

import io


def xlsform(rows: list[list[object]] | None = None, title: str = "Night-time safety") -> bytes:
    """An XLSForm .xlsx: a select_one, a select_multiple and a text question by default."""
    import openpyxl

    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label", "required"])
    for row in rows or [
        ["select_one safe", "feel_safe", "Do you feel safe in the town centre at night?", "yes"],
        ["select_multiple help", "helps", "What would help?", "no"],
        ["text", "comments", "Anything else?", "no"],
    ]:
        survey.append(row)
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label"])
    for row in [
        ["safe", "very", "Very safe"],
        ["safe", "fairly", "Fairly safe"],
        ["safe", "not", "Not safe"],
        ["help", "lighting", "Better lighting"],
        ["help", "patrols", "More patrols"],
    ]:
        choices.append(row)
    settings = book.create_sheet("settings")
    settings.append(["form_title"])
    settings.append([title])
    out = io.BytesIO()
    book.save(out)
    book.close()
    return out.getvalue()


def answer(client, person, survey_id: int, answers: dict) -> int:  # type: ignore[no-untyped-def, type-arg]
    """A resident answers through the app's API; returns the status code."""
    response = client.post(
        f"/api/v1/surveys/{survey_id}/responses", json={"answers": answers}, headers=person.headers
    )
    return response.status_code
