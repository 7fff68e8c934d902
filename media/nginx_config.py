"""The self-hosted RTMP server: nginx with Debian's RTMP module, configured and run as an ordinary process.

:func:`render_config` writes an ``nginx.conf`` for one :class:`NginxLayout`; :class:`NginxProcess` runs nginx
with that prefix (``daemon off``, every pid, log, lock and temp path inside the prefix), in the foreground of
the process that started it, and stops it gracefully (``SIGQUIT``). ``scripts/install-media.sh`` installs
nginx, the module and ffmpeg.

Callback URL scheme: every RTMP callback (``on_publish``, ``on_publish_done``, ``on_play``, ``on_play_done``,
``on_done``, ``on_record_done``) posts to the one URL ``layout.callback_url`` (for example
``http://127.0.0.1:8000/media/callbacks/nginx-rtmp``); the form field ``call`` says which callback it is
(``publish``, ``publish_done``, ``play``, ``play_done``, ``done``, ``record_done``). See
:mod:`media.nginx_rtmp` for what the callbacks carry and how they are checked.

The http block serves ``/hls/`` (live HLS), ``/replays/`` (HLS VODs and covers made from recordings),
``/control`` (``rtmp_control all``: our server drops publishers through it) and ``/stat`` (``rtmp_stat all``);
the last two answer only the addresses in ``control_allow`` (loopback by default).

From a shell: ``python -m media.nginx_config --prefix var/nginx --callback-url URL`` runs nginx in the
foreground until interrupted (``--check`` only tests the config).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from media.provider import MediaError

RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")


def default_nginx() -> str:
    """nginx on the PATH, else Debian's ``/usr/sbin/nginx`` (not on an ordinary user's PATH)."""
    return shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass(frozen=True)
class NginxLayout:
    """Where one nginx instance keeps its files and listens, and where it sends its callbacks.

    ``user``: the worker user (``"name group"`` or ``"name"``). Left ``None``, a master started as root runs
    its workers as root too (the compiled default, ``nobody``, cannot write folders under a private
    ``/tmp/pytest-of-root``, nor folders our server created); a master started by another user runs its
    workers as that user whatever the config says."""

    prefix: Path
    callback_url: str
    hls_dir: Path
    record_dir: Path
    replay_dir: Path
    rtmp_port: int = 1935
    http_port: int = 8080
    host: str = "127.0.0.1"
    app: str = "live"
    user: str | None = None
    module: Path = RTMP_MODULE
    control_allow: tuple[str, ...] = ("127.0.0.1", "::1")

    @classmethod
    def under(
        cls,
        prefix: Path | str,
        callback_url: str,
        *,
        rtmp_port: int = 1935,
        http_port: int = 8080,
        host: str = "127.0.0.1",
        app: str = "live",
        user: str | None = None,
    ) -> NginxLayout:
        """A layout that keeps everything under ``prefix``: ``media/hls``, ``media/recordings`` and
        ``media/replays``."""
        root = Path(prefix).resolve()
        return cls(
            prefix=root,
            callback_url=callback_url,
            hls_dir=root / "media" / "hls",
            record_dir=root / "media" / "recordings",
            replay_dir=root / "media" / "replays",
            rtmp_port=rtmp_port,
            http_port=http_port,
            host=host,
            app=app,
            user=user,
        )

    @property
    def conf_path(self) -> Path:
        return self.prefix / "conf" / "nginx.conf"

    @property
    def logs_dir(self) -> Path:
        return self.prefix / "logs"

    @property
    def rtmp_url(self) -> str:
        """Where encoders push and players pull, without the stream name."""
        return f"rtmp://{_netloc(self.host, self.rtmp_port)}/{self.app}"

    @property
    def http_url(self) -> str:
        return f"http://{_netloc(self.host, self.http_port)}"

    def dirs(self) -> list[Path]:
        return [
            self.prefix / "conf",
            self.logs_dir,
            self.prefix / "temp",
            self.hls_dir,
            self.record_dir,
            self.replay_dir,
        ]


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _q(value: object) -> str:
    """A double-quoted nginx config string. Quotes, backslashes, newlines and ``$`` (a variable in some
    directives) are refused rather than escaped: none belongs in a path or URL of ours."""
    text = str(value)
    if any(c in text for c in '"\\\n\r$') or not text:
        raise ValueError(f"unsafe value for an nginx config: {text!r}")
    return f'"{text}"'


def _name(value: str, what: str) -> str:
    if not value or not all(c.isalnum() or c in "_-." for c in value):
        raise ValueError(f"unsafe {what} for an nginx config: {value!r}")
    return value


def _address(value: str) -> str:
    if not value or not all(c.isalnum() or c in ".:/" for c in value):
        raise ValueError(f"unsafe address for an nginx config: {value!r}")
    return value


def _worker_user(layout: NginxLayout) -> str | None:
    if layout.user is not None:
        parts = layout.user.split()
        if not 1 <= len(parts) <= 2:
            raise ValueError(f"nginx user must be 'name' or 'name group', got {layout.user!r}")
        return " ".join(_name(p, "user") for p in parts)
    if os.geteuid() != 0:
        return None
    return f"{pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name}"


def render_config(layout: NginxLayout) -> str:
    """The ``nginx.conf`` for ``layout`` (absolute paths): ``nginx -p PREFIX -c conf/nginx.conf``."""
    if not layout.callback_url.startswith("http://"):
        raise ValueError("nginx-rtmp posts its callbacks over plain http: the callback URL must be http://")
    for port in (layout.rtmp_port, layout.http_port):
        if not 0 < port < 65536:
            raise ValueError(f"bad port {port}")
    p = layout.prefix
    app = _name(layout.app, "application name")
    rtmp_listen = _netloc(layout.host, layout.rtmp_port)
    http_listen = _netloc(layout.host, layout.http_port)
    user = _worker_user(layout)
    callback = _q(layout.callback_url)
    allow = "".join(f"            allow {_address(a)};\n" for a in layout.control_allow)
    temps = "".join(
        f"    {kind}_temp_path {_q(p / 'temp' / kind)};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""# Generated by media/nginx_config.py: edit the layout, not this file.
load_module {_q(layout.module)};

{f"user {user};" if user else "# no user directive: workers run as the user that starts nginx"}
daemon off;
master_process on;
# one worker: RTMP live streams are per worker (several would need rtmp_auto_push)
worker_processes 1;
pid {_q(p / "logs" / "nginx.pid")};
lock_file {_q(p / "logs" / "nginx.lock")};
error_log {_q(p / "logs" / "error.log")} warn;

events {{
    worker_connections 1024;
}}

rtmp {{
    server {{
        listen {rtmp_listen};
        chunk_size 4096;
        notify_method post;
        # a publisher that sends nothing for this long is dropped (then publish_done and record_done follow)
        drop_idle_publisher 10s;

        application {app} {{
            live on;
            # callbacks: all to one URL; the form field `call` names the callback
            on_publish {callback};
            on_publish_done {callback};
            on_play {callback};
            on_play_done {callback};
            on_done {callback};
            on_record_done {callback};

            # one FLV per publish: {{record_path}}/{{name}}-{{unix time}}.flv
            record all;
            record_path {_q(layout.record_dir)};
            record_unique on;

            # live HLS: {{hls_path}}/{{name}}.m3u8; short fragments so playback starts quickly (fragments
            # are cut at keyframes only: encoders should send one every 2 s or less)
            hls on;
            hls_path {_q(layout.hls_dir)};
            hls_fragment 2s;
            hls_playlist_length 10s;
            hls_cleanup on;
        }}
    }}
}}

http {{
    access_log {_q(p / "logs" / "access.log")};
{temps}    types {{
        application/vnd.apple.mpegurl m3u8;
        video/mp2t ts;
        image/jpeg jpg;
        text/xml xml;
    }}
    default_type application/octet-stream;
    sendfile on;
    server_tokens off;

    server {{
        listen {http_listen};

        location /hls/ {{
            alias {_q(str(layout.hls_dir) + "/")};
            # always: a playlist that is not there yet (404) must still be readable by a page's player
            add_header Cache-Control no-cache always;
            add_header Access-Control-Allow-Origin * always;
        }}
        location /replays/ {{
            alias {_q(str(layout.replay_dir) + "/")};
            add_header Access-Control-Allow-Origin * always;
        }}
        location /control {{
{allow}            deny all;
            rtmp_control all;
        }}
        location /stat {{
{allow}            deny all;
            rtmp_stat all;
        }}
    }}
}}
"""


def missing_tools(
    *, nginx: str | None = None, ffmpeg: str = "ffmpeg", ffprobe: str = "ffprobe", module: Path = RTMP_MODULE
) -> list[str]:
    """Which of nginx, its RTMP module, ffmpeg and ffprobe this machine lacks (``scripts/install-media.sh``
    installs them)."""
    missing = [tool for tool in (nginx or default_nginx(), ffmpeg, ffprobe) if shutil.which(tool) is None]
    if not module.is_file():
        missing.append(str(module))
    return missing


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


class NginxProcess:
    """One nginx master for a layout. ``start``/``stop`` are async (tests, the app); ``start_sync``/
    ``stop_sync`` block (a CLI). Also an async context manager."""

    def __init__(self, layout: NginxLayout, *, nginx: str | None = None, start_timeout: float = 10.0) -> None:
        self.layout = layout
        self.nginx = nginx or default_nginx()
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def write_config(self) -> Path:
        """Create the layout's folders and write its config; the config's path."""
        for d in self.layout.dirs():
            d.mkdir(parents=True, exist_ok=True)
        conf = self.layout.conf_path
        conf.write_text(render_config(self.layout))
        return conf

    def _args(self, *extra: str) -> list[str]:
        layout = self.layout
        return [
            self.nginx,
            "-p",
            str(layout.prefix) + "/",
            "-c",
            str(layout.conf_path),
            "-e",
            str(layout.logs_dir / "error.log"),
            *extra,
        ]

    def check(self) -> str:
        """Write the config and run ``nginx -t`` on it: its output, or MediaError."""
        self.write_config()
        done = subprocess.run(self._args("-t"), capture_output=True, text=True, timeout=30, check=False)
        if done.returncode != 0:
            raise MediaError(f"nginx -t failed: {done.stderr.strip()}")
        return done.stderr

    def _spawn(self) -> None:
        if self.running:
            raise MediaError("nginx is already running")
        self.write_config()
        for port in (self.layout.rtmp_port, self.layout.http_port):
            if _port_open(self.layout.host, port):
                raise MediaError(f"port {port} on {self.layout.host} is already taken")
        stderr = (self.layout.logs_dir / "stderr.log").open("ab")
        try:
            self._proc = subprocess.Popen(
                self._args(), stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, start_new_session=True
            )
        finally:
            stderr.close()

    def _ready(self) -> bool:
        proc = self._proc
        assert proc is not None
        if proc.poll() is not None:
            logs = self.layout.logs_dir
            raise MediaError(
                f"nginx exited at start-up with status {proc.returncode}: "
                + (_tail(logs / "stderr.log") + _tail(logs / "error.log")).strip()
            )
        host = self.layout.host
        return _port_open(host, self.layout.rtmp_port) and _port_open(host, self.layout.http_port)

    def _start_failed(self) -> MediaError:
        self._kill()
        return MediaError(f"nginx did not open its ports within {self.start_timeout} s")

    async def start(self) -> None:
        """Write the config, start nginx and wait until both ports accept connections."""
        self._spawn()
        deadline = time.monotonic() + self.start_timeout
        try:
            while not self._ready():
                if time.monotonic() > deadline:
                    raise self._start_failed()
                await asyncio.sleep(0.05)
        except BaseException:
            self._kill()
            raise

    def start_sync(self) -> None:
        self._spawn()
        deadline = time.monotonic() + self.start_timeout
        try:
            while not self._ready():
                if time.monotonic() > deadline:
                    raise self._start_failed()
                time.sleep(0.05)
        except BaseException:
            self._kill()
            raise

    def _quit(self) -> subprocess.Popen[bytes] | None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            self._proc = None
            return None
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGQUIT)
        return proc

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    async def stop(self, grace: float = 10.0) -> None:
        """Graceful stop (``SIGQUIT``: workers finish, publishers are closed and their callbacks sent);
        killed if it has not exited within ``grace`` seconds. Idempotent."""
        await asyncio.to_thread(self.stop_sync, grace)

    def stop_sync(self, grace: float = 10.0) -> None:
        proc = self._quit()
        if proc is None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
        self._kill()

    def wait_sync(self) -> int:
        """Block until nginx exits; its status."""
        assert self._proc is not None
        return self._proc.wait()

    async def __aenter__(self) -> NginxProcess:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m media.nginx_config", description=__doc__.split("\n")[0])
    parser.add_argument("--prefix", default="var/nginx", help="nginx prefix (config, logs, media)")
    parser.add_argument(
        "--callback-url", default="http://127.0.0.1:8000/media/callbacks/nginx-rtmp", help="our server"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--rtmp-port", type=int, default=1935)
    parser.add_argument("--http-port", type=int, default=8080)
    parser.add_argument("--nginx", default=None, help="nginx binary (default: PATH, /usr/sbin)")
    parser.add_argument("--check", action="store_true", help="only write and test the config")
    args = parser.parse_args(argv)
    layout = NginxLayout.under(
        args.prefix, args.callback_url, rtmp_port=args.rtmp_port, http_port=args.http_port, host=args.host
    )
    proc = NginxProcess(layout, nginx=args.nginx)
    if args.check:
        print(proc.check().strip())
        return 0
    proc.start_sync()
    print(f"nginx-rtmp: push to {layout.rtmp_url}/STREAM?key=..., HLS at {layout.http_url}/hls/STREAM.m3u8")
    try:
        return proc.wait_sync()
    except KeyboardInterrupt:
        proc.stop_sync()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
