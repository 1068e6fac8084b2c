#!/usr/bin/env bash
# Builds OpenTofu from the Go module proxy, for the comparison in bench/tofu/README.md.
#
#   bench/tofu/build.sh [OUT]        (OUT defaults to ./tofu; TOFU_VERSION defaults to v1.12.6)
#
# `go install github.com/opentofu/opentofu/cmd/tofu@VERSION` refuses OpenTofu's module: its
# go.mod has replace directives (github.com/hashicorp/hcl/v2 => OpenTofu's fork), which only the
# main module may have. So this makes a throwaway wrapper module in a temporary directory, copies
# OpenTofu's replace and godebug directives into it, requires OpenTofu at VERSION and builds
# github.com/opentofu/opentofu/cmd/tofu from it with the flags of OpenTofu's release builds
# (.goreleaser.yaml: CGO_ENABLED=0, -trimpath, -s -w, version.dev=no). Nothing is left behind but
# OUT and the Go caches.
set -euo pipefail

version=${TOFU_VERSION:-v1.12.6}
out=${1:-tofu}
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "build.sh: downloading github.com/opentofu/opentofu@$version" >&2
gomod=$(go mod download -json "github.com/opentofu/opentofu@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
if [ ! -f "$gomod" ]; then
  echo "build.sh: go mod download did not name OpenTofu's go.mod" >&2
  exit 1
fi
goline=$(grep -m1 '^go ' "$gomod")

{
  echo "module panka.local/tofuwrap"
  echo
  echo "$goline"
  echo
  # The replace and godebug directives, single-line or blocks, as OpenTofu's go.mod has them.
  awk '
    /^(replace|godebug)[[:space:]]*\($/ { inblock = 1; print; next }
    inblock { print; if ($0 ~ /^\)/) { inblock = 0; print "" }; next }
    /^(replace|godebug)[[:space:]]/ { print; print "" }
  ' "$gomod"
} > go.mod
echo "build.sh: wrapper go.mod:" >&2
sed 's/^/  /' go.mod >&2

# GOFLAGS=-mod=mod lets go get add every requirement cmd/tofu needs to go.mod and go.sum.
GOFLAGS=-mod=mod go get "github.com/opentofu/opentofu/cmd/tofu@$version"
echo "build.sh: building cmd/tofu (this takes a few minutes)" >&2
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X 'github.com/opentofu/opentofu/version.dev=no'" \
  -o "$out" github.com/opentofu/opentofu/cmd/tofu
"$out" version >&2
echo "build.sh: built $out" >&2
