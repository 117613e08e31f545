#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test file.
set -eu
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm install
bash scripts/install-deps.sh
npm run build
node --test --test-concurrency=1 $(find dist/test -name "*.test.js" | sort)
