"""Stores: narrow ports (ports.py) and one adapter per file."""
