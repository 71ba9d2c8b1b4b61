"""Small helpers for the counted phrases in findings and refusals."""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 viewing', '3 viewings', '2 children' (with plural_form='children')."""
    if count == 1:
        return f"{count} {singular}"
    return f"{count} {plural_form or singular + 's'}"


def ordinal(number: int) -> str:
    """'1st', '2nd', '3rd', '4th', '11th', '22nd'."""
    if 10 <= abs(number) % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(abs(number) % 10, "th")
    return f"{number}{suffix}"
