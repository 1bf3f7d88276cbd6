"""`{{ value|decimals:2 }}`: a number with a fixed count of decimals, or "" for None and non-numbers.

Django's `floatformat` goes through Decimal and localisation on every call; on the review queue (three
numbers a row, 50 rows) it was a sixth of the page's server time under load (issue 13). Rounding is the
float's own (`0.125` -> `0.12`), which a two-decimal probability on screen does not care about."""

from __future__ import annotations

import math

from django import template

register = template.Library()


@register.filter
def decimals(value, places: int = 2) -> str:
    try:
        number = float(value)
        places = int(places)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(number) or not 0 <= places <= 10:
        return ""
    text = f"{number:.{places}f}"
    return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text
