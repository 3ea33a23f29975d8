"""TLS is verified; source.ca_file adds a provincial CA to the trusted ones."""

import datetime as dt
import ipaddress
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from servers import StaticServer
from syncboard import Board, authoring

from kiosk.source import publish


def make_ca_and_server_cert(folder):
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sở TTTT test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "server.pem")
    return folder / "ca.pem", context


def test_https_with_the_provincial_ca_works_and_without_it_is_refused(tmp_path):
    ca_file, context = make_ca_and_server_cert(tmp_path)
    src = authoring(tmp_path / "src", {"a.png": "red"})
    publish.publish(src, tmp_path / "out", None)
    server = StaticServer(tmp_path / "out", tls=context)
    try:
        stranger = Board(tmp_path / "stranger", server.url)
        result = stranger.cycle()
        assert not result.ok and "TLS verification failed" in result.error and stranger.ready == []
        board = Board(tmp_path / "board", server.url, ca_file=ca_file)
        assert board.cycle().ok and len(board.ready) == 1
    finally:
        server.close()
