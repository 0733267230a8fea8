"""The package version, in a module of its own so that modules inside ``pld`` need not import ``pld``."""

__version__ = "0.1.0"
