import base64
import stat

import pytest

from kiosk.problems import InvalidInput
from kiosk.source import signing


def test_keygen_writes_a_private_key_only_its_owner_reads_and_a_one_line_public_key(tmp_path):
    private, public = signing.keygen(tmp_path / "content")
    assert private == tmp_path / "content" and public == tmp_path / "content.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    line = public.read_text()
    assert line.endswith("\n") and len(base64.b64decode(line.strip())) == 32


def test_keygen_never_overwrites_a_key(tmp_path):
    signing.keygen(tmp_path / "k")
    before = (tmp_path / "k").read_bytes()
    with pytest.raises(InvalidInput, match="refusing to overwrite"):
        signing.keygen(tmp_path / "k")
    assert (tmp_path / "k").read_bytes() == before


def test_a_signature_checks_only_the_exact_bytes_with_the_matching_key(tmp_path):
    private, public = signing.keygen(tmp_path / "k")
    key = signing.load_private_key(private)
    data = '{"format": 1, "title": "Thông báo"}'.encode()
    sig = signing.sign(key, data)
    pub = signing.load_public_key(str(public))
    signing.verify(pub, data, sig)
    with pytest.raises(signing.BadSignature, match="does not match"):
        signing.verify(pub, data + b" ", sig)
    other, _ = signing.keygen(tmp_path / "other")
    with pytest.raises(signing.BadSignature, match="does not match"):
        signing.verify(pub, data, signing.sign(signing.load_private_key(other), data))
    with pytest.raises(signing.BadSignature, match="not signed"):
        signing.verify(pub, data, None)
    with pytest.raises(signing.BadSignature, match="not a base64"):
        signing.verify(pub, data, b"<html>404</html>")


def test_public_key_is_a_file_relative_to_the_config_or_the_base64_text(tmp_path):
    _, public = signing.keygen(tmp_path / "k")
    text = public.read_text().strip()
    a = signing.load_public_key("k.pub", base=tmp_path)
    b = signing.load_public_key(text)
    assert signing.public_text(a) == signing.public_text(b) == text


def test_a_wrong_public_key_says_what_is_expected(tmp_path):
    with pytest.raises(ValueError, match="not an Ed25519 public key"):
        signing.load_public_key("abc")
    with pytest.raises(ValueError, match="cannot read public key file"):
        signing.load_public_key(str(tmp_path / "missing.pub"))


def test_a_raw_base64_private_seed_is_accepted(tmp_path):
    seed = bytes(range(32))
    (tmp_path / "seed").write_text(base64.b64encode(seed).decode())
    key = signing.load_private_key(tmp_path / "seed")
    signing.verify(key.public_key(), b"x", signing.sign(key, b"x"))
    (tmp_path / "bad").write_text("not a key")
    with pytest.raises(InvalidInput, match="not an Ed25519 private key"):
        signing.load_private_key(tmp_path / "bad")
