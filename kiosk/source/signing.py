"""Ed25519 signatures over the exact bytes of manifest.json.

A public screen showing someone else's content is a disaster, so a board
with `source.public_key` set plays only manifests signed by the matching
private key. Formats (documented in docs/protocol.md):

  private key (OUT)      PKCS#8 PEM, unencrypted, mode 0600
  public key (OUT.pub)   one line: base64 of the 32 raw key bytes
  manifest.json.sig      one line: base64 of the 64-byte detached signature
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.i18n import _
from kiosk.problems import InvalidInput, Problem

MAX_SIGNATURE_BYTES = 1024
MAX_KEY_FILE = 16 * 1024  # a key file is a few hundred bytes; more is the wrong file, never read whole


class BadSignature(ValueError):
    """The content is unsigned, or its signature does not match the configured key."""


def keygen(out: Path) -> tuple[Path, Path]:
    """Write a new key pair: OUT (private, 0600) and OUT.pub (public). Never overwrites a key."""
    if not out.name or out.is_dir():
        raise InvalidInput([Problem(str(out), None, "OUT", "give a file name for the private key, e.g. content.key")])
    public_path = out.with_name(out.name + ".pub")
    for path in (out, public_path):
        if path.exists():
            raise InvalidInput([Problem(str(path), None, "", "already exists; refusing to overwrite a key")])
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        public_path.write_text(public_text(key.public_key()) + "\n", encoding="ascii")
    except OSError as exc:
        raise InvalidInput([Problem(str(out), None, "", f"cannot write: {exc.strerror or exc}")]) from None
    return out, public_path


def public_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """A private key from `kiosk keygen` (PEM) or the base64 of its 32-byte seed; InvalidInput otherwise."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_KEY_FILE)
    except OSError as exc:
        raise InvalidInput([Problem(str(path), None, "", f"cannot read key: {exc.strerror or exc}")]) from None
    if b"-----BEGIN" not in data and path.suffix == ".pub":
        raise InvalidInput([Problem(str(path), None, "", "this is a public key (OUT.pub): sign with the private "
                                    f"key {path.with_suffix('').name!r} that kiosk keygen wrote beside it")])
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(_b64(data.decode("ascii").strip(), 32))
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidInput([Problem(str(path), None, "", f"not an Ed25519 private key ({exc})")]) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput([Problem(str(path), None, "", "not an Ed25519 private key")])
    return key


def load_public_key(text_or_path: str, base: Path | None = None) -> Ed25519PublicKey:
    """`source.public_key`: a path to an OUT.pub file (relative to `base`) or the base64 text itself.

    Raises ValueError naming what is wrong.
    """
    text = text_or_path.strip()
    looks_like_path = "/" in text and "-----BEGIN" not in text and not _is_b64_key(text)
    if looks_like_path or text.endswith(".pub"):
        path = Path(text).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        try:
            with open(path, "rb") as f:
                text = f.read(MAX_KEY_FILE).decode("ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(_("cannot read public key file {path}: {reason}")
                .format(path=repr(str(path)), reason=getattr(exc, "strerror", None) or exc)) \
                from None
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii"))
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError(_("not an Ed25519 key"))
            return key
        return Ed25519PublicKey.from_public_bytes(_b64(text, 32))
    except ValueError as exc:
        raise ValueError(_("not an Ed25519 public key (expected the base64 line of a .pub file: {reason})")
            .format(reason=exc)) from None


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    """The .sig file's bytes for `data` (deterministic: same key and data, same signature)."""
    return base64.b64encode(key.sign(data)) + b"\n"


def verify(key: Ed25519PublicKey, data: bytes, signature: bytes | None, manifest: str = "manifest.json",
           key_field: str = "source.public_key") -> None:
    """Raise BadSignature unless `signature` (a .sig file's bytes) signs exactly `data`. The message names
    the manifest read (its URL) and the config field of the key, so a technician knows which tree and
    which key of a board that follows several (source.channels) to look at."""
    sig = manifest + ".sig"
    if signature is None:
        raise BadSignature(_("content is not signed (no {sig}) but {key} is set").format(sig=sig, key=key_field))
    try:
        raw = _b64(signature.decode("ascii").strip(), 64)
    except (UnicodeDecodeError, ValueError):
        raise BadSignature(_("{sig} is not a base64 Ed25519 signature").format(sig=sig)) from None
    try:
        key.verify(raw, data)
    except InvalidSignature:
        raise BadSignature(_("{sig} does not match {manifest} and {key}: signed with another key?").format(
            sig=sig, manifest=manifest, key=key_field)) from None


def _is_b64_key(text: str) -> bool:
    try:
        _b64(text, 32)
        return True
    except ValueError:
        return False


def _b64(text: str, length: int) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(_("not base64")) from None
    if len(raw) != length:
        raise ValueError(_("expected {length} bytes, got {count}").format(length=length, count=len(raw)))
    return raw
