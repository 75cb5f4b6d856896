"""The third-party notice the installers carry names everything the freeze installs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _frozen_requirements() -> list[str]:
    names = []
    for line in (ROOT / "packaging" / "requirements-frozen.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(re.split(r"[=<>!~\[ ]", line, maxsplit=1)[0])
    return names


def test_every_frozen_requirement_is_in_the_notice() -> None:
    notice = (ROOT / "packaging" / "THIRD-PARTY.md").read_text().lower()
    aliases = {"pyside6-essentials": "pyside6", "pyinstaller": "pyinstaller bootloader", "pi-heif": "pi-heif"}
    missing = [n for n in _frozen_requirements() if aliases.get(n.lower(), n.lower()) not in notice]
    assert missing == [], f"packaging/THIRD-PARTY.md does not mention {missing}"


def test_the_installers_carry_the_decode_only_heif_library_and_the_notice() -> None:
    requirements = [n.lower() for n in _frozen_requirements()]
    assert "pi-heif" in requirements and "pillow-heif" not in requirements  # no GPL x265 encoder
    spec = (ROOT / "packaging" / "photosim.spec").read_text()
    assert '"pillow_heif"' in spec and "THIRD-PARTY.md" in spec
    build = (ROOT / "packaging" / "build.sh").read_text()
    assert "usr/share/doc/photosim/THIRD-PARTY.md" in build and '"$TSTAGE/THIRD-PARTY.md"' in build
