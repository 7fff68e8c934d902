#!/usr/bin/env bash
# Validate docker-compose.yml with Debian's docker-compose (no container engine needed for `config`).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v docker-compose >/dev/null 2>&1; then
  echo "check-compose: installing Debian's docker-compose"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi
docker-compose -f docker-compose.yml config -q
echo "check-compose: docker-compose.yml is valid ($(docker-compose version --short 2>/dev/null || echo unknown))"
