"""Draw photosim's icon with Pillow and write it at the sizes each platform wants (output is committed).

Why generated: a drawn-by-code icon can be re-made at any size and needs no design tool or licence.
The picture: a rounded square with two overlapping photo prints showing the same landscape, the
front one slightly turned: two photos that look alike. Drawn at 1024 px and downscaled with Lanczos
(small sizes get a thicker frame so the shape survives at 16 px).

    .venv/bin/python packaging/tools/make_icons.py resources/icons
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

MASTER = 1024
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]


def _vertical_gradient(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    w, h = size
    grad = Image.new("RGB", (1, h))
    for y in range(h):
        t = y / max(1, h - 1)
        grad.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)))
    return grad.resize((w, h))


def _photo(size: tuple[int, int], border: int) -> Image.Image:
    """A print with a white border: sky, sun, two mountains, a lake."""
    w, h = size
    card = Image.new("RGBA", size, (250, 250, 247, 255))
    iw, ih = w - 2 * border, h - 2 * border - border // 2
    scene = _vertical_gradient((iw, ih), (92, 170, 235), (196, 228, 250)).convert("RGBA")
    d = ImageDraw.Draw(scene)
    d.ellipse((int(iw * 0.66), int(ih * 0.12), int(iw * 0.86), int(ih * 0.12) + int(iw * 0.20)), fill=(255, 205, 70))
    d.polygon([(0, ih), (int(iw * 0.34), int(ih * 0.36)), (int(iw * 0.70), ih)], fill=(46, 125, 98))
    d.polygon([(int(iw * 0.30), ih), (int(iw * 0.64), int(ih * 0.50)), (iw, int(ih * 0.86)), (iw, ih)], fill=(31, 96, 80))
    d.rectangle((0, int(ih * 0.86), iw, ih), fill=(58, 140, 200))
    card.paste(scene, (border, border))
    return card


def _rounded_mask(size: int, radius: int) -> Image.Image:
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, size - 1, size - 1), radius=radius, fill=255)
    return mask


def draw_icon(small: bool = False) -> Image.Image:
    """The icon at MASTER px; ``small`` draws bolder frames for the 16-32 px sizes."""
    s = MASTER
    inset = int(s * 0.06)
    tile = s - 2 * inset
    icon = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    bg = _vertical_gradient((tile, tile), (38, 58, 120), (24, 150, 170)).convert("RGBA")
    bg.putalpha(_rounded_mask(tile, int(tile * 0.22)))
    icon.alpha_composite(bg, (inset, inset))
    border = int(s * (0.06 if small else 0.035))
    card_w, card_h = int(s * 0.56), int(s * 0.46)
    for angle, (cx, cy), shade in ((14, (0.42, 0.43), 0.78), (-8, (0.58, 0.58), 1.0)):
        card = _photo((card_w, card_h), border)
        if shade < 1:
            dim = Image.new("RGBA", card.size, (20, 30, 60, int(255 * (1 - shade))))
            card.alpha_composite(dim)
        rotated = card.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
        pad = int(s * 0.06)  # room for the blur, so the shadow fades instead of ending in a hard edge
        shadow = Image.new("RGBA", (rotated.width + 2 * pad, rotated.height + 2 * pad), (0, 0, 0, 0))
        alpha = Image.new("L", shadow.size, 0)
        alpha.paste(rotated.getchannel("A").point(lambda a: int(a * 0.45)), (pad, pad))
        shadow.putalpha(alpha.filter(ImageFilter.GaussianBlur(s * 0.018)))
        x, y = int(s * cx - rotated.width / 2), int(s * cy - rotated.height / 2)
        shadow_box = Image.new("RGBA", icon.size, (0, 0, 0, 0))
        shadow_box.paste(shadow, (x - pad + int(s * 0.012), y - pad + int(s * 0.022)))
        shadow_box.putalpha(Image.composite(shadow_box.getchannel("A"), Image.new("L", icon.size, 0),
                                            icon.getchannel("A")))
        icon.alpha_composite(shadow_box)
        icon.alpha_composite(rotated, (x, y))
    return icon


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    big, small = draw_icon(), draw_icon(small=True)
    for px in PNG_SIZES:
        source = small if px <= 32 else big
        source.resize((px, px), Image.Resampling.LANCZOS).save(out / f"photosim-{px}.png", optimize=True)
    base = big.resize((256, 256), Image.Resampling.LANCZOS)
    base.save(out / "photosim.ico", sizes=ICO_SIZES,
              append_images=[(small if w <= 32 else big).resize((w, w), Image.Resampling.LANCZOS) for w, _ in ICO_SIZES])
    big.resize((512, 512), Image.Resampling.LANCZOS).save(
        out / "photosim.icns", append_images=[big.resize((p, p), Image.Resampling.LANCZOS) for p in (16, 32, 64, 128, 256)])


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "resources/icons"))
