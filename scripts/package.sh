#!/usr/bin/env bash
# Builds the Debian package: target/debian/latchkey_<version>-1_<arch>.deb,
# with cargo-deb (the [package.metadata.deb] table of crates/latchkey/Cargo.toml;
# the unit, the sample configuration and the maintainer scripts are in
# crates/latchkey/debian/). Installs the pinned cargo-deb from crates.io into
# a cache directory on first use (2 min 11 s of CPU), and builds the release
# binary (`cargo build --release -p latchkey`, the one `cargo run --release`
# builds: several minutes from cold on two cores, seconds when it is fresh).
# Last line of output: the path of the .deb.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
log() { printf 'package: %s\n' "$*" >&2; }

CARGO_DEB_VERSION="3.8.0"
TOOLS="${LATCHKEY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/latchkey-tools}/cargo-deb-$CARGO_DEB_VERSION"
if [ ! -x "$TOOLS/bin/cargo-deb" ]; then
  log "installing cargo-deb $CARGO_DEB_VERSION into $TOOLS"
  cargo install --quiet --locked cargo-deb --version "$CARGO_DEB_VERSION" --root "$TOOLS"
fi
export PATH="$TOOLS/bin:$PATH"
command -v dpkg-deb >/dev/null || log "note: dpkg-deb not found; cargo-deb builds the archive itself"

TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
log "cargo build --release -p latchkey"
cargo build --quiet --release --locked -p latchkey
BIN="$TARGET/release/latchkey"

# The man page and completions, generated from the clap definitions by the
# binary being packaged (the asset paths in Cargo.toml point here; cargo-deb
# takes paths under target/release/ to be in the Cargo target directory).
OUT="$TARGET/release/package"
mkdir -p "$OUT"
"$BIN" man | gzip -9n >"$OUT/latchkey.1.gz"
"$BIN" completions bash >"$OUT/latchkey.bash"
"$BIN" completions zsh >"$OUT/_latchkey"
"$BIN" completions fish >"$OUT/latchkey.fish"

log "cargo deb"
mkdir -p "$TARGET/debian"
rm -f "$TARGET"/debian/latchkey_*.deb
cargo deb --package latchkey --no-build --locked --output "$TARGET/debian/" >&2
DEB="$(ls -t "$TARGET"/debian/latchkey_*.deb | head -1)"
[ -f "$DEB" ] || { log "no .deb was written"; exit 1; }
log "built $DEB ($(du -h "$DEB" | cut -f1))"
echo "$DEB"
