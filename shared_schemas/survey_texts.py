"""A survey's texts in each of its languages (stdlib only): which languages it has, the one
to show for a reader's preferences, and the survey with its texts in one language. A text
with no translation is shown in the survey's default language; values never change.

The phone app shows a survey with :func:`localise`; the portal shows every language with it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any


def primary_language(tag: str | None) -> str | None:
    """A language tag's primary code: ``pl_PL.UTF-8``, ``pl-PL`` or ``PL`` -> ``pl``;
    ``C`` and ``POSIX`` say nothing."""
    if not tag:
        return None
    code = re.split(r"[_.@-]", tag.strip(), maxsplit=1)[0].lower()
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None


def language_codes(survey: Mapping[str, Any]) -> list[str]:
    """The survey's languages in its own order (the default first if it lists none)."""
    codes = [str(lang["code"]) for lang in survey.get("languages") or [] if lang.get("code")]
    default = survey.get("default_language")
    if default and default not in codes:
        codes.insert(0, str(default))
    return codes


def choose_language(survey: Mapping[str, Any], preferred: Sequence[str]) -> str | None:
    """The first of the phone's languages the survey is written in, else its default."""
    codes = language_codes(survey)
    by_primary = {primary_language(c): c for c in codes}
    for wanted in preferred:
        if wanted in codes:
            return wanted
        if primary_language(wanted) in by_primary:
            return by_primary[primary_language(wanted)]
    return survey.get("default_language") or (codes[0] if codes else None)


def language_names(survey: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(code, name)`` for each of the survey's languages, as its author named them."""
    names = {
        str(lang["code"]): str(lang.get("name") or lang["code"])
        for lang in survey.get("languages") or []
    }
    return [(code, names.get(code, code)) for code in language_codes(survey)]


def localise(survey: Mapping[str, Any], code: str | None) -> dict[str, Any]:
    """The survey with its texts in language ``code``: title, section headings, question
    labels and hints and choice labels. A text with no translation stays in the default
    language; values (question names, choice values, conditions) never change."""
    out = dict(survey)
    if not code or code == survey.get("default_language"):
        return out
    out["title"] = (survey.get("title_translations") or {}).get(code) or survey.get("title")
    out["sections"] = [
        {**s, "label": ((s.get("translations") or {}).get(code) or {}).get("label") or s["label"]}
        for s in survey.get("sections") or []
    ]
    questions = []
    for q in survey.get("questions") or []:
        tr = (q.get("translations") or {}).get(code) or {}
        choice_tr = tr.get("choices") or {}
        questions.append(
            {
                **q,
                "label": tr.get("label") or q.get("label"),
                "hint": tr.get("hint") or q.get("hint"),
                "choices": [
                    {**c, "label": choice_tr.get(c["value"]) or c["label"]}
                    for c in q.get("choices") or []
                ],
            }
        )
    out["questions"] = questions
    return out
