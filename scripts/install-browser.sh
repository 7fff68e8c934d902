#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests (tests/browser), with CJK and emoji fonts so the
# pages' screenshots show their Chinese and their icons. Idempotent: does nothing when /usr/bin/chromium
# and the fonts are present. Nothing here (or in the tests) downloads a browser of its own: the tests
# drive this binary through Playwright's Python package, which brings only its driver.
set -euo pipefail

fonts_present() { fc-list 2>/dev/null | grep -qi "Noto Sans CJK" && fc-list 2>/dev/null | grep -qi "Noto Color Emoji"; }
if [ -x /usr/bin/chromium ] && fonts_present; then
  echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) is present"
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-browser: not root and no sudo: install the chromium package by hand" >&2
  exit 1
fi
APT=(apt-get -o DPkg::Lock::Timeout=300)
apt_install() {
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    "${APT[@]}" install -y -qq --no-install-recommends chromium fonts-noto-cjk fonts-noto-color-emoji >/dev/null
}
echo "install-browser: installing chromium (with CJK and emoji fonts for the pages' screenshots)"
if ! apt_install; then
  echo "install-browser: install failed; updating the package lists and retrying"
  "${SUDO[@]}" "${APT[@]}" update -qq
  apt_install
fi
[ -x /usr/bin/chromium ] || { echo "install-browser: installed, but /usr/bin/chromium is missing" >&2; exit 1; }
echo "install-browser: $(/usr/bin/chromium --version)"
