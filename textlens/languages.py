"""Latin-script languages: the letters each writes beyond ASCII, its conventions, and a guess of the language of
recognised words.

A leaf (imports nothing of ours but ``errors``; no torch, no numpy, no word lists): ``--lang`` / ``OCR(lang=...)``
look a language up here (:func:`get_language`), pick the recogniser whose charset holds its letters
(``textlens.runtime.loading.recognizer_for_letters``), and ``--lang auto`` guesses each page's language from its
words (:func:`guess_language`: short stopword lists and the letters only some languages write).

Conventions per language: ``decimal`` and ``thousands`` separators and the primary ``quotes`` agree with the
training side's ``textlens.data.synth.languages.FORMATS`` (a test checks); ``repeats_hyphen``: a word with a
hyphen broken at it repeats the hyphen at the start of the next line (Portuguese ``guarda-`` / ``-chuva``,
Polish, Czech, Slovak, Croatian, Slovene, Spanish), so such a line start means the hyphen is part of the word.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from textlens.errors import ConfigError, MissingWeights

AUTO = "auto"
SCRIPT_LATIN = "latin"
SCRIPT_DEVANAGARI = "devanagari"
SCRIPT_HANGUL = "hangul"
APOSTROPHES = "'’ʼ"
HYPHENS = "-\u2010\u00ad"  # hyphen-minus, hyphen, soft hyphen: what a line broken inside a word ends with


class MissingScriptPack(ConfigError, MissingWeights):
    """``--lang`` names a language whose script's recogniser pack is not installed: a usage error to the CLI (a
    ConfigError) and a missing model to the library (a MissingWeights)."""


class LanguageWarning(UserWarning):
    """The recogniser cannot write some letters of the language asked for (it reads on without them)."""


def _vietnamese_letters() -> str:
    """Vietnamese's letters beyond ASCII: its 12 vowel letters under 5 tone marks (NFC), and đ."""
    tones = ("", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323")  # none, sắc, huyền, hỏi, ngã, nặng
    vowels = "aăâeêioôơuưy"
    out = (unicodedata.normalize("NFC", v + t) for v in vowels for t in tones)
    return "".join(c for c in dict.fromkeys(out) if not c.isascii()) + "đ"


@dataclass(frozen=True)
class Language:
    """A language: its ISO 639-1 ``code``, English ``name``, the lower-case ``letters`` it writes beyond ASCII
    (capitals follow, ``extra_capitals`` adding those ``str.upper`` does not give, as Turkish İ), its
    ``stopwords`` (lower case, elisions ending in an apostrophe), number and quotation conventions."""

    code: str
    name: str
    letters: str
    stopwords: frozenset[str] = field(repr=False)
    decimal: str = ","
    thousands: str = "."
    quotes: tuple[str, str] = ("“", "”")
    repeats_hyphen: bool = False
    extra_capitals: str = ""
    script: str = SCRIPT_LATIN

    @property
    def alphabet(self) -> str:
        """Every letter beyond ASCII the language writes: ``letters``, then their capitals."""
        capitals = (c.upper() for c in self.letters)
        upper = "".join(c for c in capitals if len(c) == 1 and not c.isascii()) + self.extra_capitals
        return "".join(dict.fromkeys(self.letters + upper))

    def missing_letters(self, charset: str) -> str:
        """The letters of :attr:`alphabet` that ``charset`` lacks, in alphabet order."""
        have = set(charset)
        return "".join(c for c in self.alphabet if c not in have)

    def join_hyphenated(self, head: str, tail: str) -> str:
        """The word a line ending in ``head`` (which ends in a hyphen) and the next line's first word ``tail``
        make: the hyphen kept when the language repeats it (``guarda-`` + ``-chuva`` → ``guarda-chuva``) or the
        tail starts with a capital after a lower-case letter (``Max-`` + ``Planck``), else dropped."""
        if not head or head[-1] not in HYPHENS:
            return head + tail
        if self.repeats_hyphen and tail[:1] in HYPHENS and len(tail) > 1:
            return head[:-1] + "-" + tail[1:]
        if tail[:1].isupper() and not tail.isupper():
            return head[:-1] + "-" + tail
        return head[:-1] + tail


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Letters: each language's alphabet beyond ASCII (common loan-word accents left out); stopwords: its most
# frequent short words, about 25-40 each, written for the guess (words shared with neighbours are fine: they
# score for both). Quotes and separators as textlens.data.synth.languages.FORMATS for the languages it has.
_LANGUAGES = (
    Language(
        "en",
        "English",
        "",
        _words(
            "the of and to that is was for are with they this from have not but what were when which their been "
            "has had would there it its be by at or we you he she his her our them these those than"
        ),
        decimal=".",
        thousands=",",
    ),
    Language(
        "fr",
        "French",
        "àâæçéèêëîïôœùûüÿ",
        _words(
            "le la les de des du un une et est en que qui dans pour pas sur au aux ce cette ces il ils elle elles "
            "nous vous avec par plus sont ont mais ou où été être ne se sa son ses leur leurs très aussi comme "
            "l' d' qu' n' c' s' j' à"
        ),
        thousands=" ",
        quotes=("«", "»"),
    ),
    Language(
        "de",
        "German",
        "äöüß",
        _words(
            "der die das und ist nicht ein eine einen einem eines zu den dem des von mit sich auf für auch es sie "
            "er wir ich als wird werden wurde sind bei aus nach noch oder wenn aber nur über dass daß kann können "
            "hat haben zum zur vom wie"
        ),
        quotes=("„", "“"),
    ),
    Language(
        "es",
        "Spanish",
        "áéíñóúü",
        _words(
            "el la los las de del y en que es un una por para con no se lo le les su sus al como más pero este "
            "esta está están son ser fue ha han muy también sin sobre entre cuando ya todo"
        ),
        quotes=("«", "»"),
        repeats_hyphen=True,
    ),
    Language(
        "it",
        "Italian",
        "àèéìíòóùú",
        _words(
            "il lo la i gli le di del della dei delle e è in che un una per con non si da dal al alla nel nella "
            "sono come più ma anche questo questa ha hanno essere era sul sulla l' dell' all' un' nell' dall' sull'"
        ),
        quotes=("«", "»"),
    ),
    Language(
        "pt",
        "Portuguese",
        "áâãàçéêíóôõú",
        _words(
            "o a os as de do da dos das e é em no na nos nas que um uma para com não se por mais como mas ao aos "
            "foi são ser está também seu sua muito pelo pela entre"
        ),
        quotes=("«", "»"),
        repeats_hyphen=True,
    ),
    Language(
        "nl",
        "Dutch",
        "éëèïöü",
        _words(
            "de het een en van is dat die niet te zijn op voor met als er maar om aan ook bij door naar dan wordt "
            "worden heeft hebben was werd nog wel geen deze dit ze hij wij"
        ),
        quotes=("‘", "’"),
    ),
    Language(
        "pl",
        "Polish",
        "ąćęłńóśźż",
        _words(
            "i w z na się nie do to że jest o jak ale po co tak przez dla od jego jej są być był była było ich "
            "może tylko już oraz także który która które ze we"
        ),
        thousands=" ",
        quotes=("„", "”"),
        repeats_hyphen=True,
    ),
    Language(
        "cs",
        "Czech",
        "áčďéěíňóřšťúůýž",
        _words(
            "a v se na je že to s z do o k i jako ale by pro jsou jeho její byl byla bylo být není také nebo tak "
            "jak který která které podle již při od ve"
        ),
        thousands=" ",
        quotes=("„", "“"),
        repeats_hyphen=True,
    ),
    Language(
        "sk",
        "Slovak",
        "áäčďéíĺľňóôŕšťúýž",
        _words(
            "a v sa na je že to s z do o k i ako ale by pre sú jeho jej bol bola bolo byť nie aj alebo tak ktorý "
            "ktorá ktoré podľa už pri od vo"
        ),
        thousands=" ",
        quotes=("„", "“"),
        repeats_hyphen=True,
    ),
    Language(
        "hu",
        "Hungarian",
        "áéíóöőúüű",
        _words(
            "a az és hogy nem is egy van volt meg de csak el ki be le fel mint már még ez azt ezt vagy kell lesz "
            "lehet után között nagyon minden szerint pedig nincs mert ha ami amely amikor akkor így sem vannak"
        ),
        thousands=" ",
        quotes=("„", "”"),
    ),
    Language(
        "ro",
        "Romanian",
        "ăâîșț",
        _words(
            "și în de la cu pe nu o un a al ale ai care este sunt fost din pentru mai ca să se ce sau dar acest "
            "această prin după sub"
        ),
        quotes=("„", "”"),
    ),
    Language(
        "tr",
        "Turkish",
        "çğıöşü",
        _words(
            "ve bir bu da de için ile çok daha olarak gibi olan ne ama en kadar sonra var yok her şey ki mi değil "
            "ben sen biz siz onlar bunu"
        ),
        extra_capitals="İ",
    ),
    Language(
        "sv",
        "Swedish",
        "åäö",
        _words(
            "och i att det som en på är av för med till den har de inte om ett han men var jag sig från vi så "
            "kan när efter under också eller"
        ),
        thousands=" ",
        quotes=("”", "”"),
    ),
    Language(
        "da",
        "Danish",
        "æøå",
        _words(
            "og i at det som en på er af for med til den har de ikke om et han men var jeg sig fra vi så kan "
            "når efter under også eller hvad"
        ),
        quotes=("„", "“"),
    ),
    Language(
        "nb",
        "Norwegian Bokmål",
        "æøå",
        _words(
            "og i å det som en på er av for med til den har de ikke om et han men var jeg seg fra vi så kan "
            "når etter under også eller hva"
        ),
        thousands=" ",
        quotes=("«", "»"),
    ),
    Language(
        "fi",
        "Finnish",
        "äöå",
        _words(
            "ja on ei se että oli hän mutta tai kun niin myös ovat olla joka mitä tämä kuin vain jo sen sitä ole "
            "voi mukaan sekä hänen"
        ),
        thousands=" ",
        quotes=("”", "”"),
    ),
    # Beyond the training word lists: languages the latin_ext charset also writes (Vietnamese it does not).
    Language(
        "ca",
        "Catalan",
        "àçèéíïòóúü",
        _words(
            "el la els les de del i a en que és un una per amb no es com més però al als aquest aquesta són ser "
            "va seu seva també molt"
        ),
        quotes=("«", "»"),
    ),
    Language(
        "gl",
        "Galician",
        "áéíñóúü",
        _words(
            "o a os as de do da dos das e en que é un unha para con non se por máis como pero ao foi son ser "
            "está tamén seu súa moi"
        ),
        quotes=("«", "»"),
    ),
    Language(
        "eu",
        "Basque",
        "ñ",
        _words("eta da ez du dute bat ere baina edo hori hau beste oso izan zen dira zuen dago baino gero nola zer"),
        quotes=("«", "»"),
    ),
    Language(
        "is",
        "Icelandic",
        "áðéíóúýþæö",
        _words("og að í á er sem til það var ekki við með af fyrir um en hann hún þetta þá eru vera hefur"),
        quotes=("„", "“"),
    ),
    Language(
        "et",
        "Estonian",
        "äõöüšž",
        _words("ja on ei see et oli ka kui aga ta nad või mis seda siis ning veel kõik tema olema"),
        thousands=" ",
        quotes=("„", "“"),
    ),
    Language(
        "lv",
        "Latvian",
        "āčēģīķļņšūž",
        _words("un ir par ar no uz kā ka bet lai tas tā to vai arī nav bija šis šī viņš viņa mēs jūs pie"),
        thousands=" ",
        quotes=("„", "“"),
    ),
    Language(
        "lt",
        "Lithuanian",
        "ąčęėįšųūž",
        _words("ir yra kad bet su iš į kaip tai jis ji jie buvo nuo apie tik dar už arba šis ši per"),
        thousands=" ",
        quotes=("„", "“"),
    ),
    Language(
        "sl",
        "Slovene",
        "čšž",
        _words("in je da se na za v z ki so pa tudi ne kot ali bi bil bila po pri od ter še"),
        quotes=("„", "“"),
        repeats_hyphen=True,
    ),
    Language(
        "hr",
        "Croatian",
        "čćđšž",
        _words("i je u da se na za s od su ne kao ili bi bio bila po pri iz što koji koja ali"),
        quotes=("„", "”"),
        repeats_hyphen=True,
    ),
    Language(
        "sq",
        "Albanian",
        "çë",
        _words("dhe të në e i një që për me nga është janë si nuk më por ka kjo ky u do"),
        quotes=("«", "»"),
    ),
    Language(
        "ga",
        "Irish",
        "áéíóú",
        _words("an na agus is ar ag le go sé sí bhí tá ní mar seo sin ach don ina"),
        decimal=".",
        thousands=",",
    ),
    Language(
        "cy",
        "Welsh",
        "âêîôûŵŷ",
        _words("y yr a ac yn i o ar mae roedd ei eu fel gan am wedi hefyd ond neu ddim bod"),
        decimal=".",
        thousands=",",
        quotes=("‘", "’"),
    ),
    Language(
        "mt",
        "Maltese",
        "àċèġħìòùż",
        _words("il ta u li fl għal minn ma huwa hija kien kienet dan din jew anke bħala"),
        decimal=".",
        thousands=",",
    ),
    Language(
        "eo",
        "Esperanto",
        "ĉĝĥĵŝŭ",
        _words("la kaj de en estas al ke ne por kun sed ili li ŝi mi vi ni tiu tio ankaŭ estis"),
        thousands=" ",
    ),
    Language(
        "af",
        "Afrikaans",
        "áéèêëíîïóôúû",
        _words("die en van is in het nie om te 'n wat op vir met sy hy was aan ook maar deur"),
        thousands=" ",
    ),
    Language(
        "id",
        "Indonesian",
        "",
        _words(
            "dan yang di ini itu dengan untuk dari dalam tidak akan pada juga ke ada adalah oleh karena atau saya "
            "kami mereka bisa"
        ),
    ),
    Language(
        "ms",
        "Malay",
        "",
        _words(
            "dan yang di ini itu dengan untuk dari dalam tidak akan pada juga ke ada ialah oleh kerana atau saya "
            "kami mereka boleh"
        ),
        decimal=".",
        thousands=",",
    ),
    Language(
        "sw",
        "Swahili",
        "",
        _words("na ya wa kwa ni katika za la cha hii huo kama lakini au pia sana yake wao mimi sisi wewe"),
        decimal=".",
        thousands=",",
    ),
    Language(
        "vi",
        "Vietnamese",
        _vietnamese_letters(),
        _words("và của là các có không được trong cho những một này với người đã để khi từ như cũng đến nhiều"),
    ),
)

LANGUAGES: dict[str, Language] = {lang.code: lang for lang in _LANGUAGES}


# --- languages of other scripts ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScriptPack:
    """The recogniser a script is read with (a model pack: a bundle folder of that name) and how it is made."""

    script: str
    recognizer: str
    recipe: str  # the training recipe that makes the pack
    charset: str  # its charset's name in textlens.data.charset


SCRIPT_PACKS: dict[str, ScriptPack] = {
    SCRIPT_DEVANAGARI: ScriptPack(SCRIPT_DEVANAGARI, "crnn_deva", "recipes/rec_deva.sh", "deva"),
    SCRIPT_HANGUL: ScriptPack(SCRIPT_HANGUL, "crnn_hangul", "recipes/rec_hangul.sh", "hangul"),
}


def _span(start: int, end: int) -> str:
    return "".join(chr(c) for c in range(start, end + 1))


# The letters a Devanagari recogniser must write: consonants, independent vowels, matras, virama, nukta and
# the nasal signs (textlens.data.charset.DEVANAGARI_SCRIPT holds them and the digits and dandas; a test checks).
_DEVANAGARI_LETTERS = (
    _span(0x0901, 0x0903) + _span(0x0905, 0x0914) + _span(0x0915, 0x0939) + "\u093c" + (_span(0x093E, 0x094D))
)


def _hangul_syllables() -> str:
    """The 2,350 Hangul syllables of KS X 1001 (EUC-KR lead bytes 0xB0-0xC8, trail bytes 0xA1-0xFE)."""
    return "".join(bytes((lead, trail)).decode("euc_kr") for lead in range(0xB0, 0xC9) for trail in range(0xA1, 0xFF))


# Read by a recogniser of their script, never guessed by --lang auto (its guess is over LANGUAGES: Latin).
SCRIPT_LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language(
            "hi",
            "Hindi",
            _DEVANAGARI_LETTERS,
            _words("का के की है में और को से पर यह एक नहीं भी कि लिए था हैं"),
            decimal=".",
            thousands=",",
            script=SCRIPT_DEVANAGARI,
        ),
        Language(
            "mr",
            "Marathi",
            _DEVANAGARI_LETTERS + "ळ",
            _words("आणि आहे या व हे ते की ही तो होते आहेत करून"),
            decimal=".",
            thousands=",",
            script=SCRIPT_DEVANAGARI,
        ),
        Language(
            "ne",
            "Nepali",
            _DEVANAGARI_LETTERS,
            _words("र को का मा छ पनि भने गर्न हो यो त्यो लागि"),
            decimal=".",
            thousands=",",
            script=SCRIPT_DEVANAGARI,
        ),
        Language(
            "ko",
            "Korean",
            _hangul_syllables(),
            _words("그리고 그 이 있다 하는 것 수 등 및 또는 위한"),
            decimal=".",
            thousands=",",
            script=SCRIPT_HANGUL,
        ),
    )
}
SCRIPT_ALIASES = {"hin": "hi", "mar": "mr", "nep": "ne", "kor": "ko"}


def script_pack(code: str) -> ScriptPack | None:
    """The pack that reads language ``code`` when it is not written in Latin letters (None for Latin ones)."""
    language = get_language(code)
    return SCRIPT_PACKS.get(language.script)


def installed_recognizers() -> list[str]:
    """The names of the bundled recognisers. Imported when called, not at import: this module stays a leaf, and
    textlens.models.bundle imports neither torch nor the runtime."""
    from textlens.models.bundle import bundled_names

    return bundled_names("recognition")


def require_script_pack(code: str, installed: Sequence[str] | None = None) -> str:
    """The recogniser of a non-Latin language; MissingScriptPack (a ConfigError and a MissingWeights) naming the
    pack and the recipe that trains it when the pack is not installed (there is no fallback to a Latin
    recogniser, which reads no letter of it)."""
    language = get_language(code)
    pack = SCRIPT_PACKS.get(language.script)
    if pack is None:
        raise ConfigError(f"{language.name} ({language.code}) is written in Latin letters: no script pack")
    names = installed_recognizers() if installed is None else installed
    if pack.recognizer not in names:
        raise MissingScriptPack(
            f"--lang {language.code} ({language.name}) needs the {language.script} recogniser {pack.recognizer}, "
            f"which is not installed yet: train it with {pack.recipe} and export it into "
            f"textlens/models/weights/{pack.recognizer} (docs/languages.md)"
        )
    return pack.recognizer


# Other names of a language: Norwegian's macrolanguage code, and the ISO 639-2/3 codes users type.
ALIASES = {"no": "nb", "eng": "en", "fra": "fr", "fre": "fr", "deu": "de", "ger": "de", "spa": "es", "ita": "it"}


def language_codes() -> tuple[str, ...]:
    return tuple(LANGUAGES)


def get_language(code: str) -> Language:
    """The language of an ISO 639-1 code (any case, a region after ``-`` or ``_`` ignored: ``pt-BR``);
    a ConfigError lists the known codes."""
    key = code.strip().replace("_", "-").split("-", 1)[0].lower()
    key = ALIASES.get(key, SCRIPT_ALIASES.get(key, key))
    if key in SCRIPT_LANGUAGES:
        return SCRIPT_LANGUAGES[key]
    if key not in LANGUAGES:
        known = ", ".join([*LANGUAGES, *SCRIPT_LANGUAGES])
        raise ConfigError(f"unknown language {code!r}: use auto or one of {known}")
    return LANGUAGES[key]


def parse_lang(value: str | None) -> str | None:
    """A ``--lang`` value as the pipeline takes it: None, ``auto``, or a known language's code. A Devanagari or
    Korean language (``hi``, ``mr``, ``ne``, ``ko``) needs its script's recogniser pack installed: MissingScriptPack
    names the pack and its training recipe otherwise."""
    if value is None or not value.strip():
        return None
    if value.strip().lower() == AUTO:
        return AUTO
    language = get_language(value)
    if language.script != SCRIPT_LATIN:  # read only by its script's pack: refused with the recipe when missing
        require_script_pack(language.code)
    return language.code


def latin_letters() -> str:
    """Every letter beyond ASCII some language here writes (what ``--lang auto`` wants a recogniser to read)."""
    return "".join(dict.fromkeys(c for lang in _LANGUAGES for c in lang.alphabet))


def describe_letters(letters: str, limit: int = 30) -> str:
    """Letters for a message: the lower-case ones spaced, capitals only where their small letter is absent; past
    ``limit`` letters, the first ones and the count."""
    lower = [c for c in letters if not c.isupper()]
    upper = [c for c in letters if c.isupper() and c.lower() not in lower]
    shown = lower + upper
    text = " ".join(shown[:limit]) + (f" … ({len(shown)} letters)" if len(shown) > limit else "")
    if lower and any(c.isupper() and c.lower() in lower for c in letters):
        text += " and their capitals"
    return text


# --- the guess ----------------------------------------------------------------------------------------------
MIN_SCORE = 2.0  # evidence below this (a stopword and a half) is no guess: a page of numbers or a logo
MIN_MARGIN = 0.5  # the best language must lead the next by this much
FOLDED_WEIGHT = 0.5  # a stopword matched only without its accents (read by a recogniser without them)
LETTER_WEIGHT = 2.0  # per occurrence of a letter, shared among the languages writing it
LETTER_PENALTY = 0.5  # per occurrence of a letter the language does not write


def _fold(text: str) -> str:
    """``text`` without accents (ø, ł, đ, ß written as o, l, d, ss), for recognisers that read ASCII only."""
    text = text.replace("ß", "ss").replace("ø", "o").replace("ł", "l").replace("đ", "d").replace("ı", "i")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _tokens(words: Iterable[str]) -> list[str]:
    """Lower-case tokens of words: letters kept, punctuation around them dropped; an elision (``l'homme``)
    gives its article with the apostrophe (``l'``) and the rest."""
    out: list[str] = []
    for word in words:
        text = unicodedata.normalize("NFC", word).lower()
        for mark in APOSTROPHES[1:]:
            text = text.replace(mark, "'")
        for piece in text.split():
            head, apostrophe, rest = piece.partition("'")
            head = "".join(c for c in head if c.isalpha())
            if apostrophe and head and rest:
                out.append(head + "'")
                piece = rest
            token = "".join(c for c in piece if c.isalpha())
            if token:
                out.append(token)
    return out


@cache
def _folded_stopwords(code: str) -> frozenset[str]:
    lang = LANGUAGES[code]
    return frozenset(_fold(w) for w in lang.stopwords) - lang.stopwords


def language_scores(words: Iterable[str], candidates: Sequence[str] | None = None) -> dict[str, float]:
    """Evidence per language that ``words`` are written in it: a point per stopword, shared among the languages
    having it (half a point when it matches only without its accents), and for each letter beyond ASCII, two
    points shared among the languages writing it, half a point off for each language that does not."""
    codes = [get_language(c).code for c in candidates] if candidates else list(LANGUAGES)
    tokens = _tokens(words)
    scores = dict.fromkeys(codes, 0.0)
    for token in tokens:
        exact = [code for code in codes if token in LANGUAGES[code].stopwords]
        folded = [] if exact else [code for code in codes if token in _folded_stopwords(code)]
        for code in exact:
            scores[code] += 1.0 / len(exact)
        for code in folded:
            scores[code] += FOLDED_WEIGHT / len(folded)
    letters = [c for t in tokens for c in t if not c.isascii()]
    for letter in letters:
        owners = [code for code in codes if letter in LANGUAGES[code].letters]
        if not owners:  # a letter none of them writes (µ, or a misreading): no evidence either way
            continue
        for code in codes:
            scores[code] += LETTER_WEIGHT / len(owners) if code in owners else -LETTER_PENALTY
    return scores


def guess_language(words: Iterable[str], candidates: Sequence[str] | None = None) -> str | None:
    """The code of the language ``words`` are most likely in (among ``candidates``, default all), or None when
    the evidence is thin (under ``MIN_SCORE``) or two languages are about level (within ``MIN_MARGIN``)."""
    scores = language_scores(words, candidates)
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    if not ranked or ranked[0][1] < MIN_SCORE:
        return None
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < MIN_MARGIN:
        return None
    return ranked[0][0]


def coverage_warning(lang: str | None, recognizer: str, charset: object, chosen: bool = True) -> str | None:
    """What a reader of ``lang`` (a code or ``auto``) with the recogniser named ``recognizer`` over ``charset``
    loses, as one line; None when nothing (or the charset is unknown: a recogniser object without one).
    ``chosen``: the recogniser was picked for the language (no bundled one writes more of its letters)."""
    if lang is None or not isinstance(charset, str):
        return None
    if lang == AUTO:
        lacking = [code for code, language in LANGUAGES.items() if language.missing_letters(charset)]
        if not lacking:
            return None
        return (
            f"--lang auto: the recogniser {recognizer} lacks letters of {len(lacking)} of the {len(LANGUAGES)} "
            f"languages ({', '.join(lacking)}); text in them is read without those letters"
        )
    language = get_language(lang)
    missing = language.missing_letters(charset)
    if not missing:
        return None
    whose = (
        f"no bundled recogniser reads {describe_letters(missing)}: reading with {recognizer}"
        if chosen
        else f"the recogniser {recognizer} does not read {describe_letters(missing)}"
    )
    return f"--lang {language.code} ({language.name}): {whose}, so they come out as other letters or not at all"
