"""Page bytes → str, decoded as a browser would: byte-order mark, header charset, <meta>."""

from __future__ import annotations

import codecs
import re

# WHATWG encoding labels → the Python codec that decodes them as browsers do.
_ENCODINGS = {
    **dict.fromkeys(
        "ascii us-ascii iso-8859-1 iso8859-1 iso_8859-1 latin1 latin-1 l1 cp819 ibm819 "
        "csisolatin1 iso-ir-100 windows-1252 cp1252 x-cp1252".split(),
        "cp1252",
    ),
    **dict.fromkeys(
        "shift_jis shift-jis sjis x-sjis ms_kanji csshiftjis windows-31j cp932 ms932".split(),
        "cp932",
    ),
    **dict.fromkeys("euc-jp x-euc-jp cseucpkdfmtjapanese".split(), "euc_jp"),
    **dict.fromkeys("utf-8 utf8 unicode-1-1-utf-8 x-unicode20utf8".split(), "utf-8"),
    **dict.fromkeys("iso-8859-9 latin5 windows-1254".split(), "cp1254"),
    **dict.fromkeys("tis-620 iso-8859-11 windows-874".split(), "cp874"),
    **dict.fromkeys("gb2312 gbk x-gbk gb18030".split(), "gb18030"),
    **dict.fromkeys("big5 big5-hkscs".split(), "big5hkscs"),
    **dict.fromkeys("euc-kr ks_c_5601-1987 windows-949".split(), "cp949"),
    **dict.fromkeys("utf-16 utf-16le".split(), "utf-16-le"),
    "utf-16be": "utf-16-be",
}
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_PRESCAN_BYTES = 4096


def _codec(label: str | None) -> str | None:
    """A WHATWG encoding label → the Python codec a browser's decoder matches; None if unknown."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    if name in _ENCODINGS:
        return _ENCODINGS[name]
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None


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
