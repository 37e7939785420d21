"""Business cards → contacts (textlens.extract.card): rules, heuristics, vCard and CSV writers, the synthetic
cards and the CLI. Fixtures are Documents built here (perfect words) and cards drawn by the page synthesiser."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict

import pytest

pytest.importorskip("phonenumbers")
vobject = pytest.importorskip("vobject")

from textlens.document import Block, Document, Line, Page, Word  # noqa: E402
from textlens.extract import get_extractor  # noqa: E402
from textlens.extract.card import (  # noqa: E402
    CardExtractor,
    correct_text,
    find_phones,
    infer_region,
    normalise,
    to_vcard,
    write_csv,
    write_vcards,
)


def _document(rows: list[tuple[str, float]]) -> Document:
    """A card page: one line per (text, height), top to bottom, words left to right."""
    lines, y = [], 20.0
    for text, height in rows:
        x, words = 30.0, []
        for token in text.split():
            width = len(token) * height * 0.55
            words.append(Word(token, (x, y, x + width, y + height), 0.98))
            x += width + height * 0.4
        lines.append(Line(tuple(words)))
        y += height * 1.6
    return Document(pages=(Page(width=700, height=int(y + 20), blocks=(Block(tuple(lines)),)),))


GERMAN_CARD = [
    ("Anna Weber", 40.0),
    ("Head of Marketing", 20.0),
    ("Bluepeak Analytics GmbH", 24.0),
    ("Tel: 030 12345678", 18.0),
    ("Mobil", 18.0),
    ("M: 0151 23456789", 18.0),
    ("Fax 030 12345679", 18.0),
    ("anna.weber@bluepeak.de", 18.0),
    ("www.bluepeak.de", 18.0),
    ("Hauptstrasse 12", 18.0),
    ("10115 Berlin", 18.0),
]


def test_card_fields_from_a_german_card() -> None:
    result = get_extractor("card").extract(_document(GERMAN_CARD))
    values = result.values()
    assert values["name"] == "Anna Weber"
    assert values["title"] == "Head of Marketing"
    assert values["organization"] == "Bluepeak Analytics GmbH"
    assert values["phone"] == "+493012345678 +4915123456789 +493012345679"  # region DE from Berlin
    assert values["email"] == "anna.weber@bluepeak.de"
    assert values["url"] == "www.bluepeak.de"
    assert values["address"] == "Hauptstrasse 12, 10115 Berlin"
    phones = result.metadata["contact"]["phones"]
    assert [p["kind"] for p in phones] == ["voice", "cell", "fax"]
    assert phones[0]["national"] == "030 12345678"
    assert result.metadata["region"] == "DE"
    assert result.fields["name"].boxes and 0 < result.fields["name"].confidence <= 1


def test_phone_typing_and_region() -> None:
    # the label wins; without one, phonenumbers' number type decides (a UK 07 number is a mobile)
    found = find_phones("Fax +44 20 7946 0958", "US")
    assert [(p.e164, p.kind) for _, _, p in found] == [("+442079460958", "fax")]
    found = find_phones("07400 123456", "GB")
    assert [(p.e164, p.kind, p.international) for _, _, p in found] == [("+447400123456", "cell", "+44 7400 123456")]
    assert find_phones("Tel (201) 555-0123", "US")[0][2].national == "(201) 555-0123"
    assert find_phones("12345", "US") == []  # not a valid number
    assert infer_region(["Phone +33 1 23 45 67 89"]) == "FR"  # country code first
    assert infer_region(["12 King Street", "London EC2V 8AT"]) == "GB"  # then cities and countries
    assert infer_region(["Seattle WA 98101"], None) in ("US",)
    assert infer_region(["no clue"], "de") == "DE"  # then --region
    assert infer_region(["no clue"]) == "US"


def test_region_option_places_national_numbers() -> None:
    doc = _document([("Jean Martin", 36.0), ("Tel 01 23 45 67 89", 18.0)])
    assert get_extractor("card", region="FR").extract(doc).values()["phone"] == "+33123456789"
    assert CardExtractor(model="region:FR").extract(doc).values()["phone"] == "+33123456789"


def test_ocr_slips_are_put_back() -> None:
    assert correct_text("Markeling Coordinalor") == "Marketing Coordinator"
    assert correct_text("Market ing Coordinator") == "Marketing Coordinator"
    assert correct_text("Head of Marketing") == "Head of Marketing"
    doc = _document([("Julien Young", 36.0), ("Redstone Systems Ltd", 22.0), ("Tel1 649 30 122692", 18.0),
                     ("julien.young@redslonesystems. in", 18.0), ("www redstonesystems com", 18.0),
                     ("Schillerstrasse 5", 18.0), ("10115 Berlin", 18.0)])  # fmt: skip
    values = get_extractor("card").extract(doc).values()
    assert values["phone"] == "+4930122692"  # "6" read for "+" before the country code
    assert values["email"] == "julien.young@redstonesystems.in"  # the domain agrees with the organization
    assert values["url"] == "www.redstonesystems.com"


def test_vcard_parses_back_with_vobject() -> None:
    result = get_extractor("card").extract(_document(GERMAN_CARD))
    text = to_vcard(result)
    assert text.startswith("BEGIN:VCARD") and "VERSION:4.0" in text
    card = vobject.readOne(text)
    assert card.fn.value == "Anna Weber"
    assert card.n.value.family == "Weber" and card.n.value.given == "Anna"
    assert card.title.value == "Head of Marketing"
    assert card.org.value == ["Bluepeak Analytics GmbH"]
    tels = {t.value: t.params["TYPE"][0] for t in card.contents["tel"]}
    assert tels == {"tel:+493012345678": "voice", "tel:+4915123456789": "cell", "tel:+493012345679": "fax"}
    assert card.email.value == "anna.weber@bluepeak.de"
    assert card.url.value == "https://www.bluepeak.de"
    assert card.adr.value.street == "Hauptstrasse 12" and card.adr.value.city == "10115 Berlin"
    both = list(vobject.readComponents(write_vcards([result, result])))
    assert len(both) == 2


def test_csv_has_a_row_per_card() -> None:
    result = get_extractor("card").extract(_document(GERMAN_CARD))
    rows = list(csv.DictReader(io.StringIO(write_csv([result, result]))))
    assert len(rows) == 2
    assert rows[0]["name"] == "Anna Weber"
    assert rows[0]["phones"] == "+493012345678; +4915123456789; +493012345679"
    assert rows[0]["phone_types"] == "voice; cell; fax"
    assert rows[0]["phones_national"].startswith("030 12345678")
    assert rows[0]["address"] == "Hauptstrasse 12, 10115 Berlin"


def test_normalise_compares_phones_as_e164_sets() -> None:
    a = normalise({"phone": "+4930123 +4915123", "organization": "Summit Design Corp.", "url": "https://www.x.de/"})
    b = normalise({"phone": "+4915123  +4930123", "organization": "Summit Design Corp", "url": "www.x.de"})
    assert a == b
    assert normalise({"name": "Anna Weber"})["name"] != normalise({"name": "Anna Webber"})["name"]


def _synthetic_document(sample) -> Document:  # type: ignore[no-untyped-def]
    lines = defaultdict(list)
    for w in sample.words:
        lines[w.extra["line"]].append(Word(w.text, w.box, 0.99))
    h, w = sample.image.shape[:2]
    return Document(pages=(Page(width=w, height=h, blocks=(Block(tuple(Line(tuple(v)) for v in lines.values())),)),))


def test_synthetic_cards_report_their_fields() -> None:
    from textlens.data.synth.pages import PageRenderer
    from textlens.extract.card_synth import synthetic_card

    renderer = PageRenderer("card", fonts="val")
    extractor = CardExtractor()
    right = 0
    for i in range(12):
        sample, key = synthetic_card(i, seed=3, renderer=renderer)
        assert sample.image.ndim == 3 and sample.image.dtype.name == "uint8"
        roles = {w.extra["role"] for w in sample.words}
        assert {"name", "title", "organization", "phone", "email", "url", "address"} <= roles
        drawn_name = " ".join(w.text for w in sample.words if w.extra["role"] == "name")
        assert drawn_name == key["name"]
        assert key["phone"].startswith("+")
        # from the words as drawn (a perfect reader), the rules find every field
        pred = normalise(extractor.extract(_synthetic_document(sample)).values())
        right += pred == normalise(key)
    assert right >= 11


def test_card_manifest_and_cli(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from textlens.cli.app import app
    from textlens.extract.card_synth import write_card_manifest

    manifest = write_card_manifest(tmp_path / "cards", 2, seed=5)
    records = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert len(records) == 2 and set(records[0]["key"]) >= {"name", "phone", "email", "url", "address"}
    assert (tmp_path / "cards" / records[0]["image"]).is_file()
    runner = CliRunner()
    images = [str(tmp_path / "cards" / r["image"]) for r in records]
    vcf = tmp_path / "contacts.vcf"
    result = runner.invoke(app, ["extract", "card", *images, "-o", str(vcf), "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert len(list(vobject.readComponents(vcf.read_text()))) == 2
    out_csv = tmp_path / "contacts.csv"
    result = runner.invoke(app, ["extract", "card", images[0], "-o", str(out_csv), "--region", "gb"])
    assert result.exit_code == 0, result.output
    assert len(list(csv.DictReader(out_csv.open()))) == 1
    result = runner.invoke(app, ["extract", "card", images[0], "--region", "xyz"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["eval", "extract", "--task", "card", "--manifest", str(manifest), "--json",
                                 "--threads", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output.strip().splitlines()[-1])
    assert scores["count"] == 2 and 0.0 <= scores["all_right"] <= 1.0 and "phone" in scores
