"""Copy the browser test's screenshots to the README's folder as small palette PNGs (`make screenshots`).

python tests/serving/console/shrink.py build/console-screenshots/zh docs/console
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

WIDTH, HEIGHT, COLOURS = 800, 1000, 64  # wide enough to read, cut below the first screenful or so


def shrink(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.png")):
        image = Image.open(path).convert("RGB")
        image = image.crop((0, 0, image.width, min(image.height, int(HEIGHT * image.width / WIDTH))))
        image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.Resampling.LANCZOS)
        image.quantize(COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
            target / path.name, optimize=True
        )
        print(f"{target / path.name}: {(target / path.name).stat().st_size // 1024} KB")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    shrink(Path(sys.argv[1]), Path(sys.argv[2]))
