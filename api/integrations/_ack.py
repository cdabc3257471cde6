"""Acknowledgements: the customer hears at once that the ticket arrived, and what is happening.

Off by default (`TRIAGE_ACKNOWLEDGE=1`). The texts are templates the team edits (a YAML file of
Jinja2 templates per language, `TRIAGE_ACK_TEMPLATES`), rendered in a sandbox so a template cannot
reach the service. When the ticket joins an open incident, the reply names it instead of a generic
line; when the incident ends, its tickets get the `resolved` follow-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from triage.errors import DataError

DEFAULT_TEMPLATES: dict[str, dict[str, str]] = {
    "en": {
        "received": "<p>Hello,</p><p>we have received your request {{ ticket_id }} and are working on it. "
                    "We will reply here as soon as we know more.</p>",
        "incident": "<p>Hello,</p><p>we know about the problem “{{ incident }}” since {{ since }} and are working "
                    "on it. Your request {{ ticket_id }} is linked to it: we will let you know here when it is "
                    "resolved.</p>",
        "resolved": "<p>Hello,</p><p>the problem “{{ incident }}” has been resolved. If anything still does not "
                    "work for you, just reply to this message.</p>",
        "draft": "<p><b>Draft answer from the knowledge base</b> (not sent; check and send it yourself):</p>"
                 "<p><a href=\"{{ url }}\">{{ title }}</a></p><p>{{ snippet }}</p>",
    },
    "ru": {
        "received": "<p>Здравствуйте!</p><p>Мы получили ваше обращение {{ ticket_id }} и уже работаем над ним. "
                    "Ответим здесь, как только будет больше информации.</p>",
        "incident": "<p>Здравствуйте!</p><p>Мы знаем о проблеме «{{ incident }}» с {{ since }} и уже работаем над "
                    "ней. Ваше обращение {{ ticket_id }} привязано к ней: мы сообщим здесь, когда она будет "
                    "решена.</p>",
        "resolved": "<p>Здравствуйте!</p><p>Проблема «{{ incident }}» решена. Если у вас что-то всё ещё не работает, "
                    "просто ответьте на это сообщение.</p>",
        "draft": "<p><b>Черновик ответа из базы знаний</b> (не отправлен; проверьте и отправьте сами):</p>"
                 "<p><a href=\"{{ url }}\">{{ title }}</a></p><p>{{ snippet }}</p>",
    },
}
KINDS = ("received", "incident", "resolved", "draft")


class Templates:
    def __init__(self, path: Path | None = None) -> None:
        self.env = SandboxedEnvironment(autoescape=True)
        texts = {lang: dict(t) for lang, t in DEFAULT_TEMPLATES.items()}
        if path is not None:
            try:
                loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise DataError(f"cannot read the acknowledgement templates ({exc})", file=str(path)) from exc
            for lang, kinds in (loaded.items() if isinstance(loaded, dict) else []):
                for kind, text in (kinds or {}).items():
                    if kind not in KINDS:
                        raise DataError(f"unknown template '{kind}'; use {', '.join(KINDS)}", file=str(path),
                                        field=f"{lang}.{kind}")
                    texts.setdefault(str(lang), {})[kind] = str(text)
        try:
            self.templates = {lang: {k: self.env.from_string(v) for k, v in kinds.items()}
                              for lang, kinds in texts.items()}
        except TemplateSyntaxError as exc:  # say where, refuse to start
            raise DataError(f"a template does not parse ({exc})", file=str(path)) from exc

    def render(self, kind: str, language: str | None, **values: Any) -> str:
        lang = language if language in self.templates and kind in self.templates[language] else "en"
        return str(self.templates[lang][kind].render(**values))
