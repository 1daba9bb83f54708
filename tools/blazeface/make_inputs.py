#!/usr/bin/python3
"""Builds models/blazeface/inputs-16.bin, the embedded BlazeFace calibration and evaluation images.

Maintainer tool; the main job and the tests read only the committed .bin file.

Source: the sample images of Debian's python3-skimage 0.19.3 (skimage/data/), all public domain
or CC0 according to skimage/data/_fetchers.py:
  astronaut.png       NASA portrait of Eileen Collins, public domain        (a face)
  camera.png          "cameraman", CC0 (Lav Varshney)                      (a face, grey)
  chelsea.png         a cat, CC0 (Stefan van der Walt)                      (no human face)
  coffee.png          a cup of coffee, CC0 (Rachel Michetti)                (no face)
  rocket.jpg          SpaceX, public domain                                 (no face)
  motorcycle_left.png CC0                                                   (no face)

Usage (no pip: Debian's Python with python3-pil):
  apt-get download python3-skimage && dpkg-deb -x python3-skimage_*.deb /tmp/skimage
  /usr/bin/python3 tools/blazeface/make_inputs.py /tmp/skimage/usr/lib/python3/dist-packages/skimage/data

Output: 16 images of 128 x 128 RGB, uint8, NHWC, concatenated (16 * 49152 bytes), in the order
of CROPS below. Square crops are resized with Lanczos. harness/model/blazeface.ts maps a byte v to
v / 127.5 - 1, the [-1, 1] range BlazeFace takes.
"""
import hashlib
import os
import sys

from PIL import Image, ImageOps

# (file, crop centre x, centre y, side, mirrored); None centre/side = the largest centred square.
CROPS = [
    ("astronaut.png", 256, 256, 512, False),
    ("chelsea.png", None, None, None, False),
    ("astronaut.png", 225, 135, 300, False),
    ("coffee.png", None, None, None, False),
    ("astronaut.png", 225, 135, 220, True),
    ("camera.png", 256, 256, 512, False),
    ("astronaut.png", 240, 160, 400, True),
    ("rocket.jpg", None, None, None, False),
    ("astronaut.png", 256, 256, 512, True),
    ("motorcycle_left.png", None, None, None, False),
    ("astronaut.png", 220, 130, 260, False),
    ("camera.png", 250, 150, 300, True),
    ("astronaut.png", 230, 140, 180, False),
    ("chelsea.png", None, None, None, True),
    ("astronaut.png", 210, 150, 340, True),
    ("camera.png", 256, 200, 380, False),
]
SIDE = 128


def crop(path, cx, cy, side, mirrored):
    im = Image.open(path).convert("RGB")
    w, h = im.size
    if side is None:
        side = min(w, h)
        cx, cy = w // 2, h // 2
    left = max(0, min(w - side, cx - side // 2))
    top = max(0, min(h - side, cy - side // 2))
    im = im.crop((left, top, left + side, top + side)).resize((SIDE, SIDE), Image.LANCZOS)
    return ImageOps.mirror(im) if mirrored else im


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_inputs.py <skimage data directory>")
    src = sys.argv[1]
    out = os.path.join(os.path.dirname(__file__), "..", "..", "models", "blazeface", "inputs-16.bin")
    data = b"".join(crop(os.path.join(src, f), cx, cy, s, m).tobytes() for f, cx, cy, s, m in CROPS)
    assert len(data) == len(CROPS) * SIDE * SIDE * 3
    with open(out + ".tmp", "wb") as fh:
        fh.write(data)
    os.replace(out + ".tmp", out)
    print(f"wrote {out}: {len(CROPS)} images, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
