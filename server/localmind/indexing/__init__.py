"""Indexing: scan a workspace, parse and chunk its files, extract a knowledge graph, store it all."""
