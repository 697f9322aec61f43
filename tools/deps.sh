#!/bin/sh
# deps.sh — fetch, verify, patch and build sshmcp's two pinned dependencies.
#
#   tools/deps.sh fetch   BUILD DL_DIR         sources into BUILD/src, patched
#   tools/deps.sh build   BUILD PREFIX CC CFLAGS   static libmbedcrypto + libssh2 into PREFIX
#   tools/deps.sh openssh10 BUILD DL_DIR  the tests' OpenSSH 10 sshd into BUILD/openssh10
#
# Sources come from Debian's source packages through a private apt configuration under
# BUILD/apt (deb-src lines for trixie, forky and sid on the machine's own Debian mirror; /etc is
# never edited), so apt checks them against Debian's signed archive. The upstream tarballs are
# pinned by SHA-256 on top of that: a mismatch, or a pin that left the mirror, stops the build
# with one line. Every patch enabled in the newest Debian revision's debian/patches/series is
# applied, then ours from patches/, in name order; a patch that does not apply stops the build.
set -eu

LIBSSH2_VER=1.11.1
LIBSSH2_SHA256=d9ec76cbe34db98eec3539fe2c899d26b0c837cb3eb466a56b0f109cabf658f7
LIBSSH2_TAR=libssh2_${LIBSSH2_VER}.orig.tar.gz
MBEDTLS_VER=3.6.7
MBEDTLS_SHA256=a7e8bcbec0e6f761b4af24f25677626b35f762f68eef79c08677a363212d11f6
MBEDTLS_TAR=mbedtls_${MBEDTLS_VER}.orig.tar.bz2
SUITES="trixie forky sid"
# The test fixture's OpenSSH 10 (tests/09-pq-kex.sh): the openssh source package of trixie.
OPENSSH_VER=10.0p1
OPENSSH_SHA256=021a2e709a0edf4250b1256bd5a9e500411a90dddabea830ed59cef90eb9d85c
OPENSSH_TAR=openssh_${OPENSSH_VER}.orig.tar.gz
OPENSSH_SUITE=trixie

die() { echo "deps: $*" >&2; exit 1; }

# The mirror URI the machine already uses, so the build works wherever apt does.
mirror_uri() {
	uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1=="deb" && $2 ~ /^https?:\/\/.*debian\/?$/ {print $2; exit}')
	[ -n "$uri" ] || uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '/^URIs:/ {for (i=2;i<=NF;i++) if ($i ~ /debian\/?$/ && $i !~ /security/) {print $i; exit}}')
	[ -n "$uri" ] || uri=http://deb.debian.org/debian
	echo "$uri"
}

apt_setup() {
	apt_dir=$1
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
	uri=$(mirror_uri)
	: > "$apt_dir/sources.list"
	for s in $SUITES; do
		echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $s main" \
			>> "$apt_dir/sources.list"
	done
	APT_OPTS="-o Dir::Etc::SourceList=$apt_dir/sources.list -o Dir::Etc::SourceParts=/dev/null
		-o Dir::State::Lists=$apt_dir/lists -o Dir::Cache=$apt_dir/cache
		-o Debug::NoLocking=1 -o APT::Sandbox::User=root -qq"
	# shellcheck disable=SC2086
	apt-get $APT_OPTS update >/dev/null 2>&1
}

# newest_rev PKG UPSTREAM: the highest Debian revision of PKG whose upstream version is UPSTREAM.
newest_rev() {
	# shellcheck disable=SC2086
	apt-cache $APT_OPTS showsrc "$1" 2>/dev/null | awk '/^Version:/ {print $2}' |
		grep -E "^([0-9]+:)?$2-" | sort -u | while read -r v; do echo "$v"; done |
		sort -V | tail -n 1
}

sha_check() { # file expected
	got=$(sha256sum "$1" | cut -d' ' -f1)
	[ "$got" = "$2" ] || die "$(basename "$1"): SHA-256 $got, pinned $2 — refusing to build"
}

# A debian.tar.xz taken from DL_DIR is checked against the .dsc beside it.
dsc_check() { # dsc file
	want=$(awk -v f="$(basename "$2")" '/^Checksums-Sha256:/ {on=1; next}
		/^[^ ]/ {on=0} on && $3==f {print $1}' "$1")
	[ -n "$want" ] || die "$(basename "$2") is not listed in $(basename "$1")"
	sha_check "$2" "$want"
}

# fetch_one PKG UPSTREAM TARBALL SHA256 DL_DIR: leaves the .dsc, orig and debian tarballs in DL_DIR.
fetch_one() {
	pkg=$1 up=$2 tar=$3 sum=$4 dl=$5
	rev=$(newest_rev "$pkg" "$up")
	[ -n "$rev" ] || die "no Debian source of $pkg $up on the mirror any more: move the $pkg pin in tools/deps.sh (or put the tarballs in DL_DIR)"
	if [ ! -f "$dl/${pkg}_$rev.dsc" ] || [ ! -f "$dl/$tar" ]; then
		echo "deps: apt-get source $pkg=$rev (verified by apt)" >&2
		# shellcheck disable=SC2086
		(cd "$dl" && apt-get $APT_OPTS source --download-only "$pkg=$rev" >/dev/null) ||
			die "apt-get source $pkg=$rev failed"
	fi
	sha_check "$dl/$tar" "$sum"
	echo "$rev"
}

# local_rev PKG UPSTREAM DL_DIR: newest revision whose .dsc a user put in DL_DIR.
local_rev() {
	ls "$3" 2>/dev/null | sed -n "s/^$1_\($2-.*\)\.dsc$/\1/p" | sort -V | tail -n 1
}

unpack() { # pkg upstream rev tar dl srcdir
	pkg=$1 up=$2 rev=$3 tar=$4 dl=$5 dst=$6
	deb="$dl/${pkg}_$rev.debian.tar.xz"
	[ -f "$deb" ] || die "missing $deb"
	dsc_check "$dl/${pkg}_$rev.dsc" "$deb"
	rm -rf "$dst" "$dst.tmp" && mkdir -p "$dst.tmp"
	tar -xf "$dl/$tar" -C "$dst.tmp"
	mv "$dst.tmp"/*-"$up" "$dst" && rmdir "$dst.tmp"
	tar -xJf "$deb" -C "$dst"
	# Enabled lines of series, in order; every one applies or the build stops.
	grep -v -e '^#' -e '^[[:space:]]*$' "$dst/debian/patches/series" | while read -r p _; do
		patch -d "$dst" -p1 --forward --batch --quiet < "$dst/debian/patches/$p" ||
			die "Debian patch $p does not apply to $pkg $up"
		echo "$p" >> "$dst/.applied"
	done
}

apply_ours() { # srcdir prefix
	# Name order in the C locale, whatever the shell's collation: 0001..0004, 101..110, 200...
	for p in $(cd "$PATCH_DIR" && ls -- "$2"-*.patch 2>/dev/null | LC_ALL=C sort); do
		p=$PATCH_DIR/$p
		[ -f "$p" ] || continue
		patch -d "$1" -p1 --forward --batch --quiet < "$p" || die "$(basename "$p") does not apply"
		echo "$(basename "$p")" >> "$1/.applied"
	done
}

cmd_fetch() {
	mkdir -p "$1/src" "$2"
	build=$(cd "$1" && pwd) dl=$(cd "$2" && pwd)
	lrev=$(local_rev libssh2 $LIBSSH2_VER "$dl")
	mrev=$(local_rev mbedtls $MBEDTLS_VER "$dl")
	# With the source packages already in DL_DIR (a user's copies, or an earlier fetch) and no
	# mirror to reach, build from them; the pins below still check every tarball.
	if [ -z "${DEPS_OFFLINE:-}" ]; then
		if apt_setup "$build/apt"; then
			lrev=$(fetch_one libssh2 $LIBSSH2_VER $LIBSSH2_TAR $LIBSSH2_SHA256 "$dl")
			mrev=$(fetch_one mbedtls $MBEDTLS_VER $MBEDTLS_TAR $MBEDTLS_SHA256 "$dl")
		elif [ -n "$lrev" ] && [ -n "$mrev" ]; then
			echo "deps: mirror unreachable: using the source packages in $dl" >&2
		else
			die "apt-get update failed for $build/apt/sources.list and $dl has no source packages"
		fi
	fi
	[ -n "$lrev" ] && [ -n "$mrev" ] || die "no source packages in $dl"
	sha_check "$dl/$LIBSSH2_TAR" $LIBSSH2_SHA256
	sha_check "$dl/$MBEDTLS_TAR" $MBEDTLS_SHA256
	unpack libssh2 $LIBSSH2_VER "$lrev" $LIBSSH2_TAR "$dl" "$build/src/libssh2"
	unpack mbedtls $MBEDTLS_VER "$mrev" $MBEDTLS_TAR "$dl" "$build/src/mbedtls"
	apply_ours "$build/src/libssh2" libssh2
	apply_ours "$build/src/mbedtls" mbedtls
	{
		echo "#define SSHMCP_DEP_LIBSSH2 \"libssh2 $LIBSSH2_VER (Debian $lrev patches)\""
		echo "#define SSHMCP_DEP_MBEDTLS \"mbedTLS $MBEDTLS_VER (Debian $mrev patches)\""
	} > "$build/deps.h"
	echo "deps: libssh2 $lrev, mbedtls $mrev, patched"
}

cmd_build() {
	build=$1 prefix=$2 cc=$3 cflags=$4
	src=$(cd "$build/src" && pwd)
	rm -rf "$prefix" && mkdir -p "$prefix/lib" "$prefix/include" "$prefix/obj"
	prefix=$(cd "$prefix" && pwd)
	rm -rf "$prefix/obj/mbedtls" && cp -R "$src/mbedtls" "$prefix/obj/mbedtls"
	# Our configuration replaces the default one in the build copy, so mbedTLS, libssh2 and
	# anything built on the installed headers see the same struct layouts.
	inc="$prefix/obj/mbedtls/include/mbedtls"
	mv "$inc/mbedtls_config.h" "$inc/mbedtls_config_default.h"
	cp "$TOOLS_DIR/mbedtls_config.h" "$inc/mbedtls_config.h"
	make -s -j"$JOBS" -C "$prefix/obj/mbedtls/library" CC="$cc" CFLAGS="$cflags" \
		libmbedcrypto.a >/dev/null
	cp "$prefix/obj/mbedtls/library/libmbedcrypto.a" "$prefix/lib/"
	cp -R "$prefix/obj/mbedtls/include/." "$prefix/include/"
	rm -rf "$prefix/obj/libssh2" && cp -R "$src/libssh2" "$prefix/obj/libssh2"
	(cd "$prefix/obj/libssh2" && CC="$cc" CFLAGS="$cflags" ./configure --quiet \
		--with-crypto=mbedtls --with-libmbedcrypto-prefix="$prefix" --without-libz \
		--disable-shared --enable-static --disable-examples-build --disable-sshd-tests \
		--disable-docker-tests --disable-debug --prefix="$prefix" >/dev/null)
	make -s -j"$JOBS" -C "$prefix/obj/libssh2/src" >/dev/null
	make -s -C "$prefix/obj/libssh2/src" install >/dev/null
	cp "$prefix"/obj/libssh2/include/*.h "$prefix/include/"
	echo "deps: built in $prefix with $cc"
}

# OpenSSH 10's sshd for the tests, the first time only: the upstream tarball of trixie's
# openssh source package (checked by apt, and pinned above), built without OpenSSL, zlib or
# PAM (its own Ed25519, X25519, ML-KEM and sntrup761 suffice), into BUILD/openssh10: sbin/sshd,
# libexec/sshd-session and sshd-auth. Debian's patches are left out: they need autoreconf,
# and none touches the key exchange. Missing build tools are installed when run as root.
cmd_openssh10() {
	mkdir -p "$1" "$2"
	build=$(cd "$1" && pwd) dl=$(cd "$2" && pwd)
	out=$build/openssh10
	if [ "$(cat "$out/.built" 2>/dev/null)" = "$OPENSSH_VER $OPENSSH_SHA256" ]; then
		echo "$out/sbin/sshd"
		return 0
	fi
	missing=""
	for t in cc:gcc make:make; do
		command -v "${t%%:*}" >/dev/null 2>&1 || missing="$missing ${t#*:}"
	done
	[ -f /usr/include/stdio.h ] || missing="$missing libc6-dev"
	if [ -n "$missing" ]; then
		[ "$(id -u)" = 0 ] || die "OpenSSH 10 needs:$missing"
		echo "deps: installing OpenSSH 10's build tools:$missing" >&2
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing </dev/null >/dev/null ||
			die "apt-get install$missing failed"
	fi
	SUITES=$OPENSSH_SUITE
	apt_setup "$build/apt-$OPENSSH_SUITE" || [ -f "$dl/$OPENSSH_TAR" ] ||
		die "apt-get update failed for $build/apt-$OPENSSH_SUITE/sources.list"
	if [ ! -f "$dl/$OPENSSH_TAR" ]; then
		rev=$(newest_rev openssh "$OPENSSH_VER")
		[ -n "$rev" ] || die "no openssh $OPENSSH_VER in $OPENSSH_SUITE any more: move the OpenSSH pin in tools/deps.sh"
		echo "deps: apt-get source openssh=$rev ($OPENSSH_SUITE, verified by apt)" >&2
		# shellcheck disable=SC2086
		(cd "$dl" && apt-get $APT_OPTS source --download-only "openssh=$rev" >/dev/null) ||
			die "apt-get source openssh=$rev failed"
	fi
	sha_check "$dl/$OPENSSH_TAR" "$OPENSSH_SHA256"
	rm -rf "$out" && mkdir -p "$out/src" "$out/sbin" "$out/libexec"
	tar -xzf "$dl/$OPENSSH_TAR" -C "$out/src" --strip-components=1
	echo "deps: building OpenSSH $OPENSSH_VER's sshd in $out (a few minutes, once)" >&2
	# /run/sshd is where Debian's sshd chroots its unprivileged child too (user sshd).
	(cd "$out/src" && ./configure --quiet --prefix="$out" --libexecdir="$out/libexec" \
		--without-openssl --without-zlib --with-privsep-path=/run/sshd >"$out/build.log" 2>&1 &&
		make -j"$JOBS" sshd sshd-session sshd-auth >>"$out/build.log" 2>&1) ||
		die "OpenSSH $OPENSSH_VER did not build: see $out/build.log"
	cp "$out/src/sshd" "$out/sbin/" && cp "$out/src/sshd-session" "$out/src/sshd-auth" "$out/libexec/"
	echo "$OPENSSH_VER $OPENSSH_SHA256" >"$out/.built"
	echo "$out/sbin/sshd"
}

# Run from a parallel make: its jobserver is not passed to us; our makes set their own -j.
unset MAKEFLAGS MFLAGS
JOBS=$(nproc 2>/dev/null || echo 2)
TOOLS_DIR=$(cd "$(dirname "$0")" && pwd)
PATCH_DIR=$(cd "$TOOLS_DIR/../patches" && pwd)
case "${1:-}" in
fetch) shift; cmd_fetch "$@" ;;
build) shift; cmd_build "$@" ;;
openssh10) shift; cmd_openssh10 "$@" ;;
*) die "usage: deps.sh fetch BUILD DL_DIR | build BUILD PREFIX CC CFLAGS | openssh10 BUILD DL_DIR" ;;
esac
