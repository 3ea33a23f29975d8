from pathlib import Path

from setuptools import find_packages, setup

version = {}
exec(Path("kiosk/version.py").read_text(encoding="utf-8"), version)

# The province side, `kiosk hub` (pip install 'kiosk[hub]'): never needed on a board.
HUB = ["starlette>=0.40", "uvicorn>=0.30", "jinja2>=3.1", "psycopg[binary]>=3.1", "psycopg-pool>=3.2"]

setup(
    name="kiosk",
    version=version["__version__"],
    description="Player for Vietnam's public electronic bulletin boards (bảng tin điện tử công cộng)",
    long_description=Path("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="GPL-3.0-or-later",
    python_requires=">=3.11",
    packages=find_packages(include=["kiosk", "kiosk.*"]),
    # The compiled catalogs are in git (kiosk/i18n.py says why): a wheel, an editable install and the offline
    # bundle all read the same kiosk.mo.
    package_data={"kiosk": ["py.typed", "locale/*/LC_MESSAGES/*.mo", "locale/*/LC_MESSAGES/*.po"],
                  "kiosk.hub": ["templates/*.html", "static/*.css"]},
    install_requires=[
        "pygame-ce>=2.5",
        "Pillow>=10",
        "requests>=2.31",
        "urllib3>=2",
        "watchdog>=4",
        "PyYAML>=6",
        "prometheus-client>=0.20",
        "cryptography>=42",
        "segno>=1.6",
        "pypdfium2>=4.30",  # document slides: PDF pages rendered at preparation (kiosk.source.document)
        "fonttools>=4.40",  # the Unicode script of each character (kiosk.screen.scripts)
        "tzdata",
        "av>=12",  # PyAV (FFmpeg): video slides; its wheels bundle FFmpeg, aarch64 included
    ],
    extras_require={
        "hub": HUB,
        # Babel: message extraction and the catalogs' checks (tests/test_i18n.py, kiosk/locale/update.py)
        "test": ["pytest>=8", "hypothesis>=6.100", "ruff>=0.5", "jsonschema>=4", "selenium>=4.20", "babel>=2.14", *HUB],
    },
    entry_points={"console_scripts": ["kiosk=kiosk.cli.main:main"]},
)
