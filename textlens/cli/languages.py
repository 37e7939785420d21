"""``textlens languages``: the languages ``--lang`` takes, their letters, and the bundled recogniser that reads
them."""

from __future__ import annotations

from typing import Annotated

import typer


def languages(
    letters: Annotated[
        bool, typer.Option("--letters", help="Also print each language's letters beyond ASCII.")
    ] = False,
) -> None:
    """List the languages of --lang: code, name, the bundled recogniser it picks and the letters that one lacks."""
    from textlens.errors import MissingWeights
    from textlens.languages import LANGUAGES, describe_letters
    from textlens.runtime.loading import recognizer_for_letters

    rows = []
    for code, language in LANGUAGES.items():
        try:
            model, missing = recognizer_for_letters(language.alphabet)
        except MissingWeights:  # no recogniser bundled: the list still says what each language needs
            model, missing = "-", ""
        lacks = f"lacks {describe_letters(missing)}" if missing else "reads all its letters"
        rows.append((code, language.name, model, lacks, language.letters))
    name_width = max(len(r[1]) for r in rows)
    model_width = max(len(r[2]) for r in rows)
    for code, name, model, lacks, own in rows:
        line = f"{code:<3} {name:<{name_width}}  {model:<{model_width}}  {lacks}"
        if letters:
            line += f"  [{own or 'ASCII only'}]"
        typer.echo(line)
    typer.echo("auto: guessed per page from the words read (--lang auto)")
