"""Surveys: the open consultations for my ward, in the phone's language (or another of the
survey's), grouped under their section headings, with the contract's complaints shown under
each question."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen
from kivy.uix.slider import Slider

from mobile_client.core import surveys as rules

ERROR_COLOUR = (1, 0.62, 0.62, 1)
CHOICE_TYPES = {"single_choice", "yes_no", "scale5"}


def in_language(widget: Any, code: str | None) -> Any:
    """Draw ``widget``'s text as language ``code`` is written (right to left, shaped, in a
    font that has its letters); other languages keep the app's font."""
    if rules.primary_language(code) in rules.ARABIC_SCRIPT and rules.arabic_font():
        widget.font_name = rules.arabic_font()
        widget.font_direction = "rtl"
        widget.font_script_name = "Arab"
        widget.text_language = rules.primary_language(code)
        if getattr(widget, "halign", "center") == "left":
            widget.halign = "right"
    return widget


class Control:
    """One question's input: ``read()`` gives ``(answer value or None, format problem or None)``;
    ``keep()``/``restore()`` carry what was entered across a change of language."""

    def __init__(self, q: dict[str, Any], changed: Any, lang: str | None = None) -> None:
        self.q = q
        self.changed = changed
        self.lang = lang
        self.widget: Any = self.build()

    def build(self) -> Any:
        raise NotImplementedError

    def read(self) -> tuple[Any, str | None]:
        raise NotImplementedError

    def keep(self) -> Any:
        return self.read()[0]

    def restore(self, kept: Any) -> None:
        raise NotImplementedError

    def show_value(self, value: Any) -> None:
        """Show an answer value the server holds (my earlier answer)."""
        self.restore(value)


class ChoiceControl(Control):
    """One choice (or several) as big toggle buttons."""

    def build(self) -> Any:
        self.multiple = self.q["type"] == "multiple_choice"
        choices = self.q.get("choices") or []
        cols = 1 if self.multiple or len(choices) > 5 else max(len(choices), 1)
        grid = Factory.GridLayout(cols=cols, spacing=dp(8), size_hint_y=None)
        grid.bind(minimum_height=grid.setter("height"))
        self.toggles = []
        for c in choices:
            group = None if self.multiple else f"q-{self.q['name']}"
            t = in_language(Factory.Toggle(text=c["label"], group=group), self.lang)
            t.answer_value = c["value"]
            t.bind(state=self.changed)
            self.toggles.append(t)
            grid.add_widget(t)
        return grid

    def read(self) -> tuple[Any, str | None]:
        chosen = [t.answer_value for t in self.toggles if t.state == "down"]
        if self.multiple:
            return chosen, None
        value = chosen[0] if chosen else None
        if value is not None and self.q["type"] == "scale5":
            value = int(value)
        return value, None

    def restore(self, kept: Any) -> None:
        wanted = {str(v) for v in (kept if isinstance(kept, list) else [kept]) if v is not None}
        for t in self.toggles:
            t.state = "down" if str(t.answer_value) in wanted else "normal"


class TextControl(Control):
    """Typed answers: text, whole and decimal numbers, a UK date, a 24-hour time."""

    HINTS = {
        "text": "Your answer",
        "integer": "A whole number",
        "decimal": "A number, e.g. 2.5",
        "date": "dd/mm/yyyy, e.g. 05/11/2026",
        "time": "HH:MM, 24-hour, e.g. 23:30",
    }

    def build(self) -> Any:
        kind = self.q["type"]
        field = Factory.Field(hint_text=self.HINTS.get(kind, "Your answer"))
        if kind == "integer":
            field.input_filter = "int"
            field.input_type = "number"
        elif kind == "decimal":
            field.input_filter = lambda text, _undo: "".join(
                c for c in text if c in "-0123456789.,"
            )
            field.input_type = "number"
        elif kind in ("date", "time"):
            field.input_filter = lambda text, _undo: "".join(
                c for c in text if c in "0123456789/.:-"
            )
            field.input_type = "datetime"
        field.bind(text=self.changed)
        return field

    def read(self) -> tuple[Any, str | None]:
        kind, text = self.q["type"], self.widget.text.strip()
        if not text:
            return None, None
        if kind in ("integer", "decimal"):
            number = rules.parse_number(text)
            return (number, None) if number is not None else (None, "Type a number, e.g. 3 or 2.5")
        if kind == "date":
            iso = rules.parse_uk_date(text)
            return (iso, None) if iso else (None, "Type the date as dd/mm/yyyy, e.g. 05/11/2026")
        if kind == "time":
            clock = rules.parse_clock(text)
            return (clock, None) if clock else (None, "Type the time as HH:MM, e.g. 23:30")
        return text, None

    def keep(self) -> Any:
        return self.widget.text

    def restore(self, kept: Any) -> None:
        self.widget.text = kept or ""

    def show_value(self, value: Any) -> None:
        """An answer value as a person types it: a date the UK way, a number plainly."""
        kind = self.q["type"]
        if kind == "date":
            self.widget.text = rules.format_uk_date(value)
        elif kind in ("integer", "decimal"):
            self.widget.text = rules.format_number(value)
        else:
            self.widget.text = str(value)


class RangeControl(Control):
    """A slider that shows its value, with - and + buttons for one step at a time."""

    def build(self) -> Any:
        q = self.q
        self.lo, self.hi = float(q["min_value"]), float(q["max_value"])
        self.step = float(q.get("step") or 1)
        self.answered = False
        box = Factory.Column(padding=0, spacing=dp(4))
        self.shown = Factory.Body(text="")
        row = BoxLayout(size_hint_y=None, height=dp(64), spacing=dp(8))
        minus = Factory.FlatButton(text="-", size_hint_x=None, width=dp(64), height=dp(64))
        plus = Factory.FlatButton(text="+", size_hint_x=None, width=dp(64), height=dp(64))
        self.slider = Slider(min=self.lo, max=self.hi, step=self.step, value=self.lo)
        self.slider.cursor_size = (dp(40), dp(40))
        minus.bind(on_release=lambda *_: self.nudge(-1))
        plus.bind(on_release=lambda *_: self.nudge(1))
        self.slider.bind(value=self._moved, on_touch_up=self._touched)
        row.add_widget(minus)
        row.add_widget(self.slider)
        row.add_widget(plus)
        box.add_widget(self.shown)
        box.add_widget(row)
        self._describe()
        return box

    def _touched(self, slider: Any, touch: Any) -> None:
        if slider.collide_point(*touch.pos):
            self.answered = True
            self._describe()
            self.changed()

    def _moved(self, *_: Any) -> None:
        self.answered = True
        self._describe()
        self.changed()

    def nudge(self, steps: int) -> None:
        start = self.slider.value if self.answered else (self.lo if steps > 0 else self.hi)
        value = start + steps * self.step if self.answered else start
        self.slider.value = min(self.hi, max(self.lo, value))
        self._moved()

    def value(self) -> int | float:
        """The slider's value on the step grid; whole when the grid is whole."""
        digits = len(rules.format_number(self.step).partition(".")[2])
        value = round(float(self.slider.value), digits)
        return int(value) if self.lo.is_integer() and self.step.is_integer() else value

    def _describe(self) -> None:
        span = f"from {rules.format_number(self.q['min_value'])} to "
        span += rules.format_number(self.q["max_value"])
        if self.answered:
            self.shown.text = f"Your answer: {rules.format_number(self.value())} ({span})"
        else:
            self.shown.text = f"Not answered yet: slide, or use - and + ({span})"

    def read(self) -> tuple[Any, str | None]:
        return (self.value() if self.answered else None), None

    def restore(self, kept: Any) -> None:
        if kept is not None:
            self.slider.value = kept
            self.answered = True
            self._describe()


class RankControl(Control):
    """Every choice once, in the resident's order, moved with big Up and Down buttons."""

    def build(self) -> Any:
        self.order = [c["value"] for c in self.q.get("choices") or []]
        self.labels = {c["value"]: c["label"] for c in self.q.get("choices") or []}
        self.answered = False
        self.box = Factory.Column(padding=0, spacing=dp(6))
        self._draw()
        return self.box

    def _draw(self) -> None:
        self.box.clear_widgets()
        self.box.add_widget(Factory.Muted(text="Most important first."))
        for i, value in enumerate(self.order):
            row = BoxLayout(size_hint_y=None, height=dp(60), spacing=dp(6))
            label = in_language(Factory.Body(text=f"{i + 1}. {self.labels[value]}"), self.lang)
            label.size_hint_y = 1
            up = Factory.FlatButton(text="Up", size_hint_x=None, width=dp(72))
            down = Factory.FlatButton(text="Down", size_hint_x=None, width=dp(80))
            up.disabled, down.disabled = i == 0, i == len(self.order) - 1
            up.opacity, down.opacity = (0.35 if up.disabled else 1), (0.35 if down.disabled else 1)
            up.bind(on_release=lambda *_, i=i: self.move(i, -1))
            down.bind(on_release=lambda *_, i=i: self.move(i, 1))
            row.rank_value = value
            row.add_widget(label)
            row.add_widget(up)
            row.add_widget(down)
            self.box.add_widget(row)
        keep = Factory.Toggle(
            text="This order is my answer" if not self.answered else "This order is my answer: yes",
            state="down" if self.answered else "normal",
        )
        keep.bind(on_release=self._confirm)
        self.box.add_widget(keep)

    def move(self, index: int, by: int) -> None:
        other = index + by
        if 0 <= other < len(self.order):
            self.order[index], self.order[other] = self.order[other], self.order[index]
            self.answered = True
            self._draw()
            self.changed()

    def _confirm(self, toggle: Any) -> None:
        self.answered = toggle.state == "down"
        self._draw()
        self.changed()

    def read(self) -> tuple[Any, str | None]:
        return (list(self.order) if self.answered else None), None

    def restore(self, kept: Any) -> None:
        if kept:
            self.order = list(kept)
            self.answered = True
            self._draw()


def control_for(q: dict[str, Any], changed: Any, lang: str | None) -> Control | None:
    kind = q["type"]
    if kind == "note":
        return None
    if kind in CHOICE_TYPES or kind == "multiple_choice":
        return ChoiceControl(q, changed, lang)
    if kind == "range":
        return RangeControl(q, changed, lang)
    if kind == "rank":
        return RankControl(q, changed, lang)
    return TextControl(q, changed, lang)


class SurveysScreen(Screen):
    """Bound to ``app.ui.surveys`` (the list), ``survey`` and ``survey_language`` (the one being
    answered, and in which language) and ``survey_errors`` (the contract's or the server's
    complaints, shown under each question)."""

    def on_kv_post(self, base_widget: Any) -> None:
        app = App.get_running_app()
        self.controls: dict[str, Control] = {}
        self._errors: dict[str, Any] = {}
        self._blocks: dict[str, Any] = {}
        self._headings: dict[str, Any] = {}
        self._header: list[Any] = []
        self._kept: dict[str, Any] = {}
        self._survey_id: Any = None
        self.send_button: Any = None
        self._order: list[str] = []
        self._building = False
        app.ui.bind(surveys=self._show_list, surveys_waiting=self._show_list)
        app.ui.bind(surveys_waiting=self._refresh_visibility)
        app.ui.bind(survey=self._show_survey, survey_language=self._show_survey)
        app.ui.bind(survey_errors=self._show_errors)
        self._show_list()

    # -- the list --------------------------------------------------------------------------
    def _show_list(self, *_: Any) -> None:
        ui = App.get_running_app().ui
        box = self.ids.list
        box.clear_widgets()
        if not ui.surveys:
            box.add_widget(Factory.Muted(text="No open surveys for your area right now."))
        waiting = set(ui.surveys_waiting or [])
        preferred = rules.phone_languages()
        for s in ui.surveys or []:
            code = rules.choose_language(s, preferred)
            if not rules.can_show(code):
                code = s.get("default_language")
            title = rules.localise(s, code).get("title") or "Survey"
            button = in_language(Factory.FlatButton(text=title), code)
            button.bind(on_release=lambda *_, sid=s["id"]: self.open(sid))
            box.add_widget(button)
            if s["id"] in waiting:
                box.add_widget(
                    Factory.Muted(text="Your answers: saved on this phone, not sent yet")
                )
            elif s.get("answered"):
                box.add_widget(Factory.Muted(text="You have answered: you can change your answers"))

    def open(self, survey_id: int) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.open_survey, survey_id)

    # -- the form --------------------------------------------------------------------------
    def _show_survey(self, *_: Any) -> None:
        ui = App.get_running_app().ui
        survey = ui.survey
        box = self.ids.form
        earlier: dict[str, Any] = {}
        if survey and survey.get("id") == self._survey_id:
            self._kept = {name: c.keep() for name, c in self.controls.items()}
        else:
            self._kept = {}
            earlier = dict(ui.survey_answers or {})
        box.clear_widgets()
        self._building = True  # restoring answers below must not redraw a half-built form
        self.controls, self._errors, self._blocks, self._headings = {}, {}, {}, {}
        self._survey_id = survey.get("id") if survey else None
        if not survey:
            return
        lang = ui.survey_language if rules.can_show(ui.survey_language) else None
        lang = lang or survey.get("default_language")
        text = rules.localise(survey, lang)
        self._header = [in_language(Factory.Heading(text=text.get("title") or ""), lang)]
        if survey.get("description"):
            self._header.append(Factory.Muted(text=survey["description"]))
        languages = rules.language_names(survey)
        if len(languages) > 1:
            self._header.append(self._language_picker(languages, ui.survey_language))
        if lang != ui.survey_language:
            self._header.append(
                Factory.Muted(
                    text="This phone has no font for that language, so the survey is shown "
                    "in its main language."
                )
            )
        self._header.append(Factory.Muted(text="Questions marked * need an answer."))
        sections = {s["name"]: s for s in text.get("sections") or []}
        for q in text.get("questions") or []:
            section = q.get("section")
            if section and section in sections and section not in self._headings:
                heading = in_language(Factory.Heading(text=sections[section]["label"]), lang)
                heading.section_name = section
                self._headings[section] = heading
            block = Factory.Column(padding=(0, dp(4)), spacing=dp(8))
            block.section_name = section
            star = " *" if q.get("required") and q["type"] != "note" else ""
            label = Factory.Body(
                text=(q.get("label") or q["name"]) + star, bold=q["type"] != "note"
            )
            block.add_widget(in_language(label, lang))
            if q.get("hint"):
                block.add_widget(in_language(Factory.Muted(text=q["hint"]), lang))
            error = Factory.ErrorText(text="", color=ERROR_COLOUR)
            self._errors[q["name"]] = error
            block.add_widget(error)
            control = control_for(q, self._refresh_visibility, lang)
            if control is not None:
                if q["name"] in self._kept:
                    control.restore(self._kept[q["name"]])
                elif earlier.get(q["name"]) not in (None, "", []):
                    control.show_value(earlier[q["name"]])
                self.controls[q["name"]] = control
                block.add_widget(control.widget)
            self._blocks[q["name"]] = block
        self._waiting = Factory.Banner(
            text="Your answers are saved on this phone, not sent yet. "
            "They are sent when you have signal."
        )
        send = Factory.BigButton(text="Send my answers")
        send.bind(on_release=lambda *_: self.send())
        self.send_button = send
        self._order = [q["name"] for q in text.get("questions") or []]
        self._building = False
        self._refresh_visibility()
        self._show_errors()

    def _language_picker(self, languages: list[tuple[str, str]], current: str | None) -> Any:
        box = Factory.Column(padding=0, spacing=dp(6))
        box.add_widget(Factory.Body(text="Language"))
        grid = Factory.GridLayout(cols=min(len(languages), 3), spacing=dp(8), size_hint_y=None)
        grid.bind(minimum_height=grid.setter("height"))
        for code, name in languages:
            t = Factory.Toggle(text=name, group="survey-language", allow_no_selection=False)
            in_language(t, code)
            t.disabled = not rules.can_show(code)
            t.state = "down" if code == current else "normal"
            t.language_code = code
            t.bind(on_release=lambda *_, code=code: self.set_language(code))
            grid.add_widget(t)
        box.add_widget(grid)
        self.language_buttons = grid.children[::-1]
        return box

    def set_language(self, code: str) -> None:
        App.get_running_app().core.set_survey_language(code)

    def _refresh_visibility(self, *_: Any) -> None:
        """Show the questions and section headings whose conditions hold."""
        survey = App.get_running_app().ui.survey
        if not survey or self._building:
            return
        answers = self.answers()
        shown = set(rules.visible_names(survey, answers))
        shown_sections = set(rules.visible_sections(survey, answers))
        wanted = list(self._header)
        for name in self._order:
            block = self._blocks[name]
            section = block.section_name
            heading = self._headings.get(section) if section else None
            if heading is not None and section in shown_sections and heading not in wanted:
                wanted.append(heading)
            if name in shown:
                wanted.append(block)
        wanted.append(self.send_button)
        if survey.get("id") in (App.get_running_app().ui.surveys_waiting or []):
            wanted.append(self._waiting)  # until the server has them: never "sent" before
        box = self.ids.form
        if list(reversed(box.children)) != wanted:
            box.clear_widgets()
            for widget in wanted:
                box.add_widget(widget)

    def _show_errors(self, *_: Any) -> None:
        errors = App.get_running_app().ui.survey_errors or {}
        for name, label in self._errors.items():
            label.text = "; ".join(str(e) for e in errors.get(name, []))

    def answers(self) -> dict[str, Any]:
        """What is chosen, typed, slid or ranked, as answer values (never labels)."""
        return {name: c.read()[0] for name, c in self.controls.items()}

    def send(self) -> None:
        app = App.get_running_app()
        survey = app.ui.survey
        answers = self.answers()
        shown = set(rules.visible_names(survey, answers))
        answers = {k: v for k, v in answers.items() if k in shown and v not in (None, "", [])}
        errors = dict(rules.problems(survey, answers))
        for name, control in self.controls.items():
            problem = control.read()[1]
            if problem and name in shown:
                errors[name] = [problem]
        app.core.state.update(survey_errors=errors)
        if errors:
            app.core.state.update(message="Please check the answers marked in red.")
            return
        app.core.submit(app.core.answer_survey, survey, answers)
