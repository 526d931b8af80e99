"""The offline image reader on rendered images with known text (real RapidOCR, real models)."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.vision.images import prepare_image
from app.vision.ocr import OCR_MAX_SIDE, ImageReader, ImageReading, colour_name, main_colours
from tests import image_factory as factory
from tests.image_factory import DisplaySign


@pytest.fixture(scope="module")
def reader() -> ImageReader:
    r = ImageReader(threads=2)
    r.load()
    return r


def read(reader: ImageReader, path: Path, max_side: int = OCR_MAX_SIDE) -> ImageReading:
    return reader.read(prepare_image(path, max_side=max_side))


def test_receipt_total_and_items_in_reading_order(reader, tmp_path):
    reading = read(reader, factory.receipt(tmp_path))
    assert factory.RECEIPT_TOTAL in reading.text
    assert "TOTAL 10.70 EUR" in reading.lines
    assert reading.lines[0] == factory.RECEIPT_SHOP
    assert reading.lines[-1].startswith("Thank you")
    # Each item and its price, far apart on the paper, end up on one line, item first.
    for item, price in factory.RECEIPT_ITEMS:
        assert f"{item} {price}" in reading.lines, reading.lines
    assert reading.text == "\n".join(reading.lines)


def test_dialog_words_with_their_spaces(reader, tmp_path):
    reading = read(reader, factory.dialog(tmp_path))
    assert reading.lines[0] == factory.DIALOG_TITLE
    # The recogniser alone returns 'Diskfull.Deletefilestocontinue.' for this line.
    assert factory.DIALOG_MESSAGE in reading.lines
    assert "OK Cancel" in reading.lines


def test_dropped_word_spaces_are_restored(reader, tmp_path):
    reading = read(reader, factory.word_spacing(tmp_path))
    assert list(reading.lines) == [text for text, _face, _size in factory.SPACING_LINES]


def test_split_boxes_do_not_repeat_letters(reader, tmp_path):
    # The detector cuts this line into overlapping boxes ('Ignorep' + 'previous',
    # 'been' + 'nhacked'); the overlap must not show up as stray letters.
    reading = read(reader, factory.injection(tmp_path))
    assert reading.lines == (factory.INJECTION_TEXT,)


def test_full_hd_screenshot(reader, tmp_path, record_property):
    path = factory.screenshot(tmp_path)
    image = prepare_image(path, max_side=OCR_MAX_SIDE)
    assert (image.width, image.height) == (1920, 1080)  # read at full resolution
    small = prepare_image(path, max_side=1024)
    before = reader.read(small).seconds
    reading = reader.read(image)
    after = reader.read(small).seconds
    record_property("ocr_seconds_1920x1080", round(reading.seconds, 3))
    print(f"\nOCR of the 1920x1080 screenshot took {reading.seconds:.2f} s (2 threads)")
    assert reading.lines[0] == "notes.txt - Editor"
    assert factory.SCREENSHOT_HEADING in reading.lines
    for line in factory.SCREENSHOT_LINES:
        assert line in reading.lines
    assert "Start 10:42" in reading.lines  # taskbar: both ends of the screen, one line
    # No absolute time (the cores are shared): 3.5 times the pixels of the 1024 x 576 read,
    # taken just before and after, may cost at most about that many times as long.
    assert reading.seconds < 8 * min(before, after), (reading.seconds, before, after)
    names = [c.name for c in reading.colours]
    assert names[:2] == ["blue", "white"], reading.colours


def test_downscaled_screenshot_still_reads_the_body(reader, tmp_path):
    reading = read(reader, factory.screenshot(tmp_path), max_side=1024)
    assert (reading.width, reading.height) == (1024, 576)
    for line in factory.SCREENSHOT_LINES:
        assert line in reading.lines


def test_no_text(reader, tmp_path):
    reading = read(reader, factory.blank(tmp_path))
    assert reading.text == "" and reading.lines == ()
    described = reading.describe()
    assert "no text found" in described
    assert "400 x 300" in described and "blank.png" in described
    assert reading.colours[0].name == "white" and reading.colours[0].share == 1.0


def test_white_text_on_transparent_background(reader, tmp_path):
    reading = read(reader, factory.white_text_on_transparent(tmp_path))
    assert reading.text == "Meet me at noon"


def test_describe_is_factual_and_compact(reader, tmp_path):
    reading = read(reader, factory.dialog(tmp_path))
    described = reading.describe()
    assert described.startswith("PNG image “dialog.png”, 640 x 300 pixels")
    assert "3 lines of text found" in described
    assert re.search(r"light gray \(#[0-9a-f]{6}, \d+%\)", described), described
    assert "dark blue" in described  # the title bar
    assert factory.DIALOG_MESSAGE not in described  # the text itself is not a "fact"
    assert len(described) < 300


def test_read_from_a_worker_thread(reader, tmp_path):
    image = prepare_image(factory.dialog(tmp_path))
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(reader.read, [image, image]))
    assert results[0].lines == results[1].lines
    assert threading.active_count() >= 1


def test_reader_loads_lazily():
    fresh = ImageReader(threads=1)
    assert fresh._engine is None  # constructing it costs nothing


@pytest.mark.parametrize(
    ("rgb", "name"),
    [
        ((255, 255, 255), "white"),
        ((0, 0, 0), "black"),
        ((236, 236, 236), "light gray"),
        ((128, 128, 128), "gray"),
        ((40, 40, 45), "dark gray"),
        ((220, 20, 20), "red"),
        ((40, 60, 110), "dark blue"),
        ((30, 90, 140), "blue"),
        ((255, 140, 0), "orange"),
        ((20, 160, 40), "green"),
        ((250, 230, 30), "yellow"),
        ((120, 40, 160), "purple"),
        ((255, 182, 193), "pink"),
        ((200, 30, 150), "magenta"),
        ((120, 70, 20), "brown"),
    ],
)
def test_colour_names(rgb, name):
    assert colour_name(*rgb) == name


def test_main_colours_of_a_two_colour_image():
    from PIL import Image

    img = Image.new("RGB", (100, 100), (220, 20, 20))
    img.paste((255, 255, 255), (0, 0, 100, 25))
    colours = main_colours(img)
    assert [c.name for c in colours] == ["red", "white"]
    assert colours[0].hex == "#dc1414"
    assert abs(colours[0].share - 0.75) < 0.02 and abs(colours[1].share - 0.25) < 0.02


@pytest.mark.parametrize(
    "angle, warp", [(3, 0.0), (-3, 0.0), (6, 0.0), (-6, 0.0), (0, 0.25), (4, 0.2), (-4, 0.2)]
)
def test_photographed_receipt_keeps_each_label_with_its_amount(reader, tmp_path, angle, warp):
    """A receipt photographed a few degrees off or at a slant: each item stays on one line
    with its own price and TOTAL with its amount, in the paper's order (the model otherwise
    guesses which amount is the total)."""
    photo = factory.photographed(factory.receipt(tmp_path), tmp_path, angle, warp)
    lines = read(reader, photo).lines
    wanted = [f"{item} {price}" for item, price in factory.RECEIPT_ITEMS]
    wanted.append(f"TOTAL {factory.RECEIPT_TOTAL} EUR")
    assert [line for line in lines if line in wanted] == wanted, lines
    assert lines[0] == factory.RECEIPT_SHOP and lines[-1] == "Thank you!"


@pytest.mark.parametrize("text, share", [("7", 0.55), ("4", 0.55), ("12", 0.7), ("P", 0.7)])
def test_large_display_text_is_read_as_it_is(reader, tmp_path, text, share):
    """A sign's number filling half the picture: read once, with no character added or lost
    (at full size alone the reader missed each of these)."""
    reading = read(reader, factory.sign(tmp_path, text, share))
    assert reading.lines == (text, "Platform")


def test_large_and_small_text_together_each_read_once(reader, tmp_path):
    """A sign with ordinary lines under its big number: the second look adds the number and
    leaves the small text to the full-size reading (nothing doubled)."""
    path = factory.sign(tmp_path, "9", 0.45, caption="Trains to Lisbon and Porto")
    reading = read(reader, path)
    assert reading.lines == ("9", "Trains to Lisbon and Porto")


# Signs the reader got wrong at full size (each drawn big, tilted and blurred as in a photo):
# digits split apart, a number lost, a letter dropped or misread, across the size range.
SIGNS = [
    DisplaySign((("D47", 0.52), ("GATE", 0.14)), width=860, aspect=0.5625, tilt=-2.5,
                blur=0.0028, colour=1),  # 'D 47'
    DisplaySign((("HALL", 0.12), ("66", 0.5)), width=1480, dark=False, tilt=1.8, blur=0.002,
                colour=2, frame=2),  # '6 6'
    DisplaySign((("351", 0.5), ("TRACK", 0.11)), "DejaVuSans.ttf", 876, 0.6, tilt=1.5,
                blur=0.0018, frame=1),  # the number missed
    DisplaySign((("714", 0.405), ("PLATFORM", 0.116)), "DejaVuSansCondensed-Bold.ttf", 1938,
                0.5625, dark=False, tilt=-2.177, blur=0.00049, frame=1),  # '1'
    DisplaySign((("EXIT", 0.11), ("1D", 0.59)), "DejaVuSansMono-Bold.ttf", 1719, 0.6,
                weight=2, tilt=-1.1, blur=0.0028, colour=1, frame=2),  # '一' (the frame), 'C'
]  # fmt: skip


@pytest.mark.parametrize("sign", SIGNS, ids=lambda sign: "-".join(sign.text))
def test_display_sign_read_as_drawn(reader, tmp_path, sign):
    """Big display text, 600-2000 px wide, reads exactly as drawn: nothing added, split,
    lost or changed, and the sign's lines in order."""
    reading = read(reader, factory.display_sign(tmp_path, sign))
    assert reading.lines == sign.text
