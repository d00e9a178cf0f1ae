"""Local Mind: a local-first knowledge orchestrator that lives inside the editor."""

__version__ = "0.1.0"
