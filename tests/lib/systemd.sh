# A real systemd as PID 1 of a private PID + mount namespace, for the
# service suites. Source after common.sh, then:
#   sd_boot                 boot it (--unit=basic.target); sets SD_PID
#   sd CMD...               run CMD inside (nsenter -m -p), e.g. sd systemctl ...
#   sd_wait DESC TIMEOUT CMD...   poll CMD inside until it succeeds
# What it changes stays inside: /run, /tmp and /var/tmp are fresh tmpfs, and
# /etc, /usr/local, /var/lib and /var/log are overlays whose writes land in a
# tmpfs. So `make install`, systemd-sysusers and test users never touch the
# machine's files. It is ended with SIGKILL to its pid from outside.
SD_PID=
SD_UNSHARE_PID=

sd_can_boot() {
	[ -x /lib/systemd/systemd ] || { echo "no /lib/systemd/systemd"; return 1; }
	command -v unshare >/dev/null && command -v nsenter >/dev/null || { echo "no unshare/nsenter"; return 1; }
	grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
	grep -qw overlay /proc/filesystems || { echo "no overlayfs (needed to keep /etc private)"; return 1; }
	return 0
}

# Runs inside the new namespaces, as their PID 1 until it execs systemd.
SD_INIT='
set -e
mount --make-rprivate /
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
for d in /etc /usr/local /var/lib /var/log; do
	n=$(echo "$d" | tr / _)
	mkdir -p /var/tmp/.ov/$n/u /var/tmp/.ov/$n/w
	mount -t overlay overlay -o "lowerdir=$d,upperdir=/var/tmp/.ov/$n/u,workdir=/var/tmp/.ov/$n/w" "$d"
done
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
exec /lib/systemd/systemd --system --unit=basic.target
'

sd_boot() {
	unshare --pid --fork --mount --mount-proc bash -c "$SD_INIT" >"$FL_TMP/systemd.console" 2>&1 &
	SD_UNSHARE_PID=$!
	FL_CLEANUPS+=("sd_kill")
	local i state
	for i in $(seq 1 100); do
		SD_PID=$(pgrep -P "$SD_UNSHARE_PID" 2>/dev/null | head -1)
		if [ -n "$SD_PID" ] && [ "$(cat /proc/$SD_PID/comm 2>/dev/null)" = systemd ]; then
			state=$(sd systemctl is-system-running 2>/dev/null)
			case $state in running | degraded) return 0 ;; esac
		fi
		sleep 0.2
	done
	echo "# systemd did not come up (state '${state:-}'):"
	sed 's/^/# /' "$FL_TMP/systemd.console" | tail -20
	return 1
}

sd() { nsenter -t "$SD_PID" -m -p "$@"; }

# sd_wait TIMEOUT_S CMD...: polls CMD inside the namespace.
sd_wait() {
	local t=$1 i
	shift
	for i in $(seq 1 $((t * 10))); do
		if sd "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	return 1
}

sd_kill() {
	[ -n "$SD_PID" ] && kill -KILL "$SD_PID" 2>/dev/null
	[ -n "$SD_UNSHARE_PID" ] && wait "$SD_UNSHARE_PID" 2>/dev/null
	# Its cgroups live in the machine's hierarchies; remove the ones the
	# tests created, now empty.
	local d
	for d in /sys/fs/cgroup/*/system.slice/faultlined.service /sys/fs/cgroup/*/system.slice/fl-oom-victim.service; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	SD_PID=
	return 0
}
