"""A survey's questions as the portal shows them: grouped under their sections, every
question's label, hint and choices in every language of the survey, and each condition in
words (the default language's labels, not question names)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from shared_schemas.survey_texts import language_names, localise

TYPE_LABELS = {
    "single_choice": "One choice",
    "multiple_choice": "Several choices",
    "scale5": "Scale 1-5",
    "yes_no": "Yes / no",
    "integer": "Whole number",
    "text": "Free text",
    "note": "Note (no answer)",
    "decimal": "Number (decimals allowed)",
    "date": "Date",
    "time": "Time of day",
    "range": "Slider",
    "rank": "Put in order",
}
_LANG_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def condition_words(condition: Mapping[str, Any] | None, questions: list[dict[str, Any]]) -> str:
    """``{"question": "out_at_night", "equals": "yes"}`` -> 'Shown only if "Do you go out
    after dark?" is "Yes"' (includes, for several choices); '' with no condition."""
    if not condition:
        return ""
    ref = next((q for q in questions if q["name"] == condition["question"]), None)
    if ref is None:
        return f"Shown only if {condition['question']} is {condition['equals']}"
    choice = next(
        (c["label"] for c in ref.get("choices") or [] if c["value"] == condition["equals"]),
        condition["equals"],
    )
    verb = "includes" if ref["type"] == "multiple_choice" else "is"
    return f"Shown only if the answer to \u201c{ref['label']}\u201d {verb} \u201c{choice}\u201d"


def _details(q: dict[str, Any]) -> str:
    """What a resident can answer, in words (bounds, step, length)."""
    kind = q["type"]
    if kind in ("integer", "decimal") and q.get("min_value") is not None:
        return f"from {_number(q['min_value'])} to {_number(q.get('max_value'))}"
    if kind == "range":
        return (
            f"from {_number(q['min_value'])} to {_number(q['max_value'])}"
            f" in steps of {_number(q.get('step') or 1)}"
        )
    if kind == "date":
        return "dd/mm/yyyy"
    if kind == "time":
        return "HH:MM, 24-hour, UK time"
    if kind == "multiple_choice" and q.get("max_choices"):
        return f"at most {q['max_choices']}"
    return ""


def questionnaire(survey: Mapping[str, Any]) -> dict[str, Any]:
    """The survey's languages and its questions grouped by section, each in every language."""
    questions = list(survey.get("questions") or [])
    names = language_names(survey) or [("", "")]
    versions = {code: localise(survey, code or None) for code, _ in names}
    languages: list[dict[str, Any]] = [
        {"code": code, "name": name, "lang": code if _LANG_TAG.match(code or "") else None}
        for code, name in names
    ]
    default = survey.get("default_language") or ""
    default_lang = default if _LANG_TAG.match(default) else None
    sections = {s["name"]: s for s in survey.get("sections") or []}
    groups: list[dict[str, Any]] = []
    for index, q in enumerate(questions):
        section = q.get("section")
        if not groups or groups[-1]["name"] != section:
            info = sections.get(section or "")
            groups.append(
                {
                    "name": section,
                    "labels": [
                        {
                            **lang,
                            "label": next(
                                s["label"]
                                for s in versions[lang["code"]].get("sections") or [info]
                                if s["name"] == section
                            ),
                        }
                        for lang in languages
                    ]
                    if info
                    else [],
                    "condition": condition_words(info.get("show_if"), questions) if info else "",
                    "questions": [],
                }
            )
        texts = []
        for lang in languages:
            shown = versions[lang["code"]]["questions"][index]
            tr = (q.get("translations") or {}).get(lang["code"]) or {}
            own = lang["code"] == default or not lang["code"]
            choice_tr = tr.get("choices") or {}
            texts.append(
                {
                    **lang,
                    "label": shown.get("label") or "",
                    "hint": shown.get("hint") or "",
                    # a text not translated is shown in the default language: say which
                    "label_lang": lang["lang"] if own or tr.get("label") else default_lang,
                    "hint_lang": lang["lang"] if own or tr.get("hint") else default_lang,
                    "choices": [
                        {
                            "label": c["label"],
                            "lang": lang["lang"]
                            if own or choice_tr.get(c["value"])
                            else default_lang,
                        }
                        for c in shown.get("choices") or []
                    ],
                }
            )
        groups[-1]["questions"].append(
            {
                "name": q["name"],
                "number": index + 1,
                "type": q["type"],
                "type_label": TYPE_LABELS.get(q["type"], q["type"]),
                "required": bool(q.get("required")) and q["type"] != "note",
                "details": _details(q),
                "condition": condition_words(q.get("show_if"), questions),
                "texts": texts,
            }
        )
    return {"languages": languages, "groups": groups}
