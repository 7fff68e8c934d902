"""Choosing the media provider from the settings (each imported only when chosen; unknown names refused)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from live.settings import MEDIA_PROVIDERS, Settings
from media.keys import StreamKeys
from media.provider import EventSink, MediaProvider


def create_media_provider(
    settings: Settings, sink: EventSink, clock: Callable[[], datetime]
) -> MediaProvider:
    """The provider named by ``MEDIA_PROVIDER``. ``sink`` receives the events of providers that report
    streams themselves (the in-process WebRTC relay) rather than through HTTP callbacks."""
    name = settings.media_provider
    if name == "webrtc":
        from media.webrtc import WebRTCProvider

        return WebRTCProvider(
            public_url=settings.base_url, keys=StreamKeys(settings.stream_key_secret), sink=sink, clock=clock
        )
    if name == "nginx-rtmp":
        from media.nginx_rtmp import NginxRtmpProvider

        return NginxRtmpProvider(
            keys=StreamKeys(settings.stream_key_secret),
            rtmp_url=settings.nginx_rtmp_url,
            http_url=settings.nginx_http_url,
            replay_dir=settings.nginx_replay_dir,
            record_dir=settings.nginx_record_dir,
        )
    if name == "aliyun":
        from media.aliyun import AliyunLiveProvider

        _require(settings, "aliyun", ("push_domain", "play_domain", "push_auth_key", "notify_auth_key"))
        return AliyunLiveProvider(
            push_domain=settings.aliyun_push_domain,
            play_domain=settings.aliyun_play_domain,
            app_name=settings.aliyun_app_name,
            push_auth_key=settings.aliyun_push_auth_key,
            play_auth_key=settings.aliyun_play_auth_key,
            notify_auth_key=settings.aliyun_notify_auth_key,
            access_key_id=settings.aliyun_access_key_id,
            access_key_secret=settings.aliyun_access_key_secret,
            api_endpoint=settings.aliyun_api_url,
            region=settings.aliyun_region,
            record_base_url=settings.aliyun_record_base_url,
            callback_domain=settings.aliyun_callback_domain,
            clock=clock,
        )
    if name == "tencent":
        from media.tencent import TencentLiveProvider

        _require(settings, "tencent", ("push_domain", "play_domain", "push_key", "callback_key"))
        return TencentLiveProvider(
            push_domain=settings.tencent_push_domain,
            play_domain=settings.tencent_play_domain,
            app_name=settings.tencent_app_name,
            push_key=settings.tencent_push_key,
            play_key=settings.tencent_play_key,
            callback_key=settings.tencent_callback_key,
            secret_id=settings.tencent_secret_id,
            secret_key=settings.tencent_secret_key,
            region=settings.tencent_region,
            api_endpoint=settings.tencent_api_url,
            clock=clock,
        )
    raise ValueError(f"unknown media provider {name!r}; known: {', '.join(MEDIA_PROVIDERS)}")


def _require(settings: Settings, prefix: str, names: tuple[str, ...]) -> None:
    missing = [f"{prefix}_{n}".upper() for n in names if not getattr(settings, f"{prefix}_{n}")]
    if missing:
        raise ValueError(f"MEDIA_PROVIDER={prefix} needs " + ", ".join(missing))
