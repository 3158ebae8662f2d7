"""How planflow shows a number to people: the one home of that rule, for the pages (a form's
number fields wherever their values are read back) and the generated documents.

Thousands are grouped with commas, as Chinese business documents write amounts (150,000); a
whole number has no decimals; any other keeps at most ``digits`` decimals, trailing zeros dropped
(12.5, not 12.50).
"""

from __future__ import annotations


def shown_number(number: int | float, digits: int = 2) -> str:
    """``number`` as people read it (see the module docstring)."""
    if isinstance(number, int) or float(number).is_integer():
        return f"{int(number):,}"
    text = f"{number:,.{max(digits, 0)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text  # -0.04 to one decimal
