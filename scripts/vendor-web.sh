#!/usr/bin/env bash
# Refresh the pages' third-party packages: install exactly what live/web/package-lock.json pins (npm ci),
# then copy the built files the pages load, with each package's licence, into live/web/static/vendor/
# and record their versions in live/web/static/vendor/VERSIONS.md. The copies are committed, so the
# server (and `make run`) needs neither Node.js nor the network; run this only to change a version:
# edit package.json, `npm install` in live/web, then this script, and commit the result.
set -euo pipefail
cd "$(dirname "$0")/../live/web"
npm ci --no-audit --no-fund --ignore-scripts >/dev/null
OUT=static/vendor
rm -rf "$OUT"
mkdir -p "$OUT"
copy() {  # package, file in the package, name in vendor/
  mkdir -p "$OUT/$1"
  cp "node_modules/$1/$2" "$OUT/$1/$3"
}
copy preact dist/preact.mjs preact.mjs
copy preact hooks/dist/hooks.mjs hooks.mjs
copy htm dist/htm.mjs htm.mjs
copy hls.js dist/hls.min.js hls.min.js
copy uplot dist/uPlot.iife.min.js uPlot.iife.min.js
copy uplot dist/uPlot.min.css uPlot.min.css
copy swagger-ui-dist swagger-ui-bundle.js swagger-ui-bundle.js
copy swagger-ui-dist swagger-ui.css swagger-ui.css
{
  echo "# Vendored front-end packages"
  echo
  echo "Copied by \`scripts/vendor-web.sh\` from the packages that \`live/web/package-lock.json\` pins."
  echo "Do not edit these files; change the version in \`live/web/package.json\` and run the script."
  echo
  echo "| package | version | licence | files |"
  echo "| --- | --- | --- | --- |"
  for pkg in preact htm hls.js uplot swagger-ui-dist; do
    version=$(node -p "require('./node_modules/$pkg/package.json').version")
    licence=$(node -p "require('./node_modules/$pkg/package.json').license")
    cp "node_modules/$pkg/LICENSE" "$OUT/$pkg/LICENSE"
    files=$(cd "$OUT/$pkg" && ls | grep -v LICENSE | paste -sd' ')
    echo "| $pkg | $version | $licence | $files |"
  done
} > "$OUT/VERSIONS.md"
echo "vendor-web: packages copied into live/web/$OUT"
