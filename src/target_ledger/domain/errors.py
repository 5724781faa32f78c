"""Named domain errors; the API maps each to one HTTP status."""


class DomainError(Exception):
    """A rule of the domain was broken; `field` names the input at fault, if any."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidPeriodError(DomainError):
    pass


class InvalidValueError(DomainError):
    pass


class ForbiddenError(DomainError):
    """The actor lacks the role this needs; the message says which."""


class NotFoundError(DomainError):
    pass


class ConflictError(DomainError):
    """The state moved on, or the thing is already done: the message says what to do."""


class AlreadyExistsError(ConflictError):
    """A natural key is taken: the message names what holds it."""


class PreconditionFailedError(DomainError):
    """An If-Match named versions the thing is no longer at; `version` is the one it is at."""

    def __init__(self, message: str, *, version: int) -> None:
        super().__init__(message, field="If-Match")
        self.version = version
