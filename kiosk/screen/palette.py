"""The board's colours and the Vietnamese weekday names, shared by the slides and the bands."""

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")

# A palette a commune hall can read from the back row: deep blue, white, the gold of the flag's star.
NAVY_TOP = (12, 39, 76)
NAVY_BOTTOM = (6, 22, 46)
FOOTER_BG = (4, 15, 33)
GOLD = (255, 205, 64)
WHITE = (255, 255, 255)
MUTED = (178, 196, 222)
RED = (200, 16, 28)
RED_DARK = (120, 0, 8)
EMERGENCY_BG = (12, 0, 0)
YELLOW = (255, 230, 40)
BLACK = (0, 0, 0)
