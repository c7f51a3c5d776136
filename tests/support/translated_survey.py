"""One translated, grouped survey in the shape of ``shared_schemas.surveys`` (English by
default, Polish and Urdu beside it, two sections, every question type), for the app's and the
portal's tests. The Polish and Urdu texts were written for these tests."""

from __future__ import annotations

from typing import Any

LANGUAGES = [
    {"code": "en", "name": "English"},
    {"code": "pl", "name": "Polski"},
    {"code": "ur", "name": "اردو"},
]


def translated_survey() -> dict[str, Any]:
    """A borough-wide survey as an admin would create it (``SurveyCreateSchema``)."""
    return {
        "title": "Feeling safe at night",
        "title_translations": {"pl": "Bezpieczeństwo w nocy", "ur": "رات کو تحفظ کا احساس"},
        "description": "Six short questions. Your answers are never shown with your name.",
        "borough_wide": True,
        "min_group_size": 3,
        "languages": LANGUAGES,
        "default_language": "en",
        "sections": [
            {
                "name": "about_you",
                "label": "About you",
                "translations": {"pl": {"label": "O Tobie"}, "ur": {"label": "آپ کے بارے میں"}},
                "show_if": None,
            },
            {
                "name": "night",
                "label": "Your last night out",
                "translations": {
                    "pl": {"label": "Twoje ostatnie wyjście wieczorem"},
                    "ur": {"label": "آپ کی پچھلی شام باہر"},
                },
                "show_if": {"question": "out_at_night", "equals": "yes"},
            },
        ],
        "questions": [
            {
                "name": "intro",
                "type": "note",
                "label": "Thank you for helping to make Wigan safer at night.",
                "section": "about_you",
                "translations": {
                    "pl": {"label": "Dziękujemy za pomoc w poprawie bezpieczeństwa w Wigan nocą."},
                    "ur": {"label": "رات کے وقت وگن کو محفوظ بنانے میں مدد کا شکریہ۔"},
                },
            },
            {
                "name": "out_at_night",
                "type": "yes_no",
                "label": "Do you go out after dark?",
                "required": True,
                "section": "about_you",
                "translations": {
                    "pl": {
                        "label": "Czy wychodzisz z domu po zmroku?",
                        "choices": {"yes": "Tak", "no": "Nie"},
                    },
                    "ur": {
                        "label": "کیا آپ اندھیرے کے بعد باہر جاتے ہیں؟",
                        "choices": {"yes": "ہاں", "no": "نہیں"},
                    },
                },
            },
            {
                "name": "last_out",
                "type": "date",
                "label": "When did you last go out after dark?",
                "section": "night",
                "translations": {
                    "pl": {"label": "Kiedy ostatnio wyszedłeś po zmroku?"},
                    "ur": {"label": "آپ آخری بار اندھیرے کے بعد کب باہر گئے؟"},
                },
            },
            {
                "name": "home_by",
                "type": "time",
                "label": "What time did you get home?",
                "hint": "24-hour clock, e.g. 23:30",
                "section": "night",
                "translations": {
                    "pl": {
                        "label": "O której godzinie wróciłeś do domu?",
                        "hint": "Zegar 24-godzinny, np. 23:30",
                    },
                    "ur": {"label": "آپ کس وقت گھر پہنچے؟", "hint": "24 گھنٹے کا وقت، جیسے 23:30"},
                },
            },
            {
                "name": "feel_safe",
                "type": "range",
                "label": "How safe did you feel?",
                "hint": "0 is not at all safe, 10 is completely safe",
                "min_value": 0,
                "max_value": 10,
                "step": 1,
                "required": True,
                "section": "night",
                "translations": {
                    "pl": {
                        "label": "Jak bezpiecznie się czułeś?",
                        "hint": "0 to wcale, 10 to całkowicie bezpiecznie",
                    },
                    "ur": {"label": "آپ نے کتنا محفوظ محسوس کیا؟"},
                },
            },
            {
                "name": "walk_km",
                "type": "decimal",
                "label": "How far did you walk home, in kilometres?",
                "min_value": 0,
                "max_value": 30,
                "section": "night",
                "translations": {
                    "pl": {"label": "Jak daleko szedłeś do domu (w kilometrach)?"},
                    "ur": {"label": "آپ گھر تک کتنا پیدل چلے، کلومیٹر میں؟"},
                },
            },
            {
                "name": "priorities",
                "type": "rank",
                "label": "Put these in order: what would help most?",
                "section": "night",
                "choices": [
                    {"value": "lighting", "label": "Better street lighting"},
                    {"value": "patrols", "label": "More police patrols"},
                    {"value": "taxis", "label": "Safe taxi ranks"},
                ],
                "translations": {
                    "pl": {
                        "label": "Ułóż w kolejności: co pomogłoby najbardziej?",
                        "choices": {
                            "lighting": "Lepsze oświetlenie ulic",
                            "patrols": "Więcej patroli policji",
                            "taxis": "Bezpieczne postoje taksówek",
                        },
                    },
                    "ur": {
                        "label": "ترتیب دیں: سب سے زیادہ کیا مدد کرے گا؟",
                        "choices": {
                            "lighting": "گلیوں کی بہتر روشنی",
                            "patrols": "پولیس کا زیادہ گشت",
                            "taxis": "محفوظ ٹیکسی اسٹینڈ",
                        },
                    },
                },
            },
        ],
    }
