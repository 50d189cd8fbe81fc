# deps.sh - the Debian packages the build, the tests and the demo need,
# installed when missing (sourced by scripts/test and scripts/demo).

DEPS_PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	libmilter-dev libc-ares-dev libcmocka-dev
	miltertest postfix swaks nsd dnsmasq-base procps sasl2-bin libsasl2-modules
	libwrap0 m4 iproute2 valgrind libhiredis-dev redis-server redis-tools
	postgrey libidn12 libgnutls-dane0
	debhelper dpkg-dev fakeroot lintian systemd
)

# deps_install - apt-get install whatever is not installed yet
deps_install() {
	local missing=() p
	for p in "${DEPS_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
			|| missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages: ${missing[*]} (run as root to install them)" >&2
		return 1
	fi
	echo "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
