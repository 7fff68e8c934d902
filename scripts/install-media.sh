#!/usr/bin/env bash
# Install the self-hosted media tools from Debian: nginx with the RTMP module, and ffmpeg/ffprobe.
#
# Idempotent: does nothing when nginx, the RTMP module, ffmpeg and ffprobe are all present. Runs
# `apt-get update` only when the install fails without it, uses sudo only when not root, and leaves the
# system nginx service stopped and disabled: we run nginx as an ordinary process with its own prefix
# (media/nginx_config.py), and a system nginx would hold port 80 for nothing.
set -euo pipefail

MODULE=/usr/lib/nginx/modules/ngx_rtmp_module.so
PACKAGES=(nginx libnginx-mod-rtmp ffmpeg)

# /usr/sbin is not on an ordinary user's PATH
have_nginx() { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; }
present() {
  have_nginx && [ -f "$MODULE" ] \
    && command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1
}

if present; then
  echo "install-media: nginx, the RTMP module, ffmpeg and ffprobe are present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-media: not root and no sudo: install ${PACKAGES[*]} by hand" >&2
  exit 1
fi

# Keep the package scripts from starting the nginx service (policy-rc.d answering 101 = "not allowed"),
# unless the machine already has a policy of its own.
POLICY=/usr/sbin/policy-rc.d
OWN_POLICY=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 755 "$POLICY"
  OWN_POLICY=1
fi
cleanup() { if [ "$OWN_POLICY" -eq 1 ]; then "${SUDO[@]}" rm -f "$POLICY"; fi; }
trap cleanup EXIT

# other installs may run at the same time (scripts/check-compose.sh): wait for the dpkg lock
APT=(apt-get -o DPkg::Lock::Timeout=300)
apt_install() {
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    "${APT[@]}" install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
}
echo "install-media: installing ${PACKAGES[*]}"
if ! apt_install; then
  echo "install-media: install failed; updating the package lists and retrying"
  "${SUDO[@]}" "${APT[@]}" update -qq
  apt_install
fi

# Had the service started anyway (a policy of the machine's own allowed it), stop it and keep it off.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  "${SUDO[@]}" systemctl disable --now nginx >/dev/null 2>&1 || true
else
  if [ -s /run/nginx.pid ]; then
    "${SUDO[@]}" /usr/sbin/nginx -s quit >/dev/null 2>&1 || true
  fi
  if command -v update-rc.d >/dev/null 2>&1; then
    "${SUDO[@]}" update-rc.d nginx disable >/dev/null 2>&1 || true
  fi
fi

present || { echo "install-media: installed, but nginx/the RTMP module/ffmpeg/ffprobe are still missing" >&2; exit 1; }
echo "install-media: $("$(command -v nginx || echo /usr/sbin/nginx)" -v 2>&1), $(ffmpeg -version | head -n1 | cut -d' ' -f1-3)"
