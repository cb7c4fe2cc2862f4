#!/usr/bin/env python3
"""Prints an ES256 access token signed with a PEM private key, shaped as the gateway signs them
(iss cc-gateway, aud cc-api, an hour long), for benchmarks that drive the API with wrk.

usage: bench/sign_token.py PRIVATE_KEY_PEM USER_ID ORG_ID ROLE
"""
import base64
import json
import sys
import time
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def main():
    pem, user_id, org_id, role = sys.argv[1:5]
    key = serialization.load_pem_private_key(open(pem, 'rb').read(), None)
    now = int(time.time())
    head = b64(json.dumps({'alg': 'ES256', 'typ': 'JWT'}).encode())
    body = b64(json.dumps({'sub': user_id, 'org': org_id, 'role': role,
                           'email': 'bench@example.com', 'jti': str(uuid.uuid4()), 'iat': now,
                           'exp': now + 3600, 'iss': 'cc-gateway', 'aud': 'cc-api'}).encode())
    der = key.sign(('%s.%s' % (head, body)).encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    print('%s.%s.%s' % (head, body, b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))))


if __name__ == '__main__':
    main()
