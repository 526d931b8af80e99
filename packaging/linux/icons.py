"""icons.py SOURCE.png HICOLOR_DIR ID: the app icon in the hicolor theme's usual sizes."""

import sys
from pathlib import Path

from PIL import Image

SIZES = (16, 22, 24, 32, 48, 64, 128, 256)

source, root, name = Image.open(sys.argv[1]).convert("RGBA"), Path(sys.argv[2]), sys.argv[3]
for size in SIZES:
    folder = root / f"{size}x{size}" / "apps"
    folder.mkdir(parents=True, exist_ok=True)
    source.resize((size, size), Image.Resampling.LANCZOS).save(folder / f"{name}.png")
