"""Errors a user can act on. Every layer raises these instead of bare exceptions."""


class LocalMindError(Exception):
    """Base class: the message is written for the person who must fix the problem."""


class ConfigError(LocalMindError):
    """A setting is missing, out of range or of the wrong type; the message names it."""


class ModelError(LocalMindError):
    """A model could not be found, verified, built or loaded."""


class EmbeddingInputError(LocalMindError, ValueError):
    """An item given to the embedder is not text; the message names the item."""
