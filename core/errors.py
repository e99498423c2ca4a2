"""Domain errors: raised by use cases, turned into friendly messages by the bot in one place."""


class DomainError(Exception):
    """A rule of the domain refused the request; the message is for logs, not for users."""


class NotFoundError(DomainError):
    """The object does not exist, or it is not the asking user's (never reveal which)."""
