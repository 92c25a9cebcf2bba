"""Trail of Bits' rfc3161-client (PyPI) as an independent RFC 3161 peer.

    rfc3161_peer.py query DATA OUT        writes a SHA-512 query with a nonce; prints the nonce
    rfc3161_peer.py verify REPLY DATA CA [--nonce N] [--tsa-cert PEM]
                                          exit 0 and "OK" when the reply verifies, else 1
"""
import argparse
import sys

import cryptography.x509
import rfc3161_client
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)


def query(args):
    with open(args.data, "rb") as data:
        request = (
            TimestampRequestBuilder()
            .data(data.read())
            .hash_algorithm(HashAlgorithm.SHA512)
            .nonce(nonce=True)
            .cert_request(cert_request=True)
            .build()
        )
    with open(args.out, "wb") as out:
        out.write(request.as_bytes())
    print(request.nonce)


def verify(args):
    with open(args.reply, "rb") as reply:
        response = decode_timestamp_response(reply.read())
    with open(args.ca, "rb") as ca:
        root = cryptography.x509.load_pem_x509_certificate(ca.read())
    builder = VerifierBuilder().add_root_certificate(root)
    if args.nonce is not None:
        builder = builder.nonce(int(args.nonce))
    if args.tsa_cert is not None:
        with open(args.tsa_cert, "rb") as pem:
            builder = builder.tsa_certificate(cryptography.x509.load_pem_x509_certificate(pem.read()))
    with open(args.data, "rb") as data:
        message = data.read()
    try:
        builder.build().verify_message(response, message)
    except VerificationError as error:
        print(f"INVALID: {error}", file=sys.stderr)
        sys.exit(1)
    info = response.tst_info
    print(f"OK serial={info.serial_number} time={info.gen_time.isoformat()} policy={info.policy.dotted_string}")


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    q = commands.add_parser("query")
    q.add_argument("data")
    q.add_argument("out")
    v = commands.add_parser("verify")
    v.add_argument("reply")
    v.add_argument("data")
    v.add_argument("ca")
    v.add_argument("--nonce")
    v.add_argument("--tsa-cert")
    args = parser.parse_args()
    {"query": query, "verify": verify}[args.command](args)


if __name__ == "__main__":
    main()
