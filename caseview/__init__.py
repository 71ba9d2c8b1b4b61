"""Caseview: public online information in child protection, recorded the right way."""

__version__ = "0.1.0"
