"""Text layout decisions, with a fake font: width grows with characters and size."""

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.screen import text


def measure(t: str, size: int, bold: bool) -> int:
    return round(len(t) * size * (0.62 if bold else 0.55))


def line_height(size: int, bold: bool) -> int:
    return round(size * 1.3)


def lay(title: str, body: str, box=(1700, 800), low=49, high=127) -> text.Layout:
    return text.layout(title, body, box, measure, line_height, low, high)


def words_of(layout: text.Layout, bold: bool) -> list[str]:
    out = []
    for page in layout.pages:
        out += [w for line in page.lines if line.bold == bold for w in line.text.split()]
    return out


WORDS = st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằẵặễộợựỹ", min_size=1, max_size=14)
BODIES = st.lists(st.lists(WORDS, min_size=0, max_size=40).map(" ".join), min_size=1, max_size=8).map("\n".join)


@settings(max_examples=60, deadline=None)
@given(title=st.lists(WORDS, min_size=1, max_size=8).map(" ".join), body=BODIES)
def test_every_word_appears_once_in_order_and_nothing_leaves_the_box(title, body):
    layout = lay(title, body)
    body_words = words_of(layout, bold=False)
    assert body_words == body.split()
    box_w, box_h = 1700, 800
    for page in layout.pages:
        for line in page.lines:
            assert measure(line.text, line.size, line.bold) <= box_w
            assert line.y + line_height(line.size, line.bold) <= box_h
        assert page.height <= box_h
    for page in layout.pages:  # the title is on every page
        assert " ".join(line.text for line in page.lines if line.bold) == title


@settings(max_examples=40, deadline=None)
@given(body=BODIES, grow=st.integers(min_value=0, max_value=600))
def test_a_larger_box_never_gets_a_smaller_font(body, grow):
    small = lay("Thông báo", body, (1200, 600))
    large = lay("Thông báo", body, (1200 + grow, 600 + grow))
    assert large.size >= small.size


def test_title_is_bold_and_larger_than_body():
    layout = lay("Lịch tiếp công dân", "Chủ tịch UBND xã tiếp công dân vào sáng thứ Năm hằng tuần.")
    title, body = layout.pages[0].lines[0], layout.pages[0].lines[-1]
    assert title.bold and not body.bold
    assert title.size > body.size
    assert body.y > title.y


def test_short_notice_grows_to_fill_and_stops_at_the_largest_fitting_size():
    layout = lay("Họp dân", "Tối nay 19 giờ tại nhà văn hóa thôn.")
    assert layout.size > 49 and len(layout.pages) == 1
    bigger = text.layout("Họp dân", "Tối nay 19 giờ tại nhà văn hóa thôn.", (1700, 800), measure, line_height,
                         layout.size + 1, layout.size + 1)
    assert bigger.paged or bigger.pages[0].height > 800 or layout.size == 127


def test_long_notice_is_split_into_pages_at_the_minimum_size():
    body = "Ủy ban nhân dân xã thông báo lịch tổng vệ sinh môi trường và phòng chống dịch bệnh. " * 60
    layout = lay("Thông báo", body)
    assert layout.paged and layout.size == 49
    assert words_of(layout, bold=False) == body.split()


def test_explicit_newlines_and_paragraphs_are_kept():
    layout = lay("", "Dòng một\nDòng hai\n\n\nĐoạn mới")
    lines = [line for line in layout.pages[0].lines]
    assert [line.text for line in lines] == ["Dòng một", "Dòng hai", "Đoạn mới"]
    step = lines[1].y - lines[0].y
    assert lines[2].y - lines[1].y > step  # a blank line leaves a gap, several blank lines only one


def test_an_over_long_word_is_broken_to_fit():
    word = "x" * 200
    layout = lay("T", word, (600, 800))
    pieces = [line.text for line in layout.pages[0].lines if not line.bold]
    assert "".join(pieces) == word and len(pieces) > 1
    assert all(measure(p, layout.size, False) <= 600 for p in pieces)


def test_title_only_slide_uses_title_sizes():
    layout = lay("Chào mừng ngày hội đại đoàn kết", "")
    assert all(line.bold for line in layout.pages[0].lines)
    assert layout.pages[0].lines[0].size >= text.title_size_for(49)


def test_legible_minimum_follows_the_shorter_side():
    assert text.legible_sizes((1920, 1080)) == text.legible_sizes((1080, 1920))
    low, high = text.legible_sizes((1920, 1080))
    assert 40 <= low < high


def test_pages_leave_no_lone_first_or_last_line_of_a_paragraph():
    paragraphs = [" ".join([f"đoạn{n}"] * (30 + 7 * n)) for n in range(6)]  # 4..8 lines each
    for height in range(500, 900, 37):
        layout = lay("Thông báo", "\n\n".join(paragraphs), (1000, height))
        assert layout.paged
        for n in range(6):
            per_page = [sum(1 for line in page.lines if line.text.startswith(f"đoạn{n}")) for page in layout.pages]
            split = [c for c in per_page if c]
            if len(split) > 1:
                assert split[0] >= 2 and split[-1] >= 2, (height, n, per_page)


def test_a_title_too_long_for_a_paged_notice_is_cut_visibly_and_stays_in_the_box():
    title = "Thông báo về việc lấy ý kiến nhân dân đối với dự thảo quy hoạch sử dụng đất " * 4
    layout = lay(title, "Nội dung chi tiết. " * 300)
    assert layout.paged
    for page in layout.pages:
        titles = [line for line in page.lines if line.bold]
        assert titles[-1].text.endswith(" …")
        assert all(measure(line.text, line.size, True) <= 1700 for line in titles)
        assert page.title_height <= 800 * text.MAX_TITLE_SHARE


def test_no_line_break_inside_a_phone_number_or_between_a_number_and_its_unit():
    body = ("Liên hệ Ban chỉ huy phòng chống thiên tai xã qua số điện thoại 0235 3 888 999 hoặc +84 235 3888 999 "
            "khi nước dâng cao hơn 30 % so với mức báo động, cách bờ 15 km. ") * 6
    for width in range(600, 1400, 23):
        layout = lay("", body, (width, 4000))
        lines = [line.text for page in layout.pages for line in page.lines]
        text_ = "\n".join(lines)
        assert "0235\n" not in text_ and "\n3 888" not in text_ and "888\n999" not in text_, width
        assert "+84\n" not in text_ and "\n%" not in text_ and "\nkm" not in text_, width


def test_a_single_word_is_not_left_alone_on_the_last_line():
    for width in range(500, 1300, 17):
        lines = text.Wrapper(measure).wrap("Thông báo tổng vệ sinh môi trường, phòng chống dịch bệnh", 60, True, width)
        if len(lines) > 1:
            assert " " in lines[-1], (width, lines)


def test_the_body_is_never_larger_than_about_0_7_of_the_title():
    layout = lay("Thông báo", "Ngắn.")
    title = next(line for line in layout.pages[0].lines if line.bold)
    body = next(line for line in layout.pages[0].lines if not line.bold)
    assert body.size <= 0.71 * title.size


def test_pages_break_between_sentences_rather_than_inside_one():
    sentence = "Các hộ gia đình chủ động phát quang bụi rậm, khơi thông cống rãnh, lật úp dụng cụ chứa nước."
    body = "\n\n".join(" ".join([sentence] * 5) for _ in range(6))
    for height in range(500, 900, 41):
        layout = lay("Thông báo", body, (1000, height))
        assert layout.paged
        for page in layout.pages[:-1]:
            last = [line.text for line in page.lines if not line.bold][-1]
            assert last.endswith((".", ",")), (height, last)  # a sentence (or at worst a clause) ends the page
        assert words_of(layout, bold=False) == body.split()


UNITS_TEXT = st.lists(st.one_of(WORDS, st.sampled_from(["0235", "3", "888", "999", "30", "%", "km", "100", "000",
                                                         "x" * 90, "ข้าว\u200bไทย", "ng.", "bà;", "con,"])),
                      min_size=1, max_size=160).map(" ".join)


@settings(max_examples=120, deadline=None)
@given(body=UNITS_TEXT, count=st.integers(min_value=1, max_value=12), width=st.sampled_from([200, 450, 900]))
def test_a_paragraphs_front_and_its_rest_wrap_as_the_whole_does(body, count, width):
    """Paging wraps only the front of a long paragraph: its lines and the rest's must be the whole's."""
    wrapper = text.Wrapper(measure)
    whole = wrapper.wrap(body, 49, False, width)
    front, rest = wrapper.wrap_front(body, 49, False, width, count)
    if rest is None:
        assert front == whole and len(whole) <= count + 2
    else:
        assert front == whole[:count] and wrapper.wrap(rest, 49, False, width) == whole[count:]


def test_paging_a_long_paragraph_costs_in_proportion_to_its_length(monkeypatch):
    """Each page once tried every sentence end to the paragraph's end, each head wrapped again: 14,000
    characters of short sentences (a notice pasted from a document, no line breaks) took 39 s at 960x540,
    98,000 would have taken hours. Counted in words gone through by the wrapper, not timed."""
    split = text.joined_units
    seen = []
    monkeypatch.setattr(text, "joined_units", lambda t: seen.append(len(units := split(t))) or units)

    def work(sentences: int) -> tuple[int, int]:
        seen.clear()
        layout = text.layout("Thông báo", "Bà con lưu ý. " * sentences, (900, 500), measure, line_height, 49, 127)
        return sum(seen), len(layout.pages)

    small, small_pages = work(400)
    large, large_pages = work(1600)
    assert large_pages >= 3.5 * small_pages > 10
    assert large < 5 * small  # four times the text: about four times the work
