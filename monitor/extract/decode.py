"""Page bytes → str, decoded as a browser would: byte-order mark, header charset, <meta>."""

from __future__ import annotations

import codecs
import re

import webencodings

# The WHATWG Encoding Standard maps every label (all 200-odd of them: "iso88591", "x-sjis",
# "ks_c_5601-1987"…) to an encoding; webencodings holds that table. Where browsers decode an
# encoding with a superset of the Python codec of the same name, the superset is used.
_SUPERSETS = {
    "shift_jis": "cp932",
    "euc-kr": "cp949",
    "gbk": "gb18030",
    "big5": "big5hkscs",
}
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_PRESCAN_BYTES = 4096


def _codec(label: str | None) -> str | None:
    """A WHATWG encoding label → the Python codec a browser's decoder matches; None if the
    label is unknown (browsers then ignore it too)."""
    if not label:
        return None
    encoding = webencodings.lookup(label.strip().strip("\"'"))
    if encoding is None or encoding.name in ("replacement", "x-user-defined"):
        return None
    return _SUPERSETS.get(encoding.name, encoding.codec_info.name)


def decode_html(body: bytes, charset: str | None) -> str:
    """Bytes → str: a byte-order mark wins (as in browsers), then the header charset, then a
    <meta> declaration in the first 4 KB, else UTF-8. Undecodable bytes become U+FFFD."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(codec, errors="replace")
    codec = _codec(charset) or _meta_codec(body[:_PRESCAN_BYTES]) or "utf-8"
    return body.decode(codec, errors="replace")


def _meta_codec(head: bytes) -> str | None:
    match = _META_CHARSET.search(head)
    codec = _codec(match.group(1).decode("ascii")) if match else None
    if codec is not None and codec.startswith("utf-16"):
        return "utf-8"  # a <meta> readable as ASCII cannot be UTF-16
    return codec
