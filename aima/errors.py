"""Errors that AIMA reports to a user as one clear line."""


class AimaError(Exception):
    """Base class for errors shown to the user without a traceback."""


class ConfigError(AimaError):
    """A setting is invalid. The message names the setting and what is wrong with it."""

    def __init__(self, setting: str, problem: str):
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}")


class StoreUnavailable(AimaError):
    """A configured store cannot be reached or refuses us (server down, bad credentials)."""

    def __init__(self, setting: str, problem: str):
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}")


class NotFound(AimaError):
    """A case, media item or object the user named does not exist."""
