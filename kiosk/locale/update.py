"""Extract the marked messages (Babel), merge them into each catalog, compile the .mo files kept beside them.

    python kiosk/locale/update.py          # from the project's root; needs Babel (pip install 'kiosk[test]')

New messages arrive untranslated (tests/test_i18n.py then fails until they have their Vietnamese); messages
no longer in the code are dropped. The .mo is written only when it changes, so a run changes no byte when
nothing changed.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages import frontend
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "kiosk" / "locale"
DOMAIN = "kiosk"
KEYWORDS = {"_": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    """Every message marked in kiosk/ (the mapping of babel.cfg: the hub is left out)."""
    from babel.messages.extract import extract_from_dir

    method_map, options_map = frontend.parse_mapping_cfg(io.StringIO((ROOT / "babel.cfg").read_text()))
    catalog = Catalog(project="kiosk", domain=DOMAIN)
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def compiled(po: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, po)
    return out.getvalue()


def update() -> None:
    template = extract()
    for po_path in sorted(LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with open(po_path, "rb") as f:
            catalog = read_po(f, locale=po_path.parts[-3])
        template.creation_date = catalog.creation_date  # the date of the catalog, not of this run: no churn
        catalog.update(template, no_fuzzy_matching=True)
        catalog.project, catalog.version = "kiosk", ""
        catalog.obsolete.clear()
        out = io.BytesIO()
        write_po(out, catalog, width=0, omit_header=False, sort_output=True, include_lineno=False)
        po_path.write_bytes(out.getvalue())
        mo_path = po_path.with_suffix(".mo")
        data = compiled(catalog)
        if not mo_path.is_file() or mo_path.read_bytes() != data:
            mo_path.write_bytes(data)
        missing = [m.id for m in catalog if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)]
        print(f"{po_path.relative_to(ROOT)}: {len(catalog) - 1} messages, {len(missing)} without a translation")


if __name__ == "__main__":
    sys.exit(update())
