"""Does a crop manifest's letter case follow the print? Tesseract (which reads case as printed) reads a
random sample of its crops; among the crops it reads right ignoring case, the ones where it finds two or
more lower-case letters while the label has none show print the labels write in capitals (SROIE,
2026-12-06: 84 of 165). Needs the `tesseract` binary (`make bench` installs it).

Usage: python recipes/label_case_probe.py [MANIFEST=runs/real-crops/sroie_dev_heldout/manifest.jsonl] [N=300]
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path


def alnum_lower(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def main() -> None:
    manifest = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/real-crops/sroie_dev_heldout/manifest.jsonl")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    rows = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
    random.seed(0)
    sample = random.sample(rows, min(count, len(rows)))
    agreed, lower_print, examples = 0, 0, []
    for row in sample:
        image = manifest.parent / row["image"]
        read = subprocess.run(
            ["tesseract", str(image), "-", "--psm", "7"], capture_output=True, text=True, check=False
        ).stdout.strip()
        label = row["text"]
        if not any(c.isalpha() for c in label) or not alnum_lower(read) or alnum_lower(read) != alnum_lower(label):
            continue
        agreed += 1
        if sum(c.islower() for c in read) >= 2 and not any(c.islower() for c in label):
            lower_print += 1
            examples.append((label, read))
    print(
        json.dumps(
            {
                "manifest": str(manifest),
                "sampled": len(sample),
                "tesseract_right_ignoring_case": agreed,
                "printed_lower_labelled_upper": lower_print,
                "examples": examples[:10],
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
