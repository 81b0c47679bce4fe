"""The one error the engine raises when its rules refuse a command."""


class RuleViolation(Exception):
    """A command the rules refuse; nothing changed."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"RuleViolation({self.code!r}, {self.message!r})"
