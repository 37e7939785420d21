"""Exact rules: dates (to ISO 8601), money amounts (to decimals) and currencies found in text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

MONTHS = {
    "JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
    "JUL": 7, "AUG": 8, "SEP": 9, "SEPT": 9, "OCT": 10, "NOV": 11, "DEC": 12,
}  # fmt: skip
_MONTH = r"(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEPT?|OCT|NOV|DEC)[A-Z]*"
_SEP = r"[/\-.]"
# Numeric dates: d/m/y (or m/d/y when the day cannot be a month), y-m-d; words: 5 MAR 2018, MAR 5, 2018.
_DATE_PATTERNS = (
    ("ymd", re.compile(rf"(?<![\d])((?:19|20)\d\d)\s?{_SEP}\s?(\d{{1,2}})\s?{_SEP}\s?(\d{{1,2}})(?![\d])")),
    ("dmy", re.compile(rf"(?<![\d])(\d{{1,2}})\s?({_SEP})\s?(\d{{1,2}})\s?\2\s?(\d{{4}}|\d{{2}})(?![\d])")),
    ("dMy", re.compile(rf"(?<![\dA-Z])(\d{{1,2}})[\s\-/.]*{_MONTH}[\s\-/.,]*(\d{{4}}|\d{{2}})(?![\d])", re.I)),
    ("Mdy", re.compile(rf"(?<![A-Z]){_MONTH}[\s\-/.]*(\d{{1,2}})[\s,\-/.]+(\d{{4}})(?![\d])", re.I)),
    ("ymd8", re.compile(r"(?<![\d])((?:19|20)\d\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?![\d])")),
)

CURRENCIES = {  # what receipts print → ISO 4217
    "RM": "MYR", "MYR": "MYR", "SGD": "SGD", "S$": "SGD", "USD": "USD", "US$": "USD", "$": "USD",
    "EUR": "EUR", "€": "EUR", "GBP": "GBP", "£": "GBP", "INR": "INR", "₹": "INR", "RS": "INR", "IDR": "IDR",
    "RP": "IDR", "THB": "THB", "฿": "THB", "PHP": "PHP", "₱": "PHP", "JPY": "JPY", "¥": "JPY", "CHF": "CHF",
}  # fmt: skip
_CUR = r"(RM|MYR|SGD|S\$|USD|US\$|EUR|GBP|INR|IDR|THB|PHP|JPY|CHF|RS\.?|RP\.?|[$€£₹฿₱¥])"
_NUMBER = r"(-?\d{1,3}(?:[,\s]\d{3})+\.\d{2}|-?\d+\.\d{2}|-?\d+,\d{2})"
_AMOUNT = re.compile(rf"(?<![\w.,]){_CUR}?\s?{_NUMBER}(?![\d])(?![.,]\d)", re.I)


@dataclass(frozen=True)
class DateMatch:
    raw: str  # the date as printed
    iso: str  # YYYY-MM-DD
    start: int
    end: int


@dataclass(frozen=True)
class AmountMatch:
    raw: str  # the number as printed, without the currency (what SROIE labels hold)
    value: Decimal
    currency: str | None  # ISO 4217, when a symbol or code stands before the number
    currency_raw: str | None
    start: int
    end: int


def _year(text: str) -> int:
    y = int(text)
    return y + 2000 if y < 100 else y


def _valid(y: int, m: int, d: int) -> str | None:
    if not 1970 <= y <= 2099:
        return None
    try:
        return date(y, m, d).isoformat()
    except ValueError:
        return None


def _iso(kind: str, groups: tuple[str, ...]) -> str | None:
    if kind in ("ymd", "ymd8"):
        return _valid(int(groups[0]), int(groups[1]), int(groups[2]))
    if kind == "dmy":
        a, b, y = int(groups[0]), int(groups[2]), _year(groups[3])
        if a > 12 >= b:  # only the first can be the day
            return _valid(y, b, a)
        if b > 12 >= a:  # 12/28/2017: month first
            return _valid(y, a, b)
        return _valid(y, b, a)  # both could be either: day first (most of the world's receipts)
    if kind == "dMy":
        return _valid(_year(groups[2]), MONTHS[groups[1].upper()[:3]], int(groups[0]))
    if kind == "Mdy":
        return _valid(_year(groups[2]), MONTHS[groups[0].upper()[:3]], int(groups[1]))
    return None


def find_dates(text: str) -> list[DateMatch]:
    """Every valid date in ``text``, left to right, the longest match where patterns overlap."""
    found: list[DateMatch] = []
    for kind, pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            iso = _iso(kind, m.groups())
            if iso and not any(f.start < m.end() and m.start() < f.end for f in found):
                raw = m.group(0).strip()
                if kind in ("dMy", "Mdy"):  # month names are printed in capitals; a reader's mixed case is its own
                    raw = raw.upper()
                found.append(DateMatch(raw, iso, m.start(), m.end()))
    return sorted(found, key=lambda f: f.start)


def parse_date(text: str) -> str | None:
    """The ISO 8601 form of the first date in ``text`` (None when there is none)."""
    dates = find_dates(text)
    return dates[0].iso if dates else None


def _decimal(number: str) -> Decimal | None:
    cleaned = number.replace(" ", "")
    decimal_comma = re.fullmatch(r"-?\d+,\d{2}", cleaned) is not None
    cleaned = cleaned.replace(",", ".") if decimal_comma else cleaned.replace(",", "")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def find_amounts(text: str) -> list[AmountMatch]:
    """Every money amount with two decimals in ``text`` (``12.50``, ``RM 1,234.00``, ``$8.20``, ``3,50``)."""
    found = []
    for m in _AMOUNT.finditer(text):
        value = _decimal(m.group(2))
        if value is None:
            continue
        cur_raw = m.group(1)
        currency = CURRENCIES.get(cur_raw.upper().rstrip(".")) if cur_raw else None
        found.append(AmountMatch(m.group(2), value, currency, cur_raw, m.start(), m.end()))
    return found


def parse_amount(text: str) -> Decimal | None:
    """The decimal value of the first amount in ``text`` (None when there is none)."""
    amounts = find_amounts(text)
    return amounts[0].value if amounts else None


def find_currency(text: str) -> tuple[str, str] | None:
    """The first currency code or symbol in ``text`` as (ISO 4217, as printed): before an amount, or a code alone."""
    for m in find_amounts(text):
        if m.currency and m.currency_raw:
            return m.currency, m.currency_raw
    m2 = re.search(r"(?<![A-Z])(RM|MYR|SGD|USD|EUR|GBP|INR)(?![A-Z])", text)
    if m2:
        return CURRENCIES[m2.group(1)], m2.group(1)
    return None
