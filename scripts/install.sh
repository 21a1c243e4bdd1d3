#!/usr/bin/env bash
# Install tsalign for development and CI: the Python package with its dev extra, plus the
# headless Chromium the browser test (tests/e2e/test_ui.py) drives through Playwright.
# Usage: bash scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's chromium + chromium-driver (no browser download at test time). Only as root on
# a machine with apt-get; elsewhere install Chromium yourself (the browser test needs
# /usr/bin/chromium, or set TSALIGN_CHROMIUM to its path).
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  if ! command -v chromium >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver
  fi
else
  echo "install.sh: not root or no apt-get; skipping the Chromium packages" >&2
fi

pip install -e '.[dev]'
