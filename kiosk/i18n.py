"""The language of every message a person reads (check-config, render, publish, status, the journal,
/healthz's reasons): gettext, with Vietnamese from kiosk/locale/vi/LC_MESSAGES/kiosk.po.

The compiled catalog (kiosk.mo) is kept in git beside its .po and shipped as package data, so the same
file is read from an editable install, a wheel and the offline bundle (which is built from wheels): no
build step can be forgotten, and Babel is needed only to extract and compile, never on a board.
tests/test_i18n.py fails when the .mo is not the compiled .po, or when a marked message has no Vietnamese.

Messages are marked with `_()` where they are written and translated when they are said (never at import):
the language can change with a config reload. Placeholders are named (`{file}:{line}`), so a translation
may put them in another order.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

DOMAIN = "kiosk"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("vi", "en")

_catalog: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def default_language() -> str:
    """vi when the locale says Vietnamese (LANGUAGE, LC_ALL, LC_MESSAGES, LANG, in gettext's order), else en."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "vi" if value.split(":")[0].lower().startswith("vi") else "en"
    return "en"


def use(language: str | None) -> str:
    """Speak `language` (vi or en; None: the locale's) from now on, in every thread; returns it."""
    global _catalog, _language
    chosen = language if language in LANGUAGES else default_language()
    if chosen == "en":
        _catalog = gettext.NullTranslations()
    else:
        _catalog = gettext.translation(DOMAIN, LOCALE_DIR, languages=[chosen], fallback=True)
    _language = chosen
    return chosen


def language() -> str:
    return _language


def _(message: str) -> str:
    """`message` (English, as written in the code) in the language in use."""
    return _catalog.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _catalog.ngettext(singular, plural, n)
