"""One typed settings object, read once from the environment, with embedded defaults."""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from commerce.core import failpoints
from commerce.files.base import create_file_store
from commerce.files.content import FileLimits, MiB
from live.origins import normalize_origin

DEV_JWT_SECRET = "yellowcart-development-secret-change-me-0123456789"
DEV_MEDIA_SECRET = "yellowcart-development-media-secret-change-me"
DEV_FILE_LINK_SECRET = "yellowcart-development-file-link-secret-change-me"
MEDIA_PROVIDERS = ("webrtc", "nginx-rtmp", "aliyun", "tencent")


class Settings(BaseSettings):
    """Every tunable of the server. Names are the environment variables (case-insensitive)."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", frozen=True)

    database_url: str = Field("sqlite:///./var/yellowcart.db", description="SQLite file or postgresql:// URL")
    redis_url: str | None = Field(None, description="Redis URL; unset means the in-process broker")
    redis_prefix: str = Field("yc", pattern=r"^[A-Za-z0-9_.\-]{1,32}$", description="namespace of Redis keys")
    db_pool_size: int = Field(
        10, ge=1, le=200, description="database connections kept open; as many again may open under load"
    )
    db_wait_seconds: float = Field(
        10.0,
        gt=0,
        le=120,
        description="how long a request waits for a database connection (on SQLite also for the write "
        "lock) before it is answered 503 with Retry-After",
    )

    jwt_algorithm: Literal["HS256", "HS384", "HS512", "RS256", "ES256", "EdDSA"] = "HS256"
    jwt_secret: str | None = Field(None, description="shared secret for HS* tokens")
    jwt_public_key: str | None = Field(None, description="PEM public key for RS256/ES256/EdDSA tokens")
    jwt_private_key: str | None = Field(None, description="PEM private key, only for `yellowcart token`")
    jwt_issuer: str = "yellowcart"
    jwt_audience: str = "yellowcart"
    jwt_leeway_seconds: int = Field(30, ge=0, le=300)
    jwt_default_ttl_seconds: int = Field(86400, ge=60)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    public_url: str | None = Field(
        None, description="base URL printed for clients; defaults to http://host:port"
    )
    demo_sign_in: bool = Field(
        False,
        description="the demo's one-click sign-in: the sign-in page lists the demo accounts and the server "
        "issues their tokens (`make run` turns it on; never in production, where tokens come from elsewhere)",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    upload_dir: str = Field(
        "./var/uploads", description="where uploaded pictures are kept (shared storage for several servers)"
    )
    upload_max_bytes: int = Field(
        5 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024, description="largest picture one upload may carry"
    )
    file_store_url: str = Field(
        "file:./var/files",
        description="where kept files (after-sales evidence) live: file:///abs/path, file:./relative/path, "
        "or memory:// (tests)",
    )
    file_link_secret: str | None = Field(
        None, description="signs links to kept files; unset: derived from JWT_SECRET (else a development one)"
    )
    file_link_ttl_seconds: int = Field(900, ge=10, le=7 * 86400, description="a file link expires after this")
    file_max_image_bytes: int = Field(
        10 * MiB, ge=1024, description="largest image file (PNG, JPEG, WebP, GIF)"
    )
    file_max_video_bytes: int = Field(100 * MiB, ge=1024, description="largest video (MP4, QuickTime, WebM)")
    file_max_document_bytes: int = Field(20 * MiB, ge=1024, description="largest document (PDF, UTF-8 text)")
    gc_gen0_threshold: int = Field(
        20_000, ge=100, description="allocations between young-generation collections (Python's default: 700)"
    )
    outbox_poll_seconds: float = Field(
        1.0, gt=0, le=60, description="how often the relay and reactions look for events committed elsewhere"
    )
    reactions_settle_seconds: float = Field(
        2.0, ge=0, le=60, description="how long an action waits for the reactions to its commit"
    )
    test_crash_after: str | None = Field(
        None, description="tests only: SIGKILL this process at the named point (needs TEST_CRASH_ENABLED)"
    )
    test_crash_enabled: bool = Field(False, description="tests only: allow TEST_CRASH_AFTER")
    shutdown_grace_seconds: float = Field(10.0, ge=0)

    ws_tick_ms: int = Field(100, ge=10, le=2000, description="room frame interval")
    ws_counts_seconds: float = Field(1.0, gt=0, le=60, description="online/like totals interval")
    ws_queue_frames: int = Field(64, ge=4, le=10_000, description="frames waiting per connection")
    ws_max_coalesce: int = Field(3, ge=1, description="coalescings within ws_lag_window before closing 4008")
    ws_lag_window_seconds: float = Field(10.0, gt=0)
    payment_provider: str = Field("sandbox", description="sandbox or wechatpay")
    payment_sandbox_url: str | None = Field(
        None, description="the sandbox provider's URL; unset: the sandbox runs in this process under /sandbox"
    )
    payment_merchant: str = "sandbox-merchant"
    payment_api_key: str = "sandbox-api-key"
    payment_notify_secret: str = "sandbox-notify-secret"
    wechatpay_base_url: str = "https://api.mch.weixin.qq.com"
    wechatpay_mchid: str = ""
    wechatpay_appid: str = ""
    wechatpay_merchant_serial: str = Field("", description="serial number of the merchant API certificate")
    wechatpay_merchant_key_file: str | None = Field(None, description="PEM private key of the merchant")
    wechatpay_api_v3_key: str = Field("", description="the 32-byte APIv3 key (decrypts notifications)")
    wechatpay_platform_serial: str = Field("", description="serial / public key id of the platform key")
    wechatpay_platform_key_file: str | None = Field(None, description="PEM public key of the platform")
    order_pay_minutes: float = Field(15.0, gt=0, description="an unpaid order closes after this long")
    order_auto_complete_days: int = Field(10, ge=1, description="a shipped order completes by itself after")
    order_sweep_seconds: float = Field(5.0, gt=0, description="how often order timers are checked")
    stock_reconcile_seconds: float = Field(60.0, gt=0, description="how often stock counters are reconciled")
    ws_snapshot_max_age_seconds: float = Field(
        2.0, ge=0, description="how long joiners may share one read of a room's snapshot"
    )
    ws_keep_figures_seconds: float = Field(
        10.0, gt=0, description="how often a room's audience figures are written to the database"
    )
    ws_history: int = Field(1000, ge=10, description="state events kept per room for resume")
    ws_position_check_seconds: float = Field(
        2.0, gt=0, le=60, description="how often each process compares its rooms' seq with the broker's"
    )
    ws_anchor_check_seconds: float = Field(
        40.0, gt=0, le=3600, description="how often each process compares its rooms' seq with the database"
    )
    ws_chat_history: int = Field(50, ge=0, le=1000, description="recent danmaku kept per room")
    ws_snapshot_chat: int = Field(20, ge=0, le=1000, description="danmaku sent in the join snapshot")
    ws_max_message_bytes: int = Field(4096, ge=256, description="larger client messages close with 1009")
    chat_max_chars: int = Field(100, ge=1, le=1000)
    chat_rate_per_second: float = Field(1.0, gt=0, description="danmaku per user per second, sustained")
    chat_burst: int = Field(5, ge=1, description="danmaku a user may send at once")
    likes_max_per_message: int = Field(50, ge=1)
    likes_per_second: int = Field(
        50, ge=1, description="likes one connection may add per second; the excess is not added"
    )
    ws_pings_per_minute: int = Field(12, ge=1, description="pings one connection may send per minute")
    ws_flood_burst: int = Field(
        20, ge=1, description="refused or excessive messages a connection may send at once before 4029"
    )
    ws_flood_rate_per_second: float = Field(
        2.0, gt=0, description="refused or excessive messages a connection may send per second, sustained"
    )
    ws_allowed_origins: list[str] = Field(
        [], description="web origins, besides the server's own, whose pages may open the room channel"
    )

    media_provider: str = Field(
        "webrtc", description="webrtc (in-process WHIP/WHEP relay), nginx-rtmp, aliyun or tencent"
    )
    media_go_live: Literal["stream", "manual"] = Field(
        "stream", description="a scheduled room goes live when its stream starts, or when its streamer says"
    )
    media_grace_seconds: float = Field(60.0, ge=0, description="a dropped stream ends the room after this")
    media_sweep_seconds: float = Field(5.0, gt=0, description="how often dropped streams are checked")
    media_key_secret: str | None = Field(None, description="signs push keys (nginx-rtmp, webrtc)")
    media_key_ttl_seconds: int = Field(86400, ge=60, description="push credentials expire after this")
    media_callback_sources: list[str] = Field(
        ["127.0.0.1/32", "::1/128"], description="addresses the self-hosted media server calls back from"
    )
    nginx_rtmp_url: str = Field("rtmp://127.0.0.1:1935/live", description="nginx-rtmp: push/pull base")
    nginx_http_url: str = Field("http://127.0.0.1:8080", description="nginx-rtmp: its http block (HLS)")
    nginx_replay_dir: str = Field("./var/nginx/media/replays", description="nginx-rtmp: replays go here")
    nginx_record_dir: str | None = Field(
        "./var/nginx/media/recordings", description="nginx-rtmp: recordings outside it are refused"
    )
    aliyun_push_domain: str = ""
    aliyun_play_domain: str = ""
    aliyun_app_name: str = "live"
    aliyun_push_auth_key: str = ""
    aliyun_play_auth_key: str = ""
    aliyun_notify_auth_key: str = Field("", description="the key Aliyun signs its stream callbacks with")
    aliyun_access_key_id: str = ""
    aliyun_access_key_secret: str = ""
    aliyun_api_url: str = "https://live.aliyuncs.com"
    aliyun_region: str = "cn-shanghai"
    aliyun_record_base_url: str | None = Field(
        None, description="where Aliyun's recordings are served (the recording callback names a path)"
    )
    aliyun_callback_domain: str | None = Field(
        None, description="host of our callback URL, as Aliyun signs recording callbacks with it"
    )
    tencent_push_domain: str = ""
    tencent_play_domain: str = ""
    tencent_app_name: str = "live"
    tencent_push_key: str = ""
    tencent_play_key: str = ""
    tencent_callback_key: str = Field("", description="the key Tencent signs its stream callbacks with")
    tencent_secret_id: str = ""
    tencent_secret_key: str = ""
    tencent_region: str = "ap-guangzhou"
    tencent_api_url: str = "https://live.tencentcloudapi.com"

    @field_validator("media_provider")
    @classmethod
    def _known_media_provider(cls, v: str) -> str:
        if v not in MEDIA_PROVIDERS:
            raise ValueError(f"unknown media provider {v!r}; known: {', '.join(MEDIA_PROVIDERS)}")
        return v

    @field_validator("file_store_url")
    @classmethod
    def _known_file_store(cls, v: str) -> str:
        create_file_store(v)  # refuses an unknown scheme now, naming FILE_STORE_URL (it touches no disk)
        return v

    @field_validator("ws_allowed_origins")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        out = []
        for origin in v:
            if origin == "*":
                out.append(origin)
                continue
            normal = normalize_origin(origin)
            if normal is None:
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], or *)")
            out.append(normal)
        return out

    @field_validator("jwt_secret")
    @classmethod
    def _secret_strength(cls, v: str | None) -> str | None:
        if v is not None and len(v) < 32:
            raise ValueError("JWT_SECRET must be at least 32 characters")
        return v

    @model_validator(mode="after")
    def _crash_points(self) -> Settings:
        if self.test_crash_after is None:
            return self
        if not self.test_crash_enabled:
            raise ValueError("TEST_CRASH_AFTER kills the server on purpose; it needs TEST_CRASH_ENABLED=true")
        if self.test_crash_after not in failpoints.KNOWN:
            known = ", ".join(sorted(failpoints.KNOWN))
            raise ValueError(f"unknown TEST_CRASH_AFTER point {self.test_crash_after!r}; known: {known}")
        return self

    @model_validator(mode="after")
    def _key_for_algorithm(self) -> Settings:
        if not self.jwt_algorithm.startswith("HS") and not self.jwt_public_key:
            raise ValueError(f"JWT_PUBLIC_KEY is required for {self.jwt_algorithm}")
        return self

    @property
    def verification_key(self) -> str:
        if self.jwt_algorithm.startswith("HS"):
            return self.jwt_secret or DEV_JWT_SECRET
        assert self.jwt_public_key is not None
        return self.jwt_public_key

    @property
    def signing_key(self) -> str:
        if self.jwt_algorithm.startswith("HS"):
            return self.jwt_secret or DEV_JWT_SECRET
        if not self.jwt_private_key:
            raise ValueError(f"JWT_PRIVATE_KEY is required to sign {self.jwt_algorithm} tokens")
        return self.jwt_private_key

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def uses_dev_secret(self) -> bool:
        return self.jwt_algorithm.startswith("HS") and self.jwt_secret is None

    @property
    def file_links_secret(self) -> str:
        """``FILE_LINK_SECRET``; else derived from ``JWT_SECRET`` (so a deployment that set one does not
        sign links with a published secret); else the development secret."""
        if self.file_link_secret:
            return self.file_link_secret
        if self.jwt_secret:
            return hmac.new(self.jwt_secret.encode(), b"yellowcart file links", hashlib.sha256).hexdigest()
        return DEV_FILE_LINK_SECRET

    @property
    def file_limits(self) -> FileLimits:
        return FileLimits(
            image=self.file_max_image_bytes,
            video=self.file_max_video_bytes,
            document=self.file_max_document_bytes,
        )

    @property
    def stream_key_secret(self) -> str:
        return self.media_key_secret or DEV_MEDIA_SECRET
