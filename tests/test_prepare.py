"""Image preparation with real files of every awkward kind, made here."""

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from kiosk.content import media
from kiosk.content.programme import MediaRef, Programme, Slide
from kiosk.source import prepare

SIZE = (200, 200)
RED, BLUE, WHITE, BLACK = (255, 0, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)


def ref(path: Path) -> MediaRef:
    return MediaRef(media.sha256_file(path), path.stat().st_size, path, path.name)


def prepared(path: Path, tmp_path: Path, fit: str = "fit", size=SIZE) -> Image.Image:
    out = prepare.prepare_image(ref(path), size, fit, tmp_path / "cache")
    assert out.parent == tmp_path / "cache" / "prepared"
    with Image.open(out) as image:
        assert image.size == size
        return image.convert("RGB")


def near(pixel, color, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, color, strict=True))


def stripes(width=400, height=100) -> Image.Image:
    image = Image.new("RGB", (width, height), WHITE)
    image.paste(RED, (0, 0, width // 4, height))
    image.paste(BLUE, (width - width // 4, 0, width, height))
    return image


def test_fit_letterboxes_and_fill_crops(tmp_path):
    src = tmp_path / "wide.png"
    stripes().save(src)
    fit = prepared(src, tmp_path, "fit")
    assert near(fit.getpixel((5, 100)), RED) and near(fit.getpixel((195, 100)), BLUE)
    assert fit.getpixel((100, 10)) == BLACK and fit.getpixel((100, 190)) == BLACK  # bars above and below
    fill = prepared(src, tmp_path, "fill")
    for xy in ((5, 5), (195, 195), (100, 100), (5, 195)):
        assert near(fill.getpixel(xy), WHITE)  # the sides were cropped away, no bars
    names = sorted(p.name for p in (tmp_path / "cache" / "prepared").iterdir())
    assert names == sorted(f"{ref(src).sha256}-200x200-{f}.jpg" for f in ("fill", "fit"))  # no temp files left


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (400, 200), BLUE)
    image.paste(RED, (0, 0, 200, 200))  # stored: red left, blue right
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": the stored left becomes the top
    src = tmp_path / "phone.jpg"
    image.save(src, "JPEG", exif=exif.tobytes(), quality=95)
    out = prepared(src, tmp_path, "fit")
    assert near(out.getpixel((100, 30)), RED) and near(out.getpixel((100, 170)), BLUE)
    assert out.getpixel((10, 100)) == BLACK  # portrait now: bars left and right


def test_cmyk_jpeg(tmp_path):
    src = tmp_path / "print.jpg"
    Image.new("CMYK", (300, 300), (0, 255, 255, 0)).save(src, "JPEG")
    assert near(prepared(src, tmp_path).getpixel((100, 100)), RED, 60)


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    src = tmp_path / "deep.png"
    Image.new("I;16", (300, 300), 40000).save(src)
    grey = prepared(src, tmp_path).getpixel((100, 100))
    assert near(grey, (156, 156, 156), 8)  # 40000/256, not white


def test_palette_with_transparency_composites_on_black(tmp_path):
    image = Image.new("P", (200, 200), 0)
    image.putpalette([0, 200, 0] + [255, 255, 255] * 255)
    image.paste(1, (100, 0, 200, 200))
    src = tmp_path / "logo.png"
    image.save(src, transparency=1)
    out = prepared(src, tmp_path)
    assert near(out.getpixel((50, 100)), (0, 200, 0)) and near(out.getpixel((150, 100)), BLACK, 10)


def test_rgba_alpha_composites_on_black(tmp_path):
    src = tmp_path / "alpha.png"
    Image.new("RGBA", (200, 200), (255, 255, 255, 0)).save(src)
    assert near(prepared(src, tmp_path).getpixel((100, 100)), BLACK, 5)


def test_webp(tmp_path):
    src = tmp_path / "photo.webp"
    Image.new("RGB", (300, 300), BLUE).save(src, "WEBP")
    assert near(prepared(src, tmp_path).getpixel((100, 100)), BLUE)


def test_gif_first_frame(tmp_path):
    src = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (100, 100), RED), Image.new("RGB", (100, 100), BLUE)]
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=200, loop=0)
    assert near(prepared(src, tmp_path).getpixel((100, 100)), RED)


def test_big_jpeg_is_decoded_in_draft_mode_to_the_exact_size(tmp_path):
    src = tmp_path / "big.jpg"
    stripes(4000, 1000).save(src, "JPEG")
    out = prepared(src, tmp_path, "fit", (320, 180))
    assert near(out.getpixel((10, 90)), RED) and near(out.getpixel((310, 90)), BLUE)


def test_truncated_jpeg_is_refused(tmp_path):
    src = tmp_path / "cut.jpg"
    Image.effect_noise((600, 600), 60).convert("RGB").save(src, "JPEG")
    src.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    with pytest.raises(ValueError, match="truncated"):
        prepare.prepare_image(ref(src), SIZE, "fit", tmp_path / "cache")
    assert not any((tmp_path / "cache" / "prepared").glob("*"))


def png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(
        b"IEND", b"")


def test_decompression_bomb_is_refused_without_decoding(tmp_path):
    src = tmp_path / "bomb.png"
    src.write_bytes(png_header_only(60000, 60000))  # 3.6 gigapixels in a few bytes
    with pytest.raises(ValueError, match="too large"):
        prepare.prepare_image(ref(src), SIZE, "fit", tmp_path / "cache")


def test_not_an_image_is_refused(tmp_path):
    src = tmp_path / "notes.jpg"
    src.write_text("không phải ảnh")
    with pytest.raises(ValueError, match="not a usable image"):
        prepare.prepare_image(ref(src), SIZE, "fit", tmp_path / "cache")


def test_prepared_file_is_reused(tmp_path):
    src = tmp_path / "a.png"
    stripes().save(src)
    media_ref = ref(src)
    first = prepare.prepare_image(media_ref, SIZE, "fit", tmp_path / "cache")
    stamp = first.stat().st_mtime_ns
    src.unlink()  # the cache alone is enough on the next start: the source is not even read
    again = prepare.prepare_image(media_ref, SIZE, "fit", tmp_path / "cache")
    assert again == first and again.stat().st_mtime_ns == stamp


def test_programme_problems_and_needed_files(tmp_path):
    good, bad = tmp_path / "good.png", tmp_path / "bad.jpg"
    stripes().save(good)
    bad.write_bytes(b"\xff\xd8\xff\xe0 broken")
    slides = (
        Slide(id="chu", type="text", title="Thông báo"),
        Slide(id="anh-tot", type="image", image=ref(good)),
        Slide(id="anh-hong", type="image", image=ref(bad), fit="fill"),
    )
    programme = Programme(slides=slides, version="t")
    problems = prepare.prepare_programme(programme, SIZE, "fit", tmp_path / "cache")
    assert list(problems) == ["anh-hong"] and "bad.jpg" in problems["anh-hong"]
    needed = prepare.needed_files(programme, SIZE, "fit", tmp_path / "cache")
    assert {p.name.rsplit("-", 1)[1] for p in needed} == {"fit.jpg", "fill.jpg"}
    assert prepare.prepared_path(ref(good), SIZE, "fit", tmp_path / "cache") in needed
    assert all(p.is_file() for p in needed if "fit" in p.name)


def liar_jpeg(path: Path, width=10900, height=10900) -> Path:
    """16x16 pixels of data under a header that says width x height (the issue's grey frame)."""
    import io

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), RED).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    struct.pack_into(">HH", data, data.find(b"\xff\xc0") + 5, height, width)
    path.write_bytes(bytes(data))
    return path


def test_a_jpeg_whose_header_promises_more_than_its_data_is_refused_not_shown_grey(tmp_path):
    path = liar_jpeg(tmp_path / "liar.jpg")
    with pytest.raises(ValueError, match="10900x10900 pixels but the file holds only"):
        media.probe(path)
    with pytest.raises(ValueError, match="damaged"):
        prepare.prepare_image(ref(path), SIZE, "fit", tmp_path / "cache")


def test_the_most_compressible_real_jpegs_still_pass(tmp_path):
    for mode, options in (("L", {}), ("RGB", {"progressive": True})):
        path = tmp_path / f"flat-{mode}.jpg"
        Image.new(mode, (4000, 3000), 128).save(path, "JPEG", quality=1, optimize=True, **options)
        media.probe(path)


def test_a_damaged_prepared_frame_is_made_again_from_its_picture(tmp_path):
    """The issue: a truncated prepared image showed grey."""
    source = tmp_path / "poster.png"
    Image.effect_noise((400, 400), 80).convert("RGB").save(source)
    picture = ref(source)
    path = prepare.prepare_image(picture, SIZE, "fit", tmp_path / "cache")
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 3])  # a power cut on a card that lied about its writes
    frame = prepare.open_prepared(picture, SIZE, "fit", tmp_path / "cache")
    assert frame.size == SIZE and path.read_bytes() == good  # made again, byte for byte
    bottom = [frame.getpixel((x, 190)) for x in range(0, 200, 10)]
    assert len(set(bottom)) > 5  # noise, not a flat grey


def test_pictures_are_prepared_in_play_order_and_each_is_ready_as_soon_as_it_is(tmp_path):
    pictures = {}
    for name, colour in (("a", RED), ("b", BLUE), ("c", WHITE)):
        pictures[name] = tmp_path / f"{name}.png"
        Image.new("RGB", (40, 30), colour).save(pictures[name])
    slides = (
        Slide(id="thuong", type="image", image=ref(pictures["a"])),
        Slide(id="chu", type="text", title="Thông báo"),
        Slide(id="uu-tien", type="image", image=ref(pictures["b"]), priority="priority"),
        Slide(id="khan", type="image", image=ref(pictures["c"]), priority="emergency"),
    )
    programme = Programme(slides=slides, version="t")
    assert [s.id for s in prepare.play_order(programme)] == ["khan", "uu-tien", "thuong", "chu"]
    woken = []
    preparer = prepare.Preparer(SIZE, "fit", tmp_path / "cache", None, prune=False, on_ready=lambda: woken.append(1))
    seen = []
    real = prepare.prepare_image

    def watching(media_ref, *args):
        seen.append([s.id for s in slides if preparer.slide_ready(s)])
        return real(media_ref, *args)

    prepare.prepare_image = watching
    try:
        assert not preparer.ready(programme)
        assert preparer.prepare(programme).version == "t"
    finally:
        prepare.prepare_image = real
    assert seen == [["chu"], ["chu", "khan"], ["chu", "uu-tien", "khan"]]  # each one ready before the next starts
    assert all(preparer.slide_ready(s) for s in slides) and len(woken) == 3
    again = prepare.Preparer(SIZE, "fit", tmp_path / "cache", None, prune=False)  # the next start
    assert not again.slide_ready(slides[0]) and again.ready(programme) and again.slide_ready(slides[0])


def test_a_picture_between_the_bands_is_prepared_at_the_size_it_is_shown_and_kept_by_pruning(tmp_path):
    """With a header and a ticker, a picture slide's frame is made for what the bands leave (never scaled
    again each time the slide is drawn); an emergency's takes the whole screen; pruning keeps both, and a
    programme without ticker lines has no ticker band to leave room for."""
    from types import SimpleNamespace

    from kiosk.content import area

    good = tmp_path / "good.png"
    stripes(1600, 1200).save(good)
    screen = (1920, 1080)
    slides = (Slide(id="anh", type="image", image=ref(good)),
              Slide(id="bao", type="image", image=ref(good), priority="emergency"))
    display = SimpleNamespace(header=True, ticker=True)
    with_ticker = Programme(slides=slides, version="t", ticker=("Thông báo",))
    bands = prepare.bands_of(display, with_ticker)
    assert bands == (True, True)
    assert prepare.bands_of(display, Programme(slides=slides, version="u")) == (True, False)
    header_h, ticker_h = area.band_heights(screen, True, True)
    between = (1920, 1080 - header_h - ticker_h)
    assert prepare.prepared_as(slides[0], screen, "fit", bands) == (between, "fit")
    assert prepare.prepared_as(slides[1], screen, "fit", bands) == (screen, "fit")
    cache = tmp_path / "cache"
    assert prepare.prepare_programme(with_ticker, screen, "fit", cache, bands=bands) == {}
    with Image.open(prepare.prepared_path(slides[0].image, between, "fit", cache)) as image:
        assert image.size == between
    preparer = prepare.Preparer(screen, "fit", cache, SimpleNamespace(voice="vi", rate=150), prune=True,
                                display_cfg=display)
    preparer.prepare(with_ticker)
    assert preparer.ready(with_ticker) and all(preparer.slide_ready(s) for s in slides)
    left = {p.name for p in (cache / "prepared").iterdir()}
    assert left == {prepare.prepared_path(slides[0].image, between, "fit", cache).name,
                    prepare.prepared_path(slides[1].image, screen, "fit", cache).name}


def test_a_synced_board_lets_go_of_a_picture_prepared_for_a_layout_it_no_longer_has(tmp_path):
    """Synced media are the sync cache's to evict, but a picture still shown, prepared for bands it no longer
    stands between (the ticker switched on), goes once the screen no longer shows a programme that needs it;
    another medium's files (a fallback's) are left alone."""
    from types import SimpleNamespace

    good, other = tmp_path / "good.png", tmp_path / "other.png"
    stripes(1600, 1200).save(good)
    stripes(400, 300).save(other)
    screen, cache = (320, 180), tmp_path / "cache"
    plain = Programme(slides=(Slide(id="anh", type="image", image=ref(good)),), version="a")
    with_ticker = Programme(slides=plain.slides, version="b", ticker=("Thông báo",))
    display = SimpleNamespace(header=True, ticker=True)
    prepare.prepare_image(ref(other), screen, "fit", cache)  # a medium only an older programme shows
    on_screen = [None]
    preparer = prepare.Preparer(screen, "fit", cache, None, prune=False, display_cfg=display,
                                showing=lambda: on_screen[0])

    def files() -> set[str]:
        return {p.name for p in (cache / "prepared").iterdir()}

    on_screen[0] = preparer.prepare(plain)
    before = prepare.ready_path(plain.slides[0], screen, "fit", cache, prepare.bands_of(display, plain)).name
    preparer.prepare(with_ticker)  # and refused (a sync that could not store it): plain stays on screen
    now = prepare.ready_path(plain.slides[0], screen, "fit", cache, prepare.bands_of(display, with_ticker)).name
    assert before != now and {before, now} <= files()
    preparer.prepare(with_ticker)
    assert {before, now} <= files()  # plain is still what the screen shows
    on_screen[0] = with_ticker
    preparer.prepare(with_ticker)  # the next one prepared (or the next start), with_ticker on screen
    assert files() == {now, prepare.prepared_path(ref(other), screen, "fit", cache).name}
    assert preparer.ready(with_ticker) and preparer.slide_ready(with_ticker.slides[0])

