"""Wallet gateway signatures: the two schemes the dialects use, and the text each one signs.

* RSA2 (Alipay): RSA PKCS#1 v1.5 over SHA-256, base64. A request signs its parameters sorted
  by name, empty values left out, as ``k=v`` joined by ``&`` (``sign`` itself excluded; a
  notification also leaves out ``sign_type``). An answer signs the raw JSON text of its
  ``<method>_response`` node, exactly as sent: :func:`raw_json_member` cuts it out.
* HMAC-SHA256 (WeChat Pay v2, generic): WeChat signs the same sorted ``k=v&...`` text with
  ``&key=<key>`` appended, upper-case hex; the generic dialect signs the raw body, hex.

Comparisons are constant-time. Nothing here logs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def sorted_params(params: Mapping[str, str], exclude: Iterable[str] = ("sign",)) -> str:
    """``k=v&...`` over the non-empty parameters sorted by name (byte order), ``exclude``d
    names left out: the text Alipay and WeChat sign."""
    skip = set(exclude)
    return "&".join(f"{k}={params[k]}" for k in sorted(params)
                    if k not in skip and params[k] not in ("", None))


def rsa2_sign(key: rsa.RSAPrivateKey, text: str) -> str:
    return base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(),
                                     hashes.SHA256())).decode()


def rsa2_verify(key: rsa.RSAPublicKey, text: str, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, text.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True


def wechat_sign(params: Mapping[str, str], key: bytes) -> str:
    """WeChat Pay v2 ``sign_type=HMAC-SHA256``."""
    text = sorted_params(params) + "&key=" + key.decode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest().upper()


def wechat_verify(params: Mapping[str, str], key: bytes) -> bool:
    given = params.get("sign") or ""
    return hmac.compare_digest(wechat_sign(params, key), given.upper())


def body_sign(body: bytes, key: bytes) -> str:
    """The generic dialect: HMAC-SHA256 of the raw body, lower-case hex."""
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def body_verify(body: bytes, key: bytes, signature: str) -> bool:
    return hmac.compare_digest(body_sign(body, key), (signature or "").strip().lower())


def raw_json_member(text: str, name: str) -> str | None:
    """The raw text of the top-level member ``name`` of the JSON object ``text`` (what an
    Alipay answer's ``sign`` covers), or None when there is none."""
    decoder = json.JSONDecoder()
    match = re.search(r'"' + re.escape(name) + r'"\s*:\s*', text)
    if match is None:
        return None
    try:
        _, end = decoder.raw_decode(text, match.end())
    except json.JSONDecodeError:
        return None
    return text[match.end():end]
