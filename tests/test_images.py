"""prepare_image: what it accepts, what it refuses (and how it says so), and what it produces."""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from app.vision import images
from app.vision.images import ACCEPTED, ImageError, prepare_image
from tests import image_factory as factory


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def refusal(source: Path | str | bytes, **kwargs: object) -> str:
    with pytest.raises(ImageError) as info:
        prepare_image(source, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


# --- accepted formats --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "suffix", "expected", "mime"),
    [
        ("PNG", "png", "PNG", "image/png"),
        ("JPEG", "jpg", "JPEG", "image/jpeg"),
        ("WEBP", "webp", "WebP", "image/jpeg"),  # lossy WebP: a photo
        ("GIF", "gif", "GIF", "image/png"),
        ("BMP", "bmp", "BMP", "image/png"),
    ],
)
def test_allowed_formats_are_decoded_and_reencoded(tmp_path, fmt, suffix, expected, mime):
    img = Image.new("RGB", (64, 48), (200, 40, 40))
    path = factory.save(img, tmp_path, f"pic.{suffix}", fmt)
    prepared = prepare_image(path)
    assert (prepared.name, prepared.format, prepared.mime) == (f"pic.{suffix}", expected, mime)
    assert (prepared.width, prepared.height) == (64, 48) == prepared.original_size
    out = decode(prepared.data)
    assert out.format == mime.split("/")[1].upper()
    assert out.size == (64, 48)
    r, g, b = out.convert("RGB").getpixel((32, 24))
    assert r > 150 and g < 90 and b < 90  # still red: the pixels survived


def test_lossless_webp_stays_lossless(tmp_path):
    img = Image.new("RGB", (40, 30), (10, 200, 10))
    path = factory.save(img, tmp_path, "flat.webp", "WEBP", lossless=True)
    prepared = prepare_image(path)
    assert (prepared.format, prepared.mime) == ("WebP", "image/png")


def test_bytes_are_accepted_like_files(tmp_path):
    path = factory.receipt(tmp_path)
    from_bytes = prepare_image(path.read_bytes(), name="clipboard.png")
    from_file = prepare_image(path)
    assert from_bytes.name == "clipboard.png"
    assert from_bytes.data == from_file.data


# --- refused inputs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (factory.svg, "SVG"),
        (factory.tiff, "TIFF"),
        (factory.pdf, "PDF"),
        (factory.text_file, "text"),
    ],
)
def test_other_file_types_are_refused_by_name(tmp_path, make, what):
    path = make(tmp_path)
    message = refusal(path)
    assert path.name in message
    assert what in message
    assert ACCEPTED in message  # says what would work


def test_renamed_tiff_is_refused_by_content_not_name(tmp_path):
    path = factory.tiff(tmp_path, "looks-fine.png")
    assert "TIFF" in refusal(path)


def test_empty_file_and_empty_bytes_are_refused(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert "empty.png" in refusal(empty) and "empty" in refusal(empty)
    assert "empty" in refusal(b"")


def test_folder_missing_file_and_device_are_refused(tmp_path):
    assert "folder" in refusal(tmp_path)
    missing = tmp_path / "gone.png"
    message = refusal(missing)
    assert "gone.png" in message and "not found" in message
    assert "not a regular file" in refusal(Path("/dev/zero"))  # would never end


@pytest.mark.parametrize(
    "url",
    ["http://example.com/cat.png", "https://example.com/cat.png", "file:///tmp/cat.png"],
)
def test_urls_are_never_fetched(url, monkeypatch):
    def no_reading(*_args: object, **_kwargs: object) -> bytes:
        raise AssertionError("prepare_image tried to read a URL")

    monkeypatch.setattr(images, "_read_file", no_reading)
    message = refusal(url)
    assert "URL" in message and url in message


def test_oversized_file_is_refused_before_reading(tmp_path, monkeypatch):
    big = tmp_path / "huge.png"
    with big.open("wb") as fh:  # sparse: 51 MB on paper, nothing on disk
        fh.truncate(51 * 1024 * 1024)

    def no_reading(*_args: object, **_kwargs: object) -> bytes:
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "open", no_reading)
    message = refusal(big)
    assert "huge.png" in message and "too large" in message and "50 MB" in message


def test_oversized_bytes_are_refused():
    message = refusal(b"\x89PNG" + bytes(images.MAX_FILE_BYTES))
    assert "too large" in message and "50 MB" in message


# --- decompression bombs -----------------------------------------------------------------


def test_header_claiming_ten_gigapixels_is_refused(tmp_path):
    path = factory.png_header_bomb(tmp_path)
    assert path.stat().st_size < 200
    message = refusal(path)
    assert "liar.png" in message and "too large" in message
    assert "10,000,000,000 pixels" in message


@pytest.mark.parametrize(
    ("side", "shown"),
    [
        (7000, "7000 x 7000 pixels (49 megapixels)"),  # over our 40 MP limit
        (10000, "100,000,000 pixels"),  # over Pillow's warning limit too
        (20000, "400,000,000 pixels"),  # over Pillow's hard limit
    ],
)
def test_real_bomb_is_refused_without_decoding(tmp_path, side, shown):
    path = factory.png_bomb(tmp_path, side=side)
    assert path.stat().st_size < 1_000_000  # tiny file, huge picture
    started = time.perf_counter()
    message = refusal(path)
    elapsed = time.perf_counter() - started
    assert "bomb.png" in message and "too large" in message and shown in message
    assert "40 megapixels" in message
    # Decoding 49-400 MP would take seconds and hundreds of MB; the header check takes ms.
    assert elapsed < 0.5, elapsed


def test_image_just_under_the_limit_is_accepted(tmp_path):
    path = factory.png_bomb(tmp_path, side=6000, name="big-but-ok.png")  # 36 MP
    prepared = prepare_image(path)
    assert (prepared.width, prepared.height) == (1024, 1024)
    assert prepared.original_size == (6000, 6000)


# --- damaged files -----------------------------------------------------------------------


@pytest.mark.parametrize("make", [factory.truncated_png, factory.truncated_jpeg])
def test_truncated_files_are_refused(tmp_path, make):
    path = make(tmp_path)
    message = refusal(path)
    assert path.name in message
    assert "damaged or incomplete" in message


def test_truncated_images_stay_refused_process_wide(tmp_path, monkeypatch):
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # importing Parley didn't flip it
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    # If something else flips it, Parley refuses rather than showing half-grey images.
    assert "truncated images are allowed" in refusal(factory.receipt(tmp_path))


def test_garbage_after_a_valid_header_is_refused(tmp_path):
    good = factory.receipt(tmp_path).read_bytes()
    corrupt = good[:200] + bytes(range(256)) * 40 + good[-100:]
    assert "damaged or incomplete" in refusal(corrupt, name="corrupt.png")


# --- orientation, size, modes ------------------------------------------------------------


def test_exif_orientation_is_applied(tmp_path):
    path = factory.photo_exif_rotated(tmp_path)
    with Image.open(path) as raw:
        assert raw.size == (400, 300)  # stored landscape
    prepared = prepare_image(path)
    assert (prepared.width, prepared.height) == (300, 400)  # shown portrait
    assert prepared.original_size == (300, 400)
    out = decode(prepared.data).convert("RGB")
    assert out.size == (300, 400)
    top, bottom = out.getpixel((150, 20)), out.getpixel((150, 380))
    assert top[0] > 150 and top[2] < 100  # the red band is now at the top
    assert bottom[2] > 150  # blue below it
    assert "exif" not in out.info and not out.getexif()  # metadata dropped


def test_exif_rotation_and_downscale_together(tmp_path):
    img = Image.new("RGB", (4000, 3000), (90, 90, 200))
    exif = Image.Exif()
    exif[0x0112] = 8
    path = tmp_path / "camera.jpg"
    img.save(path, "JPEG", quality=85, exif=exif.tobytes())
    prepared = prepare_image(path, max_side=1024)
    assert (prepared.width, prepared.height) == (768, 1024)
    assert prepared.original_size == (3000, 4000)


def test_private_metadata_is_stripped(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0132] = "2024:01:01 12:00:00"
    path = tmp_path / "private.jpg"
    Image.new("RGB", (50, 50), "gray").save(path, "JPEG", exif=exif.tobytes())
    prepared = prepare_image(path)
    assert b"SecretCam" not in prepared.data
    assert not decode(prepared.data).getexif()


@pytest.mark.parametrize(
    ("size", "max_side", "expected"),
    [
        ((3000, 1500), 1024, (1024, 512)),
        ((1500, 3000), 1024, (512, 1024)),
        ((1920, 1080), 1024, (1024, 576)),
        ((800, 600), 1024, (800, 600)),  # never upscaled
        ((5000, 10), 500, (500, 1)),  # extreme aspect: at least one pixel
    ],
)
def test_downscale_keeps_aspect_ratio(tmp_path, size, max_side, expected):
    path = factory.save(Image.new("RGB", size, "white"), tmp_path, "wide.png", "PNG")
    prepared = prepare_image(path, max_side=max_side)
    assert (prepared.width, prepared.height) == expected
    assert decode(prepared.data).size == expected
    assert prepared.original_size == size


def test_big_jpeg_is_downscaled(tmp_path):
    img = Image.effect_noise((4000, 3000), 40).convert("RGB")
    path = factory.save(img, tmp_path, "photo.jpg", "JPEG", quality=80)
    prepared = prepare_image(path)
    assert (prepared.width, prepared.height) == (1024, 768)
    assert prepared.mime == "image/jpeg"


def test_gif_uses_first_frame_only(tmp_path):
    prepared = prepare_image(factory.animated_gif(tmp_path))
    assert prepared.animated
    assert (prepared.width, prepared.height) == (60, 40)
    out = decode(prepared.data)
    assert getattr(out, "n_frames", 1) == 1
    assert out.convert("RGB").getpixel((30, 20)) == (255, 0, 0)  # the red first frame


def test_palette_with_transparency_becomes_rgba_png(tmp_path):
    img = Image.new("P", (20, 20), 0)
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    img.paste(1, (0, 0, 10, 20))
    img.info["transparency"] = 0
    path = tmp_path / "sprite.png"
    img.save(path, transparency=0)
    prepared = prepare_image(path)
    out = decode(prepared.data)
    assert prepared.mime == "image/png" and out.mode == "RGBA"
    assert out.getpixel((15, 10))[3] == 0  # transparent half stays transparent
    assert out.getpixel((5, 10)) == (0, 0, 255, 255)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = factory.save(
        Image.new("CMYK", (30, 30), (0, 255, 255, 0)), tmp_path, "print.jpg", "JPEG"
    )
    out = decode(prepare_image(path).data)
    assert out.mode == "RGB"
    r, g, b = out.getpixel((15, 15))
    assert r > 200 and g < 60 and b < 60  # CMYK (0, 100%, 100%, 0) is red


def test_gray_alpha_becomes_rgba(tmp_path):
    img = Image.new("LA", (20, 20), (128, 255))
    img.putpixel((0, 0), (0, 0))
    path = factory.save(img, tmp_path, "la.png", "PNG")
    out = decode(prepare_image(path).data)
    assert out.mode == "RGBA"
    assert out.getpixel((10, 10)) == (128, 128, 128, 255)


def test_opaque_alpha_is_dropped(tmp_path):
    path = factory.save(Image.new("RGBA", (20, 20), (1, 2, 3, 255)), tmp_path, "o.png", "PNG")
    assert decode(prepare_image(path).data).mode == "RGB"


def test_sixteen_bit_gray_is_scaled_not_clipped(tmp_path):
    arr = np.full((16, 16), 32768, dtype=np.uint16)
    arr[:, :8] = 65535
    path = tmp_path / "deep.png"
    Image.fromarray(arr).save(path)
    with Image.open(path) as raw:
        assert raw.mode.startswith("I")  # really a 16-bit image
    out = decode(prepare_image(path).data).convert("RGB")
    assert out.getpixel((12, 8))[0] in range(125, 132)  # mid-gray, not white
    assert out.getpixel((2, 8))[0] == 255


def test_photo_saved_as_png_is_stored_as_jpeg_when_large(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "PNG_BUDGET_BYTES", 50_000)
    noisy = Image.effect_noise((400, 400), 60).convert("RGB")
    path = factory.save(noisy, tmp_path, "photo.png", "PNG")
    assert prepare_image(path).mime == "image/jpeg"
    screenshot = factory.screenshot(tmp_path)
    assert prepare_image(screenshot).mime == "image/png"  # compresses well: stays sharp


# --- helpers -----------------------------------------------------------------------------


def test_data_uri_round_trip(tmp_path):
    prepared = prepare_image(factory.screenshot(tmp_path))
    uri = prepared.data_uri()
    head, _, payload = uri.partition(",")
    assert head == f"data:{prepared.mime};base64"
    out = decode(base64.b64decode(payload, validate=True))
    assert out.size == (prepared.width, prepared.height) == (1024, 576)


def test_thumbnail_is_small_png(tmp_path):
    prepared = prepare_image(factory.receipt(tmp_path))
    thumb = decode(prepared.thumbnail(64))
    assert thumb.format == "PNG"
    assert max(thumb.size) == 64
    assert thumb.size[0] < thumb.size[1]  # the receipt is taller than wide
    with pytest.raises(ValueError):
        prepared.thumbnail(0)


def test_max_side_must_be_sane(tmp_path):
    with pytest.raises(ValueError):
        prepare_image(factory.receipt(tmp_path), max_side=0)


def test_prepared_image_is_immutable(tmp_path):
    prepared = prepare_image(factory.receipt(tmp_path))
    with pytest.raises(AttributeError):
        prepared.width = 1  # type: ignore[misc]
