"""Make src/annotated/fonts/kanji-numerals.ttf: the few kanji the numbers task writes.

Matplotlib's own font (DejaVu Sans) has no kanji, and neither has Colab, so Japanese token
labels would be drawn as empty boxes (with a warning per glyph). This script cuts the 15
characters num2words uses for Japanese numbers out of Droid Sans Fallback (Apache-2.0,
Debian package fonts-droid-fallback) and renames the family, giving a file of a few kB that
the package ships; `annotated.viz.primitives.with_kanji()` uses it.

    apt-get download fonts-droid-fallback && dpkg-deb -x fonts-droid-fallback_*.deb droid
    python scripts/make_kanji_font.py droid/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "annotated" / "fonts" / "kanji-numerals.ttf"
CHARACTERS = "零〇一二三四五六七八九十百千万"
FAMILY = "Annotated Kanji Numerals"


def main(source: str) -> None:
    options = subset.Options()
    options.name_IDs = []  # drop the original names; ours are set below
    options.drop_tables += ["DSIG"]
    font = TTFont(source)
    sub = subset.Subsetter(options)
    sub.populate(text=CHARACTERS)
    sub.subset(font)
    name = font["name"]
    for nid, value in ((1, FAMILY), (2, "Regular"), (4, FAMILY), (6, FAMILY.replace(" ", "")),
                       (3, f"{FAMILY} subset of Droid Sans Fallback Full")):
        name.setName(value, nid, 3, 1, 0x409)  # Windows, Unicode BMP, English
    OUT.parent.mkdir(parents=True, exist_ok=True)
    font.save(OUT)
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
