# deps.sh - the Debian packages the build, the tests and the demo need,
# installed when missing (sourced by scripts/test and scripts/demo).

DEPS_PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	libmilter-dev libc-ares-dev libcmocka-dev
	miltertest postfix swaks nsd dnsmasq-base procps sasl2-bin libsasl2-modules
	libwrap0 m4 iproute2 valgrind libhiredis-dev redis-server redis-tools
	postgrey libidn12 libgnutls-dane0
	python3 curl prometheus-node-exporter rspamd
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
	# The tests start every daemon they use on ports of their own: keep the
	# packages' init scripts (postfix, redis, rspamd, node_exporter) from
	# starting system instances, unless the machine already has a policy.
	local policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
	fi
	local rc=0
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
	[ -z "$policy" ] || rm -f "$policy"
	return $rc
}
