"""Word correction against a small hand-written lexicon of receipt header words (Malaysian address and company
words, the SROIE domain): a recognised word one edit away (two for long words) from a lexicon word, and not a
lexicon word itself, is replaced by it, its punctuation kept. Written from general knowledge, not from labels."""

from __future__ import annotations

import re
from functools import lru_cache

ADDRESS = """
JALAN TAMAN KAWASAN PERINDUSTRIAN BANDAR SELANGOR JOHOR BAHRU KUALA LUMPUR PETALING SHAH ALAM KLANG DARUL
EHSAN TAKZIM PUCHONG CHERAS KAJANG SERDANG DAMANSARA SUBANG AMPANG RAWANG SEKSYEN PERSIARAN LORONG MALAYSIA
INDAH UTAMA NEGERI SEMBILAN PULAU PINANG PAHANG PERAK MELAKA KEDAH SABAH SARAWAK TERENGGANU KELANTAN PERLIS
PUTRAJAYA SENTOSA BUKIT SUNGAI PUSAT PLAZA FLOOR BLOCK MENARA KOMPLEKS INDUSTRI PELANGI MUTIARA DESA UTARA
SELATAN TIMUR BARAT TENGAH SEMENYIH BANGI NILAI SEREMBAN MASAI SKUDAI KULAI PASIR GUDANG KEPONG SEGAMBUT
SENTUL SETAPAK WANGSA GOMBAK SELAYANG KINABALU JAYA BARU BESAR MAJU SRI SERI BATU KOTA PRIMA BOULEVARD AVENUE
GROUND LEVEL MALL SQUARE CENTRE CENTER STREET ROAD PERDANA PERMAI MEWAH MEGAH KENANGA MERANTI CEMPAKA MAWAR
MELATI ANGGERIK IMPIAN PANDAN PERLING MOLEK UNIVERSITI INDUSTRIAL COMMERCIAL SHOPPING KOMERSIAL
"""
COMPANY = """
SDN BHD BERHAD ENTERPRISE ENTERPRISES TRADING RESTAURANT RESTORAN HARDWARE STATIONERY MARKET SUPERMARKET
MINIMARKET BOOKS MOTOR TRADERS INTERNATIONAL HOLDINGS INDUSTRIES CORPORATION COMPANY PHARMACY BAKERY CAFE
KEDAI MAKANAN FURNITURE ELECTRICAL GALLERY SERVICES SERVICE MARKETING SUPPLY SUPPLIES ENGINEERING
"""
_WORDS = frozenset((ADDRESS + COMPANY).split())
_TOKEN = re.compile(r"^([^A-Za-z]*)([A-Za-z]+)([^A-Za-z]*)$")


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, stopping early past ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


@lru_cache(maxsize=4096)
def correct_word(word: str) -> str:
    """``word`` with its letters replaced by the one lexicon word within reach (unchanged when none or several)."""
    m = _TOKEN.match(word)
    if not m:
        return word
    lead, letters, tail = m.groups()
    if len(letters) < 5 or not letters.isupper() or letters in _WORDS:
        return word
    limit = 2 if len(letters) >= 9 else 1
    near = [w for w in _WORDS if _distance(letters, w, limit) <= limit]
    return f"{lead}{near[0]}{tail}" if len(near) == 1 else word


def correct_text(text: str) -> str:
    """Every whitespace-separated word of ``text`` through ``correct_word``."""
    return " ".join(correct_word(w) for w in text.split(" "))
