"""`yellowcart media nginx-config` writes a config that nginx itself accepts (nginx -t), wired to this
server's callbacks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from live.cli import main
from media.nginx_config import NginxLayout, default_nginx, missing_tools
from tests.support import IN_CI


def test_nginx_config_command_writes_a_config_nginx_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_URL", "http://127.0.0.1:8123")
    prefix = tmp_path / "nginx"
    assert (
        main(
            ["media", "nginx-config", "--prefix", str(prefix), "--rtmp-port", "19350", "--http-port", "18080"]
        )
        == 0
    )
    out = capsys.readouterr()
    conf = prefix / "conf" / "nginx.conf"
    text = conf.read_text()
    assert "listen 127.0.0.1:19350" in text and "127.0.0.1:18080" in text
    assert "http://127.0.0.1:8123/media/callbacks/nginx-rtmp" in text
    assert "NGINX_RTMP_URL=rtmp://127.0.0.1:19350/live" in out.err
    layout = NginxLayout.under(prefix, "http://127.0.0.1:8123/media/callbacks/nginx-rtmp")
    assert all(d.is_dir() for d in layout.dirs())
    if missing_tools():
        if IN_CI:
            pytest.fail("CI must have nginx with the RTMP module")
        pytest.skip("nginx not installed")
    check = subprocess.run(
        [
            default_nginx(),
            "-t",
            "-p",
            f"{prefix}/",
            "-c",
            str(conf),
            "-e",
            str(prefix / "logs" / "error.log"),
        ],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
