"""Text as it is read aloud in Vietnamese: numbers, dates, times, phone numbers and the abbreviations of
official notices written out, so espeak-ng says "Ủy ban nhân dân" and "bảy giờ ba mươi", not letters and
digits. Pure: text in, text out.

The tables below are for a technician to read and extend: an abbreviation (as written, case matters) and
what is said.
"""

from __future__ import annotations

import re

ABBREVIATIONS = {
    "UBND": "Ủy ban nhân dân",
    "HĐND": "Hội đồng nhân dân",
    "MTTQ": "Mặt trận Tổ quốc",
    "BCH": "Ban chỉ huy",
    "PCTT": "phòng chống thiên tai",
    "PCCC": "phòng cháy chữa cháy",
    "TKCN": "tìm kiếm cứu nạn",
    "CAND": "Công an nhân dân",
    "CSGT": "cảnh sát giao thông",
    "BHYT": "bảo hiểm y tế",
    "BHXH": "bảo hiểm xã hội",
    "THCS": "trung học cơ sở",
    "THPT": "trung học phổ thông",
    "TTYT": "Trung tâm Y tế",
    "CCCD": "căn cước công dân",
    "SĐT": "số điện thoại",
    "ĐT": "điện thoại",
    "TP.": "thành phố",
    "TX.": "thị xã",
    "TT.": "thị trấn",
    "Q.": "quận",
    "P.": "phường",
    "H.": "huyện",
    "X.": "xã",
    "QĐ": "quyết định",
    "NĐ-CP": "nghị định Chính phủ",
    "TT-BTTTT": "thông tư Bộ Thông tin và Truyền thông",
    "VNĐ": "đồng",
    "đ": "đồng",
}

UNITS = {
    "%": "phần trăm",
    "km": "ki lô mét",
    "m": "mét",
    "cm": "xen ti mét",
    "mm": "mi li mét",
    "kg": "ki lô gam",
    "ha": "héc ta",
    "m²": "mét vuông",
    "m2": "mét vuông",
    "m³": "mét khối",
    "m3": "mét khối",
    "km/h": "ki lô mét một giờ",
    "°C": "độ C",
}

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")


def _under_thousand(n: int, full: bool) -> str:
    """0..999 in words; `full`: a group after a larger one ("không trăm linh năm")."""
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    words: list[str] = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
    if tens > 1:
        words += [DIGITS[tens], "mươi"]
        if ones == 1:
            words.append("mốt")
        elif ones == 4:
            words.append("tư")
        elif ones == 5:
            words.append("lăm")
        elif ones:
            words.append(DIGITS[ones])
    elif tens == 1:
        words.append("mười")
        if ones == 5:
            words.append("lăm")
        elif ones:
            words.append(DIGITS[ones])
    elif ones:
        if words:
            words.append("linh")
        words.append(DIGITS[ones])
    return " ".join(words)


def number_words(n: int) -> str:
    """A whole number in Vietnamese words: 2026 -> "hai nghìn không trăm hai mươi sáu"."""
    if n == 0:
        return "không"
    if n < 0:
        return "âm " + number_words(-n)
    groups = []
    while n:
        n, group = divmod(n, 1000)
        groups.append(group)
    names = ["", "nghìn", "triệu", "tỷ", "nghìn tỷ", "triệu tỷ"]
    words: list[str] = []
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if not group:
            continue
        full = index < len(groups) - 1
        words.append(_under_thousand(group, full))
        if names[index % len(names)]:
            words.append(names[index % len(names)])
    return " ".join(words)


def digits_words(text: str) -> str:
    """A phone number digit by digit, its groups kept: "0235 3 888" -> "không hai ba năm, ba, tám tám tám"."""
    groups = [g for g in re.split(r"[\s.\-]+", text.replace("+", "cộng ")) if g]
    return ", ".join(" ".join(DIGITS[int(c)] if c.isdigit() else c for c in g if c.isdigit() or c.isalpha())
                     if g != "cộng" else "cộng" for g in groups)


_PHONE = re.compile(r"(?<![\d/])(?:\+84\s?|0)\d{1,3}(?:[\s.\-]?\d{1,4}){2,4}(?![\d/])")
_DATE = re.compile(r"(?:\bngày\s+)?\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_DAY_MONTH = re.compile(r"(?:\bngày\s+)?\b(\d{1,2})/(\d{1,2})\b(?!/)")
_TIME = re.compile(r"\b(\d{1,2})(?:h|g|:|giờ\s?)(\d{2})?(?:'|p)?(?![\w:])", re.IGNORECASE)
_GROUPED = re.compile(r"\b\d{1,3}(?:\.\d{3})+(?:,\d+)?\b")  # 100.000 or 1.500.000,5
_DECIMAL = re.compile(r"\b(\d+),(\d+)\b")
_NUMBER = re.compile(r"\b\d+\b")


def _unit_pattern() -> re.Pattern:
    names = sorted(UNITS, key=len, reverse=True)
    return re.compile(r"(\d)\s?(" + "|".join(re.escape(u) for u in names) + r")(?![\wÀ-ỹ])")


_UNIT = _unit_pattern()


def _abbreviation_pattern() -> re.Pattern:
    names = sorted(ABBREVIATIONS, key=len, reverse=True)
    return re.compile(r"(?<![\wÀ-ỹ])(" + "|".join(re.escape(a) for a in names) + r")(?![\wÀ-ỹ])")


_ABBREVIATION = _abbreviation_pattern()


def spoken(text: str) -> str:
    """`text` as it should be read aloud (see the module docstring)."""
    text = _PHONE.sub(lambda m: digits_words(m[0]), text)
    text = _DATE.sub(lambda m: f"ngày {number_words(int(m[1]))} tháng {number_words(int(m[2]))} năm "
                               f"{number_words(int(m[3]))}", text)
    text = _DAY_MONTH.sub(lambda m: f"ngày {number_words(int(m[1]))} tháng {number_words(int(m[2]))}"
                          if 1 <= int(m[1]) <= 31 and 1 <= int(m[2]) <= 12 else m[0], text)
    text = _TIME.sub(_time, text)
    text = _UNIT.sub(lambda m: f"{m[1]} {UNITS[m[2]]}", text)
    text = _ABBREVIATION.sub(lambda m: ABBREVIATIONS[m[1]], text)
    text = _GROUPED.sub(lambda m: _decimal(m[0].replace(".", "")), text)
    text = _DECIMAL.sub(lambda m: f"{number_words(int(m[1]))} phẩy {digits_words(m[2]).replace(',', '')}", text)
    text = _NUMBER.sub(lambda m: number_words(int(m[0])) if len(m[0]) <= 15 else digits_words(m[0]), text)
    return re.sub(r"\s{2,}", " ", text).strip()


def _decimal(text: str) -> str:
    whole, _, part = text.partition(",")
    said = number_words(int(whole))
    return f"{said} phẩy {digits_words(part).replace(',', '')}" if part else said


def _time(match: re.Match) -> str:
    hour, minute = int(match[1]), int(match[2]) if match[2] else None
    if hour > 24 or (minute is not None and minute > 59):
        return match[0]
    if match[2] is None and not re.search(r"h|g|giờ", match[0], re.IGNORECASE):
        return match[0]
    said = f"{number_words(hour)} giờ"
    return f"{said} {number_words(minute)}" if minute else said
