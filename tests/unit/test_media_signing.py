"""The cloud media providers' signing, checked against the values the vendors publish in their docs, and
the shape of the push and pull URLs they give out."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from media.aliyun import (
    AliyunLiveProvider,
    callback_signature,
    percent_encode,
    rpc_signature,
    rpc_string_to_sign,
    sign_auth_key,
)
from media.tencent import (
    TencentLiveProvider,
    callback_sign,
    tc3_authorization,
    tc3_signature,
    tx_secret,
    tx_time,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


# --- URL signing, type A ------------------------------------------------------------------------------


def test_type_a_reproduces_aliyun_cdn_published_example() -> None:
    # Aliyun CDN "鉴权方式A说明" (https://help.aliyun.com/zh/cdn/user-guide/type-a-signing): object
    # /video/standard/test.mp4, key aliyuncdnexp1234, timestamp 1444435200, rand 0, uid 0
    assert (
        sign_auth_key("/video/standard/test.mp4", 1444435200, "aliyuncdnexp1234")
        == "1444435200-0-0-23bf85053008f5c0e791667a313e28ce"
    )


def test_type_a_reproduces_aliyun_cdn_older_published_example() -> None:
    # the earlier edition of the same page: object /video/standard/1K.html, same key and timestamp
    assert sign_auth_key("/video/standard/1K.html", 1444435200, "aliyuncdnexp1234").endswith(
        "-80cd3862d699b7118eed99103f2a3a4f"
    )


def test_type_a_reproduces_apsaravideo_live_published_example_prefix() -> None:
    # ApsaraVideo Live "URL鉴权" (https://alibabacloud.com/help/zh/live/user-guide/url-signing): URI
    # /video/standard, key aliyunliveexp1234, timestamp 1622194197; the page shows the hash cut after 11
    # characters ("5552ff52b5e...")
    auth = sign_auth_key("/video/standard", 1622194197, "aliyunliveexp1234")
    assert auth.startswith("1622194197-0-0-5552ff52b5e")


def test_type_a_reproduces_the_huawei_live_published_vector_with_rand() -> None:
    # the notes' vector: Huawei Cloud Live "鉴权方式A" (same scheme), rand a UUID, key
    # GCTbw44s6MPLh4GqgDpnfuFHgy25Enly, timestamp 1592639100, published md5 dd1b5ffa00cf26acec0c169ae1cfabea.
    # The page names the URI /livetest/huawei1.sdp, but its published hash is that of /livetest/huawei1.flv
    # (the .sdp string hashes to 4116c2c7...): a slip in the page; the .flv URI reproduces it exactly.
    auth = sign_auth_key(
        "/livetest/huawei1.flv",
        1592639100,
        "GCTbw44s6MPLh4GqgDpnfuFHgy25Enly",
        rand="477b3bbc253f467b8def6711128c7bec",
    )
    assert auth == "1592639100-477b3bbc253f467b8def6711128c7bec-0-dd1b5ffa00cf26acec0c169ae1cfabea"


# --- Aliyun RPC signature v1 ------------------------------------------------------------------------------

RPC_EXAMPLE = {
    "TimeStamp": "2016-02-23T12:46:24Z",
    "Format": "XML",
    "AccessKeyId": "testid",
    "Action": "DescribeRegions",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    "Version": "2014-05-26",
    "SignatureVersion": "1.0",
}


def test_rpc_signature_reproduces_the_published_worked_example() -> None:
    # Alibaba Cloud "Request signatures" (RPC, https://www.alibabacloud.com/help/doc-detail/66384.htm, and the
    # product pages that copy it): DescribeRegions with AccessKeyId testid, secret testsecret
    assert rpc_string_to_sign(RPC_EXAMPLE) == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1"
        "%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0"
        "%26TimeStamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
    )
    assert rpc_signature(RPC_EXAMPLE, "testsecret") == "CT9X0VtwR86fNWSnsc6v8YGOjuE="


def test_rpc_signature_changes_with_the_secret_and_the_parameters() -> None:
    assert rpc_signature(RPC_EXAMPLE, "othersecret") != "CT9X0VtwR86fNWSnsc6v8YGOjuE="
    assert rpc_signature({**RPC_EXAMPLE, "Format": "JSON"}, "testsecret") != "CT9X0VtwR86fNWSnsc6v8YGOjuE="


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("a b", "a%20b"),
        ("a*b", "a%2Ab"),
        ("a~b", "a~b"),
        ("a+b/c", "a%2Bb%2Fc"),
        ("直播", "%E7%9B%B4%E6%92%AD"),
    ],
)
def test_percent_encoding_follows_the_rpc_rules(raw: str, encoded: str) -> None:
    assert percent_encode(raw) == encoded


def test_aliyun_callback_signature_is_md5_of_domain_timestamp_key() -> None:
    # the vendor's example fields (learn.aliyundoc.com, 1519375990, yourkey); it publishes no digest, so the
    # value is md5 of the documented string "learn.aliyundoc.com|1519375990|yourkey", computed with md5sum
    assert (
        callback_signature("learn.aliyundoc.com", "1519375990", "yourkey")
        == "9e226fc2c250be266e3657e156f68c12"
    )


# --- Tencent txSecret -------------------------------------------------------------------------------------


def test_tx_secret_reproduces_tencent_published_example() -> None:
    # Tencent CSS "Hotlink Protection URL Calculation" (https://www.tencentcloud.com/document/product/267/31560):
    # KEY e12c46f2612d5106e2034781ab261ca3, StreamName test, txTime 5C271099
    assert (
        tx_secret("e12c46f2612d5106e2034781ab261ca3", "test", "5C271099")
        == "f85a2ab363fe4deaffef9754d79da6fe"
    )


def test_tx_time_is_upper_case_hex_of_the_expiry() -> None:
    assert tx_time(datetime.fromtimestamp(0x5C271099, UTC)) == "5C271099"


def test_tencent_push_url_reproduces_the_published_push_url() -> None:
    provider = TencentLiveProvider(
        push_domain="livepush.tcloud.com",
        play_domain="liveplay.tcloud.com",
        push_key="e12c46f2612d5106e2034781ab261ca3",
        callback_key="cb",
    )
    expiry = datetime.fromtimestamp(0x5C271099, UTC)
    creds = provider.push_credentials("test", expiry - timedelta(hours=24), timedelta(hours=24))
    assert creds.url == (
        "rtmp://livepush.tcloud.com/live/test?txSecret=f85a2ab363fe4deaffef9754d79da6fe&txTime=5C271099"
    )
    assert creds.expires_at == expiry


def test_tencent_callback_sign_is_md5_of_key_and_t() -> None:
    # no published digest either: md5 of "mykey1703732078", computed with md5sum
    assert callback_sign("mykey", 1703732078) == "4dc3bb81ef31c26baf09d7e2f50a894c"
    assert callback_sign("mykey", "1703732078") == "4dc3bb81ef31c26baf09d7e2f50a894c"


# --- Tencent TC3-HMAC-SHA256 ------------------------------------------------------------------------------

TC3_PAYLOAD = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'


def test_tc3_reproduces_the_published_describe_instances_example() -> None:
    # TencentCloud API "Signature v3" (the page every product carries, e.g.
    # https://tencentcloud.com/document/api/266/34114): CVM DescribeInstances, POST, timestamp 1551113065,
    # content-type "application/json; charset=utf-8", SecretKey Gu5t9xGARNpq86cd98joQYCN3EXAMPLE
    authorization = tc3_authorization(
        secret_id="AKID**********************0123456789EXAMPLE",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        service="cvm",
        host="cvm.tencentcloudapi.com",
        timestamp=1551113065,
        payload=TC3_PAYLOAD,
    )
    assert authorization == (
        "TC3-HMAC-SHA256 Credential=AKID**********************0123456789EXAMPLE/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


def test_tc3_signature_of_the_published_string_to_sign() -> None:
    string_to_sign = (
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    assert (
        tc3_signature("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "2019-02-25", "cvm", string_to_sign)
        == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


def test_tc3_date_is_the_utc_date_of_the_timestamp() -> None:
    # 1551113065 is 2019-02-26 00:44:25 at UTC+8 but 2019-02-25 in UTC: the scope must say the 25th
    authorization = tc3_authorization(
        secret_id="id",
        secret_key="k",
        service="live",
        host="live.tencentcloudapi.com",
        timestamp=1551113065,
        payload=b"{}",
    )
    assert "/2019-02-25/live/tc3_request," in authorization


# --- URL shapes -------------------------------------------------------------------------------------------


def aliyun(**kwargs: object) -> AliyunLiveProvider:
    options: dict[str, object] = {
        "push_domain": "push.example.com",
        "play_domain": "play.example.com",
        "push_auth_key": "pushkey123",
        "play_auth_key": "playkey456",
        "notify_auth_key": "notify789",
        "clock": lambda: NOW,
        **kwargs,
    }
    return AliyunLiveProvider(**options)  # type: ignore[arg-type]


def test_aliyun_push_credentials_sign_the_stream_path_until_the_expiry() -> None:
    creds = aliyun().push_credentials("room-7", NOW, timedelta(hours=2))
    expiry = int(NOW.timestamp()) + 7200
    digest = hashlib.md5(f"/live/room-7-{expiry}-0-0-pushkey123".encode()).hexdigest()
    assert creds.protocol == "rtmp"
    assert creds.server == "rtmp://push.example.com/live"
    assert creds.stream_key == f"room-7?auth_key={expiry}-0-0-{digest}"
    assert creds.url == f"rtmp://push.example.com/live/room-7?auth_key={expiry}-0-0-{digest}"
    assert creds.expires_at == NOW + timedelta(hours=2)


def test_aliyun_timestamp_leaves_room_for_the_configured_validity() -> None:
    # the CDN accepts until timestamp + its validity period: sign expiry - validity so the URL ends on time
    creds = aliyun(auth_validity=timedelta(minutes=30)).push_credentials("room-7", NOW, timedelta(hours=2))
    timestamp = int(NOW.timestamp()) + 7200 - 1800
    assert creds.stream_key.startswith(f"room-7?auth_key={timestamp}-0-0-")
    assert creds.expires_at == NOW + timedelta(hours=2)


def test_aliyun_pull_urls_are_each_signed_for_their_own_path() -> None:
    urls = aliyun(play_ttl=timedelta(hours=1)).pull_urls("room-7")
    expiry = int(NOW.timestamp()) + 3600
    for url, path, scheme in (
        (urls.rtmp, "/live/room-7", "rtmp"),
        (urls.flv, "/live/room-7.flv", "https"),
        (urls.hls, "/live/room-7.m3u8", "https"),
    ):
        assert url is not None
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.path) == (scheme, "play.example.com", path)
        digest = hashlib.md5(f"{path}-{expiry}-0-0-playkey456".encode()).hexdigest()
        assert parse_qs(parts.query) == {"auth_key": [f"{expiry}-0-0-{digest}"]}
    assert urls.webrtc is None


def test_aliyun_pull_urls_without_a_play_key_are_plain() -> None:
    urls = aliyun(play_auth_key="").pull_urls("room-7")
    assert urls.as_dict() == {
        "rtmp": "rtmp://play.example.com/live/room-7",
        "flv": "https://play.example.com/live/room-7.flv",
        "hls": "https://play.example.com/live/room-7.m3u8",
    }


def test_unsafe_stream_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unsafe stream name"):
        aliyun().push_credentials("../x?y", NOW, timedelta(hours=1))


def tencent(**kwargs: object) -> TencentLiveProvider:
    options: dict[str, object] = {
        "push_domain": "push.example.com",
        "play_domain": "play.example.com",
        "push_key": "pushkey123",
        "play_key": "playkey456",
        "callback_key": "cb",
        "clock": lambda: NOW,
        **kwargs,
    }
    return TencentLiveProvider(**options)  # type: ignore[arg-type]


def test_tencent_push_credentials_shape() -> None:
    creds = tencent().push_credentials("room-7", NOW, timedelta(hours=2))
    hex_time = format(int(NOW.timestamp()) + 7200, "X")
    secret = hashlib.md5(f"pushkey123room-7{hex_time}".encode()).hexdigest()
    assert creds.server == "rtmp://push.example.com/live"
    assert creds.stream_key == f"room-7?txSecret={secret}&txTime={hex_time}"
    assert creds.url == f"{creds.server}/{creds.stream_key}"
    assert creds.expires_at == NOW + timedelta(hours=2)


def test_tencent_pull_urls_are_signed_with_the_play_key() -> None:
    urls = tencent(play_ttl=timedelta(hours=1)).pull_urls("room-7")
    hex_time = format(int(NOW.timestamp()) + 3600, "X")
    secret = hashlib.md5(f"playkey456room-7{hex_time}".encode()).hexdigest()
    query = f"?txSecret={secret}&txTime={hex_time}"
    assert urls.as_dict() == {
        "rtmp": f"rtmp://play.example.com/live/room-7{query}",
        "flv": f"https://play.example.com/live/room-7.flv{query}",
        "hls": f"https://play.example.com/live/room-7.m3u8{query}",
    }


def test_tencent_pull_urls_without_a_play_key_are_plain() -> None:
    assert tencent(play_key="").pull_urls("room-7").hls == "https://play.example.com/live/room-7.m3u8"
