"""Surveys: the open consultations for my ward, answered with a check per question."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.uix.screenmanager import Screen

from mobile_client.core import surveys as rules


class SurveysScreen(Screen):
    """Bound to ``app.ui.surveys`` (the list) and ``app.ui.survey`` (the one being answered)."""

    def on_kv_post(self, base_widget: Any) -> None:
        app = App.get_running_app()
        self._inputs: dict[str, Any] = {}
        self._errors: dict[str, Any] = {}
        app.ui.bind(surveys=self._show_list, survey=self._show_survey)
        self._show_list(app.ui, app.ui.surveys)

    def _show_list(self, _ui: Any, surveys: list[dict[str, Any]] | None) -> None:
        box = self.ids.list
        box.clear_widgets()
        if not surveys:
            box.add_widget(Factory.Muted(text="No open surveys for your area right now."))
        for s in surveys or []:
            button = Factory.FlatButton(text=s.get("title", f"Survey {s['id']}"))
            button.bind(on_release=lambda *_, sid=s["id"]: self.open(sid))
            box.add_widget(button)

    def open(self, survey_id: int) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.open_survey, survey_id)

    def _show_survey(self, _ui: Any, survey: dict[str, Any] | None) -> None:
        box = self.ids.form
        box.clear_widgets()
        self._inputs, self._errors, self._blocks = {}, {}, {}
        if not survey:
            return
        self._header = [Factory.Heading(text=survey.get("title", ""))]
        if survey.get("description"):
            self._header.append(Factory.Muted(text=survey["description"]))
        for q in survey.get("questions") or []:
            key, kind = rules.question_key(q), q.get("type")
            # One block per question, so a question hidden by its condition folds away.
            block = Factory.Column(padding=0, spacing=8)
            label = (q.get("label") or q.get("text") or key) + (" *" if q.get("required") else "")
            block.add_widget(Factory.Body(text=label, bold=True))
            if kind in rules.INTEGER or kind in rules.TEXT:
                field = Factory.Field(
                    hint_text="A whole number" if kind in rules.INTEGER else "Your answer"
                )
                if kind in rules.INTEGER:
                    field.input_filter = "int"
                field.bind(text=self._refresh_visibility)
                self._inputs[key] = ("field", field, q)
                block.add_widget(field)
            else:
                multiple = kind in rules.MULTIPLE
                choices = rules.choice_labels(q)
                cols = 1 if multiple or len(choices) > 5 else len(choices) or 1
                grid = Factory.GridLayout(cols=cols, spacing=8, size_hint_y=None)
                grid.bind(minimum_height=grid.setter("height"))
                toggles = []
                for value, text in choices:
                    group = None if multiple else f"q-{survey['id']}-{key}"
                    t = Factory.Toggle(text=text, group=group)
                    t.answer_value = value
                    t.bind(state=self._refresh_visibility)
                    toggles.append(t)
                    grid.add_widget(t)
                self._inputs[key] = ("multi" if multiple else "one", toggles, q)
                block.add_widget(grid)
            error = Factory.Body(text="", color=(1, 0.55, 0.55, 1))
            self._errors[key] = error
            block.add_widget(error)
            self._blocks[key] = block
        send = Factory.BigButton(text="Send my answers")
        send.bind(on_release=lambda *_: self.send())
        self.send_button = send
        self._refresh_visibility()

    def _refresh_visibility(self, *_: Any) -> None:
        """Show a conditional question only once the answer it depends on is given."""
        shown = self._visible_only(self.answers(), keep_empty=True)
        box = self.ids.form
        wanted = [
            *self._header,
            *(b for k, b in self._blocks.items() if k in shown),
            self.send_button,
        ]
        if list(reversed(box.children)) != wanted:
            box.clear_widgets()
            for widget in wanted:
                box.add_widget(widget)

    def answers(self) -> dict[str, Any]:
        """What is selected or typed, minus answers to questions an earlier answer hides."""
        out: dict[str, Any] = {}
        for key, (kind, widget, q) in self._inputs.items():
            if kind == "field":
                text = widget.text.strip()
                out[key] = (
                    (int(text) if text.lstrip("-").isdigit() else text)
                    if q.get("type") in rules.INTEGER
                    else text
                )
            elif kind == "multi":
                out[key] = [t.answer_value for t in widget if t.state == "down"]
            else:
                chosen = [t.answer_value for t in widget if t.state == "down"]
                out[key] = chosen[0] if chosen else None
        return out

    def _visible_only(self, answers: dict[str, Any], keep_empty: bool = False) -> dict[str, Any]:
        shown: dict[str, Any] = {}
        for _kind, _widget, q in self._inputs.values():
            key = rules.question_key(q)
            if rules.is_shown(q, shown):
                shown[key] = answers.get(key)
        if keep_empty:
            return shown
        return {k: v for k, v in shown.items() if v not in (None, "", [])}

    def send(self) -> None:
        app = App.get_running_app()
        survey = app.ui.survey
        answers = self._visible_only(self.answers())
        problems = rules.validate_answers(survey, answers)
        for key, label in self._errors.items():
            label.text = "; ".join(problems.get(key, []))
        if problems:
            app.core.state.update(message="Please check the highlighted answers.")
            return
        app.core.submit(app.core.answer_survey, survey, answers)
