"""Business cards → contacts: name, title, organization, phones (E.164, national form, type), e-mails, URLs and
the address, from a read Document; vCard 4.0 (``vobject``) and CSV writers.

Rules where exact: e-mails and URLs by pattern, phones by ``phonenumbers.PhoneNumberMatcher`` (valid numbers
only) in the card's region: the country code of an international number on the card, else a country or city
named on it, else ``region`` (default US). Heuristics for the rest: keywords (Ltd, GmbH, Inc … for the
organization; job words for the title; street words, postcodes, cities and countries for the address), then the
tallest remaining line near the top is the name. Needs the ``extract`` extra (vobject, phonenumbers).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from textlens.document import Document, Line, Page
from textlens.errors import ConfigError
from textlens.extract.base import Extraction, Field, field_from_words
from textlens.extract.lines import ordered_lines


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


FIELDS = ("name", "title", "organization", "phone", "email", "url", "address")
ORG_WORDS = _set("""ltd ltd. limited plc llc inc inc. corp corp. corporation gmbh ag kg sarl sas s.a. sa pvt pvt.
    private co. company group holdings partners llp bv b.v. srl s.r.l. oy ab as a/s pty""")
TITLE_WORDS = _set("""manager director engineer ceo cfo cto coo officer head consultant designer developer
    analyst president partner founder co-founder executive lead coordinator specialist scientist architect advisor
    associate assistant chief vice vp sales marketing owner administrator accountant attorney lawyer professor
    representative agent supervisor principal secretary editor technician researcher""")
STREET_WORDS = _set("""street st st. road rd rd. avenue ave ave. boulevard blvd lane ln way drive dr place square
    suite floor building strasse str. straße weg allee platz gasse ring rue boulevard avenue chemin allee salai
    marg nagar""")
COUNTRY_WORDS = {"usa": "US", "u.s.a.": "US", "united states": "US", "uk": "GB", "united kingdom": "GB",
                 "england": "GB", "scotland": "GB", "germany": "DE", "deutschland": "DE", "france": "FR",
                 "india": "IN", "austria": "AT", "switzerland": "CH", "schweiz": "CH", "netherlands": "NL",
                 "italy": "IT", "italia": "IT", "spain": "ES", "espana": "ES", "canada": "CA", "australia": "AU",
                 "ireland": "IE", "belgium": "BE", "poland": "PL", "sweden": "SE"}  # fmt: skip
CITY_WORDS = {"london": "GB", "manchester": "GB", "leeds": "GB", "bristol": "GB", "edinburgh": "GB",
              "birmingham": "GB", "glasgow": "GB", "berlin": "DE", "hamburg": "DE", "munich": "DE", "münchen": "DE",
              "cologne": "DE", "köln": "DE", "frankfurt": "DE", "stuttgart": "DE", "paris": "FR", "lyon": "FR",
              "marseille": "FR", "toulouse": "FR", "lille": "FR", "nice": "FR", "bengaluru": "IN", "bangalore": "IN",
              "mumbai": "IN", "kolkata": "IN", "chennai": "IN", "pune": "IN", "delhi": "IN", "hyderabad": "IN",
              "vienna": "AT", "wien": "AT", "zurich": "CH", "zürich": "CH", "amsterdam": "NL", "madrid": "ES",
              "rome": "IT", "milan": "IT", "dublin": "IE", "toronto": "CA", "sydney": "AU",
              "melbourne": "AU"}  # fmt: skip
US_STATES = _set("""AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM
    NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC""")
PHONE_LABELS = {"tel": "voice", "tel.": "voice", "t": "voice", "phone": "voice", "ph": "voice", "office": "voice",
                "o": "voice", "direct": "voice", "d": "voice", "mobile": "cell", "mob": "cell", "mob.": "cell",
                "m": "cell", "cell": "cell", "handy": "cell", "fax": "fax", "f": "fax"}  # fmt: skip
CONTACT_LABELS = _set("e-mail email e mail web www site w url")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+\s?@\s?[A-Za-z0-9-]+(?:\s?\.\s?[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(r"(?:https?://)?(?:www\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|org|net|io|co|de|fr|in|uk|"
                  r"co\.uk|eu|ch|at|nl|it|es|us|biz|info|ca|au)(?:/[^\s]*)?(?![A-Za-z0-9])", re.I)  # fmt: skip
_STREET_ENDINGS = ("strasse", "straße", "str.", "weg", "allee", "platz", "gasse", "damm", "ufer")
_POSTCODE = re.compile(r"\b(?:\d{4,6}|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})\b")
_LABEL = re.compile(r"^\s*([A-Za-z][A-Za-z.\-]{0,7})\s*[:|.]?\s*$")


@dataclass(frozen=True)
class Phone:
    raw: str
    e164: str
    national: str
    international: str
    kind: str  # voice, cell, fax (from the card's label, else from phonenumbers' number type)


def _words(text: str) -> list[str]:
    return [w.strip(",;:()|").lower() for w in text.split()]


def infer_region(texts: Sequence[str], default: str | None = None) -> str:
    """The card's region: the country code of a +number, else a country, else a city, else a US state with a
    ZIP code, else ``default`` (US when None)."""
    import phonenumbers as pn

    joined = " ".join(texts)
    for match in pn.PhoneNumberMatcher(joined, "ZZ", leniency=pn.Leniency.VALID):
        region = pn.region_code_for_number(match.number)
        if region and region != "ZZ":
            return region
    low = " " + " ".join(_words(joined)) + " "
    for word, region in COUNTRY_WORDS.items():
        if f" {word} " in low:
            return region
    for word, region in CITY_WORDS.items():
        if f" {word} " in low:
            return region
    if re.search(r"\b(" + "|".join(US_STATES) + r")\s+\d{5}\b", joined):
        return "US"
    return (default or "US").upper()


def find_phones(text: str, region: str) -> list[tuple[int, int, Phone]]:
    """Valid phone numbers in ``text`` (start, end, Phone), typed by the label before each."""
    import phonenumbers as pn

    out = []
    for match in pn.PhoneNumberMatcher(text, region, leniency=pn.Leniency.VALID):
        before = text[: match.start].strip(" :|.-\t")
        label = before.split()[-1].lower().rstrip(":|") if before.split() else ""
        kind = PHONE_LABELS.get(label) or PHONE_LABELS.get(label.rstrip("."))
        if kind is None:
            ntype = pn.number_type(match.number)
            kind = "cell" if ntype == pn.PhoneNumberType.MOBILE else "voice"
        out.append((match.start, match.end, Phone(
            raw=match.raw_string,
            e164=pn.format_number(match.number, pn.PhoneNumberFormat.E164),
            national=pn.format_number(match.number, pn.PhoneNumberFormat.NATIONAL),
            international=pn.format_number(match.number, pn.PhoneNumberFormat.INTERNATIONAL),
            kind=kind,
        )))  # fmt: skip
    return out


def _clean_email(text: str) -> str:
    return re.sub(r"\s", "", text).lower()


def normalise_url(text: str) -> str:
    return re.sub(r"^https?://", "", text.strip().lower()).rstrip("/")


def _height(line: Line) -> float:
    hs = sorted(w.box[3] - w.box[1] for w in line.words)
    return hs[len(hs) // 2] if hs else 0.0


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (small strings)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


# words a card's title, organization and address lines are made of, as printed: OCR slips one or two letters off
# one of them (Markeling → Marketing, Sireet → Street) are put back
LEXICON = tuple(
    {w.title() for w in TITLE_WORDS if len(w) > 3}
    | {w.title() for w in CITY_WORDS if w.isascii()}
    | {"Street", "Road", "Avenue", "Lane", "Drive", "Place", "Square", "Suite", "Floor", "Building", "Boulevard",
       "Germany", "France", "India", "Kingdom", "United", "States", "Limited", "Private", "Consulting", "Systems",
       "Solutions", "Logistics", "Analytics", "Design", "Software", "Partners", "Media", "Engineering", "Group",
       "Holdings", "Services", "Technologies", "International", "Development", "Business", "Customer", "Success",
       "Product", "Account", "Project", "Financial", "Operations", "Regional", "Senior", "Office", "Data", "rue",
       "avenue", "boulevard"}
)  # fmt: skip
_LEX_LOWER = {w.lower(): w for w in LEXICON}
TLDS = {"US": "com", "GB": "co.uk", "DE": "de", "FR": "fr", "IN": "in", "AT": "at", "CH": "ch", "NL": "nl",
        "IT": "it", "ES": "es", "CA": "ca", "AU": "com.au", "IE": "ie", "BE": "be", "PL": "pl", "SE": "se"}  # fmt: skip
_DIGIT_SLIPS = str.maketrans({"I": "1", "l": "1", "|": "1", "O": "0", "o": "0", "S": "5", "B": "8", "Z": "2"})


def correct_word(word: str) -> str:
    """``word`` put back to a lexicon word one slip away (two for words of eight letters or more); punctuation
    around it and its case pattern (all capitals) kept."""
    core = word.strip(",.;:")
    if len(core) < 4 or not core.isalpha() or core.lower() in _LEX_LOWER:
        return word
    limit = 2 if len(core) >= 8 else 1
    best, best_d = None, limit + 1
    for low, proper in _LEX_LOWER.items():
        if abs(len(low) - len(core)) <= limit:
            d = edit_distance(core.lower(), low)
            if d < best_d:
                best, best_d = proper, d
    if best is None:
        return word
    best = best.upper() if core.isupper() else best
    return word.replace(core, best)


def correct_text(text: str) -> str:
    """Lexicon slips put back; a word the reader split in two (Market ing) joined when the join is a word."""
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        if i + 1 < len(words) and words[i].isalpha() and words[i + 1].strip(",").isalpha():
            joined = words[i] + words[i + 1]
            fixed = correct_word(joined)
            parts_known = words[i].lower() in _LEX_LOWER or words[i + 1].strip(",").lower() in _LEX_LOWER
            if fixed.strip(",").lower() in _LEX_LOWER and not parts_known:
                out.append(fixed)
                i += 2
                continue
        out.append(correct_word(words[i]))
        i += 1
    return " ".join(out)


def _contact_text(text: str) -> str:
    """OCR slips in e-mails and web addresses: spaces around @ and dots, a comma for the dot before a TLD."""
    text = text.replace("®", "@").replace("©", "@")
    if "@" in text or re.search(r"www|http|[.\s](com|de|fr|in|uk|org|net)\b", text, re.I):
        text = re.sub(r"\s*@\s*", "@", text)
        text = re.sub(r"(?<=[a-z0-9])\s(?=(com|co\.uk|co uk|de|fr|in|org|net)\s*$)", ".", text)
        text = re.sub(r"\bco\s?uk\b", "co.uk", text)
        text = re.sub(r"(\w)\s?[.,]\s(?=(com|co|uk|de|fr|in|org|net|io)\b)", r"\1.", text)
        text = re.sub(r"(\w),(?=(com|co|uk|de|fr|in|org|net|io)\b)", r"\1.", text)
        text = re.sub(r"\b(www|https?://www)\s?[,.]?\s(?=\w)", r"\1.", text)
    return text


def _phone_variants(text: str, region: str) -> list[str]:
    """The line again with OCR slips undone: letters read for digits inside numbers, a label glued to them,
    the plus sign read as 4, 6 or # before the region's country code."""
    import phonenumbers as pn

    fixed = re.sub(r"(?<=[A-Za-z.:])(?=\d)", " ", text)
    fixed = re.sub(r"(?<=\d):(?=\d)", " ", fixed)
    fixed = re.sub(r"\b[\dIlOoSBZ|]*\d[\dIlOoSBZ|]*\b", lambda m: m.group().translate(_DIGIT_SLIPS), fixed)
    cc = str(pn.country_code_for_region(region))
    plus = re.sub(rf"(?<![\d+])[46#(]\)?\s?(?={cc}\b)", "+", fixed, count=1)
    return [v for v in dict.fromkeys((plus, fixed)) if v != text]


def _repair_address(value: str, candidates: Sequence[str], tld: str) -> str:
    """An e-mail domain or web address put back to one of ``candidates`` (from the organization) when it is two
    slips or fewer away; a TLD one slip from the region's is put back too."""
    host = value.lower()
    prefix = ""
    m = re.match(r"^(https?://)?(www\.)?", host)
    if m:
        prefix, host = value[: m.end()], host[m.end() :]
    name, _, top = host.partition(".")
    if top and top != tld and edit_distance(top, tld) <= 1 and "." not in tld.replace(top, ""):
        top = tld
    if candidates and name not in candidates:
        best = min(candidates, key=lambda c: edit_distance(name, c))
        if edit_distance(name, best) <= 2 and len(best) >= 4:
            name = best
    return f"{prefix}{name}.{top}" if top else f"{prefix}{name}"


def _org_hosts(organization: str) -> list[str]:
    """Host names an organization's web site may have: its words before the legal form, joined (Redstone
    Systems Ltd → redstone, redstonesystems, redstone-systems)."""
    words = [w.lower() for w in re.findall(r"[A-Za-z0-9]+", organization)]
    stem: list[str] = []
    for w in words:
        if w in ORG_WORDS or w.rstrip(".") in ORG_WORDS or w in ("co", "kg", "s", "a"):
            break
        stem.append(w)
    out = ["".join(stem[:k]) for k in range(1, len(stem) + 1)] + ["-".join(stem)]
    return [h for h in dict.fromkeys(out) if h]


def _name_locals(name: str) -> list[str]:
    parts = [p.lower() for p in re.findall(r"[A-Za-z]+", name)]
    if len(parts) < 2:
        return parts
    first, last = parts[0], parts[-1]
    return [f"{first}.{last}", f"{first[0]}{last}", first, last, f"{first}{last}", f"{first}_{last}",
            f"{first[0]}.{last}", f"{first}-{last}"]  # fmt: skip


def _repair_email(email: str, locals_: Sequence[str], hosts: Sequence[str], tld: str) -> str:
    local, _, domain = email.partition("@")
    if locals_ and local not in locals_:
        best = min(locals_, key=lambda c: edit_distance(local, c))
        if edit_distance(local, best) <= 2:
            local = best
    return f"{local}@{_repair_address(domain, hosts, tld)}"


class CardExtractor:
    """Business card → name, title, organization, phone, email, url, address (see the module doc).

    Field values: phone holds the E.164 numbers joined by spaces (``raw`` as printed), email the addresses in
    lower case, url the addresses as printed; the extraction's ``metadata["contact"]`` holds the lists (phones
    with national form and type) that the vCard and CSV writers use."""

    task = "card"
    fields = FIELDS

    def __init__(self, region: str | None = None, model: str | None = None) -> None:
        if model is not None:  # rule-based: no bundle; the CLI passes --region through the model slot
            if not str(model).startswith("region:"):
                raise ConfigError("the card extractor is rule-based and takes no model")
            region = region or str(model).partition(":")[2]
        try:
            import phonenumbers  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigError("card extraction needs phonenumbers: pip install 'textlens[extract]'") from exc
        self.region = region.upper() if region else None

    def normalise(self, fields: Mapping[str, Any]) -> dict[str, str]:
        """What ``textlens eval extract --task card`` compares (see ``normalise``)."""
        return normalise(fields)

    def extract(self, document: Document) -> Extraction:
        pages = [p for p in document.pages if p.words]
        page_no = max(range(len(document.pages)), key=lambda i: len(document.pages[i].words)) if pages else 0
        page: Page | None = document.pages[page_no] if document.pages else None
        lines = ordered_lines(page) if page is not None else []
        texts = [ln.text for ln in lines]
        region = infer_region(texts, self.region)
        fields: dict[str, Field] = {}
        phones: list[Phone] = []
        phone_words: list[Any] = []
        emails: list[str] = []
        urls: list[str] = []
        email_words: list[Any] = []
        url_words: list[Any] = []
        rest: list[Line] = []
        joined_next: set[int] = set()
        for i, line in enumerate(lines):
            if i in joined_next:
                continue
            text = _contact_text(line.text)
            contact = False
            for match in _EMAIL.finditer(text):
                emails.append(_clean_email(match.group()))
                email_words += list(line.words)
                contact = True
            scrubbed = _EMAIL.sub(" ", text)
            found = find_phones(scrubbed, region)
            if not found and sum(ch.isdigit() for ch in scrubbed) >= 6:
                for variant in _phone_variants(scrubbed, region):
                    found = find_phones(variant, region)
                    if found:
                        break
            for _, _, phone in found:
                if phone.e164 not in {p.e164 for p in phones}:
                    phones.append(phone)
                phone_words += list(line.words)
                contact = True
            for match in _URL.finditer(scrubbed):
                if any(s <= match.start() < e for s, e, _ in found) or match.group()[0].isdigit():
                    continue
                urls.append(match.group())
                url_words += list(line.words)
                contact = True
            if not found and i + 1 < len(lines) and sum(ch.isdigit() for ch in scrubbed) >= 2:
                pair = f"{scrubbed} {lines[i + 1].text}"  # a number the detector cut in two: (201) | 555-8989
                found = [f for f in find_phones(pair, region) if f[0] < len(scrubbed) < f[1]]
                for _, _, phone in found:
                    if phone.e164 not in {p.e164 for p in phones}:
                        phones.append(phone)
                    phone_words += list(line.words) + list(lines[i + 1].words)
                    contact = True
                    joined_next.add(i + 1)
            words = _words(text)
            label_only = len(words) == 1 and words[0].rstrip(":.") in CONTACT_LABELS | set(PHONE_LABELS)
            alnum = [ch for ch in text if ch.isalnum()]
            digits = sum(ch.isdigit() for ch in alnum)
            # a number too garbled to parse is still no address: a phone label, or mostly digits with no street
            unread_phone = digits >= 6 and (
                (words and words[0].rstrip(":.") in PHONE_LABELS)
                or (digits >= 0.6 * len(alnum) and not any(w in CITY_WORDS or w in COUNTRY_WORDS for w in words))
            )
            if not contact and not label_only and not unread_phone:
                rest.append(line)
        conf = line_conf = 0.9
        roles = self._roles(rest, region)
        address_lines: list[str] = []
        for role in ("name", "title", "organization", "address"):
            chosen = [ln for ln in rest if roles.get(id(ln)) == role]
            if not chosen:
                fields[role] = Field(role, page=page_no)
                continue
            if role == "address":
                address_lines = [correct_text(ln.text.strip().rstrip(",")) for ln in chosen]
                raw = ", ".join(ln.text.strip().rstrip(",") for ln in chosen)
                value = ", ".join(address_lines)
            else:
                first = rest.index(chosen[0])
                chosen = chosen[:1]
                nxt = rest[first + 1] if first + 1 < len(rest) else None
                if role == "organization" and nxt is not None and re.match(r"^\s*(&|Co\b|KG\b)", nxt.text):
                    chosen.append(nxt)  # GmbH | & Co. KG: one name on two lines
                    roles[id(nxt)] = role
                raw = " ".join(ln.text.strip() for ln in chosen)
                value = raw if role == "name" else correct_text(raw)
            words = [w for ln in chosen for w in ln.words]
            mean = sum(w.confidence for w in words) / len(words)
            fields[role] = field_from_words(role, words, value=value, raw=raw, page=page_no,
                                            confidence=line_conf * mean)  # fmt: skip
        # e-mails and web addresses agree with the name and the organization printed larger: slips put back
        tld = TLDS.get(region, "com")
        hosts = _org_hosts(fields["organization"].value or "")
        locals_ = _name_locals(fields["name"].value or "")
        emails = [_repair_email(e, locals_, hosts, tld) for e in emails]
        urls = [_repair_address(u, hosts, tld) for u in urls]
        fields["phone"] = Field("phone", " ".join(p.e164 for p in phones) or None,
                                " | ".join(p.raw for p in phones) or None, conf if phones else 0.0,
                                tuple(w.box for w in phone_words), page_no)  # fmt: skip
        fields["email"] = Field("email", " ".join(emails) or None, " ".join(emails) or None, conf if emails else 0.0,
                                tuple(w.box for w in email_words), page_no)  # fmt: skip
        fields["url"] = Field("url", " ".join(urls) or None, " ".join(urls) or None, conf if urls else 0.0,
                              tuple(w.box for w in url_words), page_no)  # fmt: skip
        contact = {
            "name": fields["name"].value, "title": fields["title"].value,
            "organization": fields["organization"].value, "address": fields["address"].value,
            "address_lines": address_lines,
            "phones": [p.__dict__ for p in phones], "emails": emails, "urls": urls, "region": region,
        }  # fmt: skip
        ordered = {name: fields[name] for name in FIELDS}
        return Extraction("card", ordered, metadata={"contact": contact, "region": region})

    @staticmethod
    def _roles(lines: Sequence[Line], region: str) -> dict[int, str]:
        """Line id → name / title / organization / address for the lines that are not contacts."""
        roles: dict[int, str] = {}
        for line in lines:
            words = _words(line.text)
            text = line.text
            if any(w in ORG_WORDS for w in words) or re.search(r"\b(GmbH|Ltd|Inc|LLC|SARL|Pvt)\b", text):
                roles[id(line)] = "organization"
            elif any(w in STREET_WORDS or w.endswith(_STREET_ENDINGS) for w in words) or (
                _POSTCODE.search(text) and any(ch.isalpha() for ch in text)
            ) or " ".join(words) in COUNTRY_WORDS or any(w in CITY_WORDS for w in words) or (
                re.match(r"^\d+[A-Za-z]?\s+\w", text.strip())
            ):  # fmt: skip
                roles[id(line)] = "address"
            elif any(w in TITLE_WORDS for w in words) or "&" in words:
                roles[id(line)] = "title"
        free = [ln for ln in lines if id(ln) not in roles and any(ch.isalpha() for ch in ln.text)]
        names = [ln for ln in free if 2 <= len(ln.words) <= 4 and all(w.text[:1].isupper() for w in ln.words)]
        pool = names or free
        if pool:
            name = max(pool, key=lambda ln: (_height(ln), -ln.box[1]))  # type: ignore[index]
            roles[id(name)] = "name"
            free = [ln for ln in free if ln is not name]
        taken = set(roles.values())
        for role in ("organization", "title"):
            if role not in taken and free:
                roles[id(free.pop(0))] = role
        # several title lines: keep the one nearest the name; several organization lines: the first
        return roles


def _split_name(name: str) -> tuple[str, str]:
    parts = name.split()
    return (" ".join(parts[:-1]), parts[-1]) if len(parts) > 1 else ("", name)


def to_vcard(result: Extraction) -> str:
    """One vCard 4.0 (vobject) of a card's extraction."""
    import vobject

    c = result.metadata.get("contact") or {}
    card = vobject.vCard()
    card.add("version").value = "4.0"
    name = c.get("name") or c.get("organization") or ""
    card.add("fn").value = name
    given, family = _split_name(c.get("name") or "")
    card.add("n").value = vobject.vcard.Name(family=family, given=given)
    if c.get("title"):
        card.add("title").value = c["title"]
    if c.get("organization"):
        card.add("org").value = [c["organization"]]
    for phone in c.get("phones", []):
        tel = card.add("tel")
        tel.value = f"tel:{phone['e164']}"
        tel.params["VALUE"] = ["uri"]
        tel.type_param = {"cell": "cell", "fax": "fax"}.get(phone["kind"], "voice")
    for email in c.get("emails", []):
        card.add("email").value = email
    for url in c.get("urls", []):
        card.add("url").value = url if re.match(r"https?://", url) else f"https://{url}"
    lines = c.get("address_lines") or []
    if lines:
        country = lines[-1] if " ".join(_words(lines[-1])) in COUNTRY_WORDS else ""
        body = lines[:-1] if country else lines
        adr = card.add("adr")
        adr.value = vobject.vcard.Address(street=body[0], city=", ".join(body[1:]), country=country)
        adr.params["LABEL"] = [", ".join(lines)]
    return card.serialize()


def write_vcards(results: Iterable[Extraction]) -> str:
    return "".join(to_vcard(r) for r in results)


CSV_COLUMNS = ("source", "name", "title", "organization", "phones", "phone_types", "phones_national", "emails",
               "urls", "address")  # fmt: skip


def write_csv(results: Iterable[Extraction]) -> str:
    """One row per card; lists joined by "; "."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in results:
        c = r.metadata.get("contact") or {}
        phones = c.get("phones", [])
        writer.writerow([r.source or "", c.get("name") or "", c.get("title") or "", c.get("organization") or "",
                         "; ".join(p["e164"] for p in phones), "; ".join(p["kind"] for p in phones),
                         "; ".join(p["national"] for p in phones), "; ".join(c.get("emails", [])),
                         "; ".join(c.get("urls", [])), c.get("address") or ""])  # fmt: skip
    return buffer.getvalue()


def normalise(fields: Mapping[str, Any]) -> dict[str, str]:
    """Field → comparable string: name, title, organization and address in lower case without dots, commas and
    semicolons, whitespace collapsed; phones the sorted set of E.164 numbers; e-mails lower case, sorted; URLs
    lower case without scheme and trailing slash, sorted."""

    def col(v: Any) -> str:
        return " ".join(str(v or "").split())

    def text(v: Any) -> str:  # case, dots and commas aside: "Corp." and "Corp", "S. A." and "S.A." are one
        return col(re.sub(r"[.,;]", " ", str(v or ""))).casefold()

    out = {k: text(fields.get(k)) for k in ("name", "title", "organization", "address")}
    out["phone"] = " ".join(sorted(set(col(fields.get("phone")).split())))
    out["email"] = " ".join(sorted({_clean_email(e) for e in col(fields.get("email")).split()}))
    out["url"] = " ".join(sorted({normalise_url(u) for u in col(fields.get("url")).split()}))
    return out
