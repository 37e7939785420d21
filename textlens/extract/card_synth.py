"""Synthetic business cards with known fields: the fields drawn by the page synthesiser
(``PageRenderer.render_card``), in the held-out fonts (``fonts="val"``) and photographed (perspective, light,
background), and a manifest of them for ``textlens eval extract --task card``.

Five countries (US, GB, DE, FR, IN); phone numbers are valid for their region (``phonenumbers``), printed in
international or national form with a label (Tel, Mobile, M, Fax …); the address always names a city of the
country, so a national number can be placed. ASCII only (the recogniser's charset). No real person's data: names
are drawn from short lists of common given and family names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

GIVEN = ("Anna", "James", "Maria", "Thomas", "Sophie", "David", "Laura", "Peter", "Emma", "Lukas", "Priya", "Arjun",
         "Claire", "Julien", "Hannah", "Michael", "Sarah", "Daniel", "Nina", "Oliver", "Rahul", "Camille", "Jonas",
         "Emily", "Robert", "Lena", "Marc", "Alice", "Kevin", "Meera")  # fmt: skip
FAMILY = ("Weber", "Smith", "Martin", "Schmidt", "Brown", "Dubois", "Miller", "Fischer", "Wilson", "Moreau",
          "Sharma", "Patel", "Taylor", "Becker", "Laurent", "Clarke", "Wagner", "Evans", "Bernard", "Iyer",
          "Hoffmann", "Walker", "Petit", "Mehta", "Young", "Richter", "Roux", "Hughes", "Nair", "Keller")  # fmt: skip
TITLES = ("Sales Manager", "Managing Director", "Software Engineer", "Chief Executive Officer", "Head of Marketing",
          "Senior Consultant", "Product Designer", "Account Executive", "Project Manager", "Financial Analyst",
          "Operations Director", "Marketing Coordinator", "Lead Developer", "Business Development Manager",
          "Partner", "Founder & CEO", "Customer Success Lead", "Data Scientist", "Office Manager",
          "Regional Sales Director")  # fmt: skip
ORG_WORDS = ("Northwind", "Bluepeak", "Silverline", "Apex", "Greenfield", "Brightwave", "Ironbridge", "Nova",
             "Clearwater", "Redstone", "Summit", "Harbor", "Lumen", "Vertex", "Oakridge", "Falcon", "Crescent",
             "Pioneer", "Quantum", "Meridian")  # fmt: skip
ORG_KINDS = ("Consulting", "Systems", "Logistics", "Analytics", "Design", "Software", "Partners", "Solutions",
             "Media", "Engineering")  # fmt: skip
COUNTRIES: dict[str, dict[str, Any]] = {
    "US": {"suffix": ("Inc.", "LLC", "Corp."), "tld": "com", "country": "USA",
           "streets": ("Market Street", "Main Street", "Park Avenue", "Oak Road", "Elm Street"),
           "cities": (("San Francisco", "CA", "94103"), ("New York", "NY", "10001"), ("Chicago", "IL", "60601"),
                      ("Austin", "TX", "73301"), ("Seattle", "WA", "98101"))},
    "GB": {"suffix": ("Ltd", "Ltd.", "PLC"), "tld": "co.uk", "country": "United Kingdom",
           "streets": ("King Street", "High Street", "Church Road", "Victoria Road", "Station Road"),
           "cities": (("London", "", "EC2V 8AT"), ("Manchester", "", "M1 1AE"), ("Leeds", "", "LS1 4AP"),
                      ("Bristol", "", "BS1 4DJ"), ("Edinburgh", "", "EH1 1YZ"))},
    "DE": {"suffix": ("GmbH", "AG", "GmbH & Co. KG"), "tld": "de", "country": "Germany",
           "streets": ("Hauptstrasse", "Bahnhofstrasse", "Gartenweg", "Schillerstrasse", "Lindenallee"),
           "cities": (("Berlin", "", "10115"), ("Hamburg", "", "20095"), ("Munich", "", "80331"),
                      ("Cologne", "", "50667"), ("Frankfurt", "", "60311"))},
    "FR": {"suffix": ("SARL", "SAS", "S.A."), "tld": "fr", "country": "France",
           "streets": ("rue de Rivoli", "avenue Victor Hugo", "rue de la Paix", "boulevard Voltaire",
                       "rue Nationale"),
           "cities": (("Paris", "", "75001"), ("Lyon", "", "69002"), ("Marseille", "", "13001"),
                      ("Toulouse", "", "31000"), ("Lille", "", "59000"))},
    "IN": {"suffix": ("Pvt. Ltd.", "Private Limited", "Ltd."), "tld": "in", "country": "India",
           "streets": ("MG Road", "Residency Road", "Park Street", "Linking Road", "Anna Salai"),
           "cities": (("Bengaluru", "", "560001"), ("Mumbai", "", "400050"), ("Kolkata", "", "700016"),
                      ("Chennai", "", "600002"), ("Pune", "", "411001"))},
}  # fmt: skip
PHONE_LABELS = {"voice": ("Tel", "Tel.", "T", "Phone", "Office"), "cell": ("Mobile", "Mob.", "M", "Cell"),
                "fax": ("Fax", "F")}  # fmt: skip


def _pick(rng: np.random.Generator, items: Any) -> Any:
    return items[int(rng.integers(len(items)))]


def _phone(rng: np.random.Generator, region: str, kind: str) -> Any:
    """A valid number of ``region`` for ``kind`` (cell → mobile, else fixed line): the example number with its
    last digits redrawn until phonenumbers calls it valid."""
    import phonenumbers as pn

    ptype = pn.PhoneNumberType.MOBILE if kind == "cell" else pn.PhoneNumberType.FIXED_LINE
    example = pn.example_number_for_type(region, ptype)
    digits = str(example.national_number)
    for _ in range(200):
        tail = "".join(str(int(d)) for d in rng.integers(0, 10, 4))
        number = pn.parse(f"+{example.country_code}{digits[:-4]}{tail}", None)
        if pn.is_valid_number(number) and pn.number_type(number) in (ptype, pn.PhoneNumberType.FIXED_LINE_OR_MOBILE):
            return number
    return example


def card_fields(rng: np.random.Generator) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """One card: its lines as (role, text) in drawing order, and its truth ``key`` (name, title, organization,
    phone: E.164 numbers joined by spaces, phone_types, email, url, address: lines joined by ", ", region)."""
    import phonenumbers as pn

    region = str(_pick(rng, tuple(COUNTRIES)))
    c = COUNTRIES[region]
    given, family = str(_pick(rng, GIVEN)), str(_pick(rng, FAMILY))
    name = f"{given} {family}"
    title = str(_pick(rng, TITLES))
    word, kind = str(_pick(rng, ORG_WORDS)), str(_pick(rng, ORG_KINDS))
    organization = f"{word} {kind} {_pick(rng, c['suffix'])}"
    domain = f"{word.lower()}{kind.lower()}.{c['tld']}" if rng.random() < 0.5 else f"{word.lower()}.{c['tld']}"
    first, last = given.lower(), family.lower()
    email = str(_pick(rng, (f"{first}.{last}@{domain}", f"{first[0]}{last}@{domain}", f"{first}@{domain}")))
    url = str(_pick(rng, (f"www.{domain}", f"https://www.{domain}", f"{domain}")))
    city, state, code = _pick(rng, c["cities"])
    street = str(_pick(rng, c["streets"]))
    number = int(rng.integers(1, 250))
    street_line = f"{street} {number}" if region == "DE" else f"{number} {street}"
    city_line = {"US": f"{city}, {state} {code}", "GB": f"{city} {code}", "IN": f"{city} {code}"}.get(
        region, f"{code} {city}"
    )
    address = [street_line, city_line] + ([c["country"]] if rng.random() < 0.5 else [])
    kinds = ["voice"] + (["cell"] if rng.random() < 0.7 else []) + (["fax"] if rng.random() < 0.2 else [])
    if rng.random() < 0.2:
        kinds = kinds[1:] or ["cell"]
    international = rng.random() < 0.5
    phones, types, phone_lines = [], [], []
    for k in kinds:
        num = _phone(rng, region, k)
        fmt = pn.PhoneNumberFormat.INTERNATIONAL if international else pn.PhoneNumberFormat.NATIONAL
        label = str(_pick(rng, PHONE_LABELS[k]))
        sep = str(_pick(rng, (": ", " ", " | "))) if len(label) > 1 else str(_pick(rng, (": ", " ")))
        phone_lines.append(f"{label}{sep}{pn.format_number(num, fmt)}")
        phones.append(pn.format_number(num, pn.PhoneNumberFormat.E164))
        types.append(k)
    email_line = email if rng.random() < 0.6 else f"{_pick(rng, ('E-mail', 'Email', 'E'))}: {email}"
    head = [("name", name), ("title", title), ("organization", organization)]
    if rng.random() < 0.35:
        head = [("organization", organization), ("name", name), ("title", title)]
    lines = [*head, *(("phone", t) for t in phone_lines), ("email", email_line), ("url", url),
             *(("address", a) for a in address)]  # fmt: skip
    if rng.random() < 0.5:  # address before the phones
        lines = [*head, *(("address", a) for a in address), *(("phone", t) for t in phone_lines),
                 ("email", email_line), ("url", url)]  # fmt: skip
    key = {"name": name, "title": title, "organization": organization, "phone": " ".join(phones),
           "phone_types": " ".join(types), "email": email, "url": url, "address": ", ".join(address),
           "region": region}  # fmt: skip
    return lines, key


def synthetic_card(index: int, seed: int = 0, fonts: str = "val", photo: bool = True, renderer: Any = None):
    """Card ``index`` of run ``seed``: (PageSample, key). The renderer (``PageRenderer("card", fonts=fonts)``)
    may be passed to reuse its fonts."""
    from textlens.data.synth.pages import PageRenderer

    renderer = renderer or PageRenderer("card", seed=seed, fonts=fonts)
    rng = np.random.default_rng([seed, 38, index])
    lines, key = card_fields(rng)
    return renderer.render_card(rng, lines, photo=photo), key


def write_card_manifest(out: Path, count: int, seed: int = 0, fonts: str = "val", quality: int = 92) -> Path:
    """``count`` synthetic cards as JPEGs in ``out`` and ``out/manifest.jsonl`` (image, key, words with role)."""
    from PIL import Image

    from textlens.data.synth.pages import PageRenderer

    out.mkdir(parents=True, exist_ok=True)
    renderer = PageRenderer("card", seed=seed, fonts=fonts)
    rows = []
    for i in range(count):
        sample, key = synthetic_card(i, seed, fonts, renderer=renderer)
        name = f"card_{i:04d}.jpg"
        Image.fromarray(sample.image).save(out / name, quality=quality)
        words = [{"text": w.text, "box": list(w.box), "role": w.extra.get("role")} for w in sample.words]
        rows.append(json.dumps({"image": name, "key": key, "words": words}, ensure_ascii=False))
    manifest = out / "manifest.jsonl"
    manifest.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> None:
    """``python -m textlens.extract.card_synth OUT --count 100 --seed 1000 --fonts val``: write a card manifest."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--fonts", default="val")
    args = parser.parse_args(argv)
    print(write_card_manifest(args.out, args.count, args.seed, args.fonts))


if __name__ == "__main__":
    main()
