"""Classifying decoded payloads: links, WeChat / WeCom / QQ invitations, plain text.

The sample URLs are real shapes published in open-source READMEs and app code.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qunyun.qr import KNOWN_VALIDITY, PayloadKind, classify_payload, decode_image, render_png

K = PayloadKind

SAMPLES = [
    (
        "https://weixin.qq.com/g/AwYAAFaT9qeQLWEs8xq4cjHIvcr3q1ND10VAyMO0rHCWoO4PsgQ5spyABQSFdhpo",
        K.WECHAT_GROUP,
    ),
    ("http://weixin.qq.com/g/A2uPmiSWkPYw2tgN", K.WECHAT_GROUP),
    ("  https://weixin.qq.com/g/AQYAAA7nTbVJ\n", K.WECHAT_GROUP),
    ("https://u.wechat.com/EBpmuKmrVz4YVFnoCJdnruA", K.WECHAT_CONTACT),
    ("https://u.wechat.com/MKfJdmPyCBZB7Bb84ABiy0U?s=2", K.WECHAT_CONTACT),
    ("http://weixin.qq.com/r/mUNzaxfEmq2-rZr093xS", K.WECHAT_OFFICIAL_ACCOUNT),
    ("http://weixin.qq.com/q/02mTxf9JxxxxxxxxxxxxxxA", K.WECHAT_OFFICIAL_ACCOUNT),
    ("https://work.weixin.qq.com/gm/66944e9bd30628e9270c980bc756663d", K.WECOM_GROUP),
    ("https://work.weixin.qq.com/u/vc3a10ae3518beb870?v=3.1.23.79300&src=wx", K.WECOM_CONTACT),
    (
        "https://work.weixin.qq.com/u/vc111a7db585fe5798?v=5.0.7.68221&bb=2a039738e3",
        K.WECOM_CONTACT,
    ),
    ("https://work.weixin.qq.com/ca/cawcde03d69f2d37e9", K.WECOM_CONTACT),
    ("https://jq.qq.com/?_wv=1027&k=5FUWGEu", K.QQ_GROUP),
    (
        "https://qm.qq.com/cgi-bin/qm/qr?k=tEmwz6tg9LJnHswOAGNcrBAESCIa1ju3&jump_from=webapi"
        "&authKey=8sOfUTnv02S1Cdm/KtdBz6GnPdpx4qXnLspeH48IIvFGChSte4V8C7NNkZ8i4/ra",
        K.QQ_GROUP,
    ),
    ("https://qm.qq.com/q/atRU7Tnbq0", K.QQ_GROUP),
    (
        "https://qun.qq.com/universal-share/share?ac=1&authKey=xfLd%2B0FC&busi_data="
        "eyJncm91cENvZGUiOiI4NzE4NDQ2NjgifQ%3D%3D&data=D0JnYq8E&svctype=4&tempid=h5_group_info",
        K.QQ_GROUP,
    ),
    (
        "https://qm.qq.com/cgi-bin/qm/qr?k=ik7aVaSdW4umAIPR7FL8tgkz2LKGH1-s"
        "#&noverify=0&personal_qrcode_source=4",
        K.QQ_CONTACT,
    ),
    ("https://q.example.cn/s/Ab3x9", K.URL),
    ("http://example.com", K.URL),
    ("https://weixin.qq.com/g/", K.URL),  # no token
    ("https://weixin.qq.com.evil.example/g/abc", K.URL),
    ("https://weixin.qq.com@evil.example/g/abc", K.URL),
    ("https://evil.example/weixin.qq.com/g/abc", K.URL),
    ("https://work.weixin.qq.com/wework_admin/frame", K.URL),
    ("https://qm.qq.com/", K.URL),
    ("weixin.qq.com/g/abc", K.TEXT),  # no scheme
    ("wxp://f2f0ZdFhxxxxxxxx", K.TEXT),
    ("ftp://example.com/file", K.TEXT),
    ("https://", K.TEXT),
    ("http://[::1", K.TEXT),
    ("see https://weixin.qq.com/g/abc", K.TEXT),
    ("群号 123456789", K.TEXT),
    ("WIFI:T:WPA;S:cafe;P:secret;;", K.TEXT),
]


@pytest.mark.parametrize(("payload", "kind"), SAMPLES)
def test_sample_payloads(payload: str, kind: PayloadKind) -> None:
    assert classify_payload(payload) == (kind, None)


def test_wechat_group_validity_is_known_but_not_in_the_url() -> None:
    kind, expires_at = classify_payload("https://weixin.qq.com/g/AwYAAFaT9qeQLWEs8xq4cjHI")
    assert kind is K.WECHAT_GROUP
    assert expires_at is None
    assert KNOWN_VALIDITY[K.WECHAT_GROUP] == timedelta(days=7)
    assert K.QQ_GROUP not in KNOWN_VALIDITY


@given(st.text(max_size=200))
def test_any_text_classifies_without_error(text: str) -> None:
    kind, expires_at = classify_payload(text)
    assert isinstance(kind, PayloadKind)
    assert expires_at is None
    if "://" not in text:
        assert kind is K.TEXT


def test_decoded_codes_carry_their_kind() -> None:
    url = "https://work.weixin.qq.com/gm/66944e9bd30628e9270c980bc756663d"
    (found,) = decode_image(render_png(url))
    assert (found.kind, found.expires_at) == (K.WECOM_GROUP, None)
