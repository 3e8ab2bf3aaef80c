#!/usr/bin/env bash
# Install the pinned Claude Code (npm @anthropic-ai/claude-code) into a cache folder the tests and CI share.
# npm does not run install scripts here, so the package's own install.cjs is run to put its native binary in
# place. Prints the path of the `claude` executable. Idempotent: an existing install is reused.
set -euo pipefail
VERSION="${CLAUDE_CODE_VERSION:-2.1.332}"
DIR="${OPENTOKEN_CLAUDE_CODE_DIR:-$HOME/.cache/opentoken-ci/claude-code-$VERSION}"
BIN="$DIR/node_modules/.bin/claude"
if [ ! -x "$BIN" ] || ! "$BIN" --version >/dev/null 2>&1; then
  mkdir -p "$DIR"
  npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error "@anthropic-ai/claude-code@$VERSION" >&2
  (cd "$DIR/node_modules/@anthropic-ai/claude-code" && node install.cjs >&2)
fi
echo "$BIN"
