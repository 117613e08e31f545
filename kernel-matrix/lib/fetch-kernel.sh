#!/usr/bin/env bash
# Resolves a Debian kernel package pattern to the newest package apt knows,
# downloads it with apt-get (no install on the host), and keeps only its /boot
# (vmlinuz and config) in the cache. Prints the cached kernel's directory.
#
# usage: fetch-kernel.sh [SUITE/]PATTERN CACHE_DIR
#   PATTERN is a package name, or a glob over names ("linux-image-6.1.0-*-cloud-amd64").
#   SUITE names a Debian suite the host's apt sources lack ("trixie-backports/..."): it
#   gets an apt configuration of its own under CACHE_DIR/apt/SUITE (its own source list,
#   package lists and download cache; the host's apt setup is not touched), signed by
#   the keys of debian-archive-keyring, from $KM_DEBIAN_MIRROR (http://deb.debian.org/debian).
# A cached kernel directory holds: vmlinuz, config, package ("NAME VERSION").
set -euo pipefail

pattern=$1 cache=$2
log() { echo "fetch-kernel: $*" >&2; }
die() { log "$*"; exit 1; }

apt_opts=()
suite=""
if [[ $pattern == */* ]]; then
	suite=${pattern%%/*} pattern=${pattern#*/}
	[[ $suite =~ ^[a-z0-9-]+$ ]] || die "suite '$suite' is not a Debian suite name"
	ad=$cache/apt/$suite
	mkdir -p "$ad/lists/partial" "$ad/archives/partial"
	echo "deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${KM_DEBIAN_MIRROR:-http://deb.debian.org/debian} $suite main" >"$ad/sources.list"
	apt_opts=(-o "Dir::Etc::SourceList=$ad/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$ad/lists" -o "Dir::Cache=$ad" -o "Dir::Cache::archives=$ad/archives"
		-o Acquire::Languages=none -o APT::Sandbox::User=root)
	if ! ls "$ad/lists/"*_Packages* >/dev/null 2>&1; then
		log "fetching the package list of $suite"
		apt-get "${apt_opts[@]}" update -qq >&2 || log "apt-get update of $suite failed"
	fi
fi
apt_update() { apt-get "${apt_opts[@]}" update -qq >&2; }

# The glob becomes an anchored regex in which * and ? stay inside one dash-separated
# part, so "6.1.0-*-amd64" is the generic flavour and not also -cloud-amd64 or
# -rt-amd64. Debug and unsigned builds share the name's prefix: left out below.
regex="^$(printf '%s' "$pattern" | sed -e 's/[.+]/\\&/g' -e 's/\*/[^-]*/g' -e 's/?/[^-]/g')\$"

resolve() {
	apt-cache "${apt_opts[@]}" pkgnames linux-image- 2>/dev/null | grep -E "$regex" | grep -vE -- '-(dbg|unsigned)$' | sort -V | tail -n 1 || true
}

# The newest cached kernel matching the pattern, for when apt cannot help.
cached() {
	local d best=""
	for d in "$cache"/kernels/*/; do
		[ -f "$d/package" ] || continue
		if read -r name _ <"$d/package" && printf '%s\n' "$name" | grep -qE "$regex"; then
			best="$best${best:+$'\n'}${d%/}"
		fi
	done
	[ -n "$best" ] && printf '%s\n' "$best" | sort -V | tail -n 1
	return 0
}

pkg=$(resolve)
if [ -z "$pkg" ]; then
	# An empty or stale package index finds nothing: refresh it once.
	log "no package matches $pattern in the apt index; running apt-get update"
	apt_update || log "apt-get update failed"
	pkg=$(resolve)
fi
if [ -z "$pkg" ]; then
	dir=$(cached)
	[ -n "$dir" ] || die "no Debian package matches '$pattern' (apt-cache pkgnames linux-image- | grep ...) and none is cached"
	log "no package matches $pattern; using the cached $(cat "$dir/package")"
	echo "$dir"
	exit 0
fi

version=$(apt-cache "${apt_opts[@]}" show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
[ -n "$version" ] || die "apt-cache show $pkg gives no version"
dir="$cache/kernels/${pkg}_${version}"
if [ -f "$dir/vmlinuz" ] && [ -f "$dir/package" ]; then
	echo "$dir"
	exit 0
fi

dl=$(mktemp -d "$cache/download.XXXXXX")
trap 'rm -rf "$dl"' EXIT
download() {
	# -o APT::Sandbox::User=root: the cache may not be readable by _apt.
	(cd "$dl" && apt-get "${apt_opts[@]}" download -qq -o APT::Sandbox::User=root "$pkg=$version") >&2
}
if ! download; then
	# The archive drops superseded kernels; a fresh index names the current one.
	log "apt-get download $pkg=$version failed; running apt-get update and retrying"
	apt_update || true
	version=$(apt-cache "${apt_opts[@]}" show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
	dir="$cache/kernels/${pkg}_${version}"
	download || die "apt-get download $pkg failed"
fi
deb=$(ls "$dl"/*.deb)
size=$(stat -c %s "$deb")
# Only the kernel and its config are needed: the initramfs holds everything else, so no
# module is loaded. Up to 6.x they are in the image package's /boot; Debian's 7.x
# packages split them out: vmlinuz in linux-binary-ABI, config in linux-base-ABI, both
# under /usr/lib/modules/RELEASE/.
listing=$(dpkg-deb -c "$deb")
if grep -q '\./boot/vmlinuz-' <<<"$listing"; then
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dl" ./boot
	vmlinuz=$(ls "$dl"/boot/vmlinuz-* 2>/dev/null | head -n 1)
	config=$(ls "$dl"/boot/config-* 2>/dev/null | head -n 1)
	release=${vmlinuz##*/vmlinuz-}
else
	abi=${pkg#linux-image-}
	(cd "$dl" && apt-get "${apt_opts[@]}" download -qq -o APT::Sandbox::User=root \
		"linux-binary-$abi=$version" "linux-base-$abi=$version") >&2 \
		|| die "$pkg has no /boot, and linux-binary-$abi/linux-base-$abi $version cannot be downloaded"
	for part in "$dl"/linux-binary-*.deb "$dl"/linux-base-*.deb; do
		size=$((size + $(stat -c %s "$part")))
		dpkg-deb --fsys-tarfile "$part" | tar -x -C "$dl" --wildcards './usr/lib/modules/*/vmlinuz' \
			'./usr/lib/modules/*/config' 2>/dev/null || true
	done
	vmlinuz=$(ls "$dl"/usr/lib/modules/*/vmlinuz 2>/dev/null | head -n 1)
	config=$(ls "$dl"/usr/lib/modules/*/config 2>/dev/null | head -n 1)
	release=$(basename "$(dirname "$vmlinuz")")
fi
[ -n "$vmlinuz" ] || die "$pkg has no vmlinuz (in /boot, or in linux-binary-*)"
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp"
mv "$vmlinuz" "$dir.tmp/vmlinuz"
[ -z "$config" ] || mv "$config" "$dir.tmp/config"
echo "$release" >"$dir.tmp/release"
echo "$pkg $version $size" >"$dir.tmp/package"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
echo "$dir"
