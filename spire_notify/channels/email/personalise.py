"""One email for many recipients: render and inline once, then put each recipient in.

Rendering a template is cheap and inlining its CSS is not, so the email backend renders each
message once per *shape* of recipient (which of the per-recipient values are empty), with
stand-in tokens for the values, inlines that once, and writes each recipient's values over the
tokens. It renders twice with two different sets of tokens to find out what the template does
with them:

- the same output both times: the template uses no per-recipient value, and every recipient
  gets that one email;
- outputs that differ exactly where the tokens stand: the tokens are replaced, escaped for the
  HTML part, as they are for the text and subject;
- anything else (a filter that changes a name's letters, say): each recipient is rendered on
  their own, which is always right and only slower.
"""

from dataclasses import dataclass, fields, replace

from django.utils.html import escape

from spire_notify.channels.email.templated import EmailContent


@dataclass(frozen=True)
class Personal:
    """What a template may show of one recipient: ``recipient.name``, ``recipient.email``,
    ``unsubscribe_url`` and ``preferences_url``."""

    name: str = ""
    email: str = ""
    unsubscribe_url: str = ""
    preferences_url: str = ""

    def shape(self):
        return tuple(bool(getattr(self, field.name)) for field in fields(self))


def stand_ins(personal, mark):
    """Tokens for the non-empty values of ``personal``: letters and digits only, in upper case,
    so that escaping, inlining and ``upper`` leave them as they are."""
    return Personal(
        **{
            field.name: f"ZZSPIRE{field.name.replace('_', '').upper()}{mark}ZZ"
            if getattr(personal, field.name)
            else ""
            for field in fields(Personal)
        }
    )


class PersonalisedEmail:
    """The emails of one message, for recipients of any shape.

    ``render(personal)`` renders the template's blocks (not inlined) for one recipient;
    ``inline(html)`` inlines CSS. Both are called as little as the template allows.
    """

    def __init__(self, render, inline):
        self.render = render
        self.inline = inline
        self.by_shape = {}

    def for_recipient(self, personal):
        shape = personal.shape()
        if shape not in self.by_shape:
            self.by_shape[shape] = self._prepare(personal)
        return self.by_shape[shape](personal)

    def _prepare(self, personal):
        tokens_a, tokens_b = stand_ins(personal, "A"), stand_ins(personal, "B")
        first, second = self.render(tokens_a), self.render(tokens_b)
        if first == second:
            shared = self._inlined(first)
            return lambda personal: shared
        if fill(first, tokens_a, tokens_b, escape_html=False) == second:
            template = self._inlined(first)
            return lambda personal: fill(template, tokens_a, personal, escape_html=True)
        return lambda personal: self._inlined(self.render(personal))

    def _inlined(self, content):
        return replace(content, html=self.inline(content.html))


def fill(content, tokens, personal, *, escape_html):
    """``content`` with each token of ``tokens`` replaced by the value of ``personal``."""
    subject, text, html = content.subject, content.text, content.html
    for field in fields(Personal):
        token, value = getattr(tokens, field.name), getattr(personal, field.name)
        if not token:
            continue
        subject = subject.replace(token, value)
        text = text.replace(token, value)
        html = html.replace(token, escape(value) if escape_html else value)
    return EmailContent(subject=subject, text=text, html=html)
