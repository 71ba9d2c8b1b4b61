"""The only package that speaks SQL. Services call it; widgets never do."""

from caseview.storage.casefile import CaseFile, default_case_file_path, open_case_file

__all__ = ["CaseFile", "default_case_file_path", "open_case_file"]
