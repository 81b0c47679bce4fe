"""The one error the engine raises when its rules refuse a command."""


def N_(text: str) -> str:
    """Mark an English sentence for translation without translating it (gettext's no-op marker).

    The engine stays free of any i18n machinery: `make translations` extracts these sentences and
    the web app translates a refusal at its edge (marketplace/errors.py `from_rule`).
    """
    return text


def render(template: str, params: dict, money=None) -> str:
    """`template` with its %(name)s placeholders filled from `params`.

    An amount parameter `x_cents` fills `%(x)s`, formatted by `money` (default: English US dollars);
    the web app passes its per-locale formatter.
    """
    if not params:
        return template
    if money is None:
        from .money import format_usd as money  # money.py imports this module
    fill = {}
    for name, value in params.items():
        if name.endswith("_cents"):
            fill[name[: -len("_cents")]] = money(value)
        else:
            fill[name] = value
    return template % fill


class RuleViolation(Exception):
    """A command the rules refuse; nothing changed.

    `code` is stable (clients rely on it); `template` is the English sentence with %(name)s
    placeholders, marked with N_ so it can be translated; `params` its data (amounts in `*_cents`);
    `message` the English rendering, for logs and pure use.
    """

    def __init__(self, code: str, template: str, **params):
        message = render(template, params)
        super().__init__(message)
        self.code = code
        self.template = template
        self.params = params
        self.message = message

    def __repr__(self) -> str:
        return f"RuleViolation({self.code!r}, {self.message!r})"
