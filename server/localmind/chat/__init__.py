"""Grounded answers with citations. Today: the extractive answer (the best passages, quoted, each
with its citation); the LLM path of the Chat issue builds on the same sources and result shape."""
