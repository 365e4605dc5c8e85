# A real systemd as PID 1 of a private PID + mount + cgroup namespace, for
# the service suites. Source after common.sh, then:
#   sd_boot                 boot it (--unit=basic.target); sets SD_PID
#   sd CMD...               run CMD inside (nsenter -m -p -C), e.g. sd systemctl ...
#   sd_wait TIMEOUT CMD...  poll CMD inside until it succeeds
# What it changes stays inside: /run, /tmp and /var/tmp are fresh tmpfs;
# /etc, /usr/local, /var/lib, /var/log, /var/spool and /home are overlays
# whose writes land in a tmpfs, so `make install`, systemd-sysusers and test
# users never touch the machine's files; its cgroups are sub-cgroups of the
# test's own, removed at the end. It is ended with SIGKILL to its pid from
# outside.
SD_PID=
SD_UNSHARE_PID=

sd_can_boot() {
	[ -x /lib/systemd/systemd ] || { echo "no /lib/systemd/systemd"; return 1; }
	command -v unshare >/dev/null && command -v nsenter >/dev/null || { echo "no unshare/nsenter"; return 1; }
	grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
	grep -qw overlay /proc/filesystems || { echo "no overlayfs (needed to keep /etc private)"; return 1; }
	return 0
}

# Runs inside the new namespaces (PID, mount, cgroup), as their PID 1 until
# it execs systemd. SD_CG_MOUNTS lists "mountpoint options" pairs of the
# machine's cgroup v1 hierarchies; they are mounted afresh so that, inside
# the cgroup namespace, systemd's root is the test's own sub-cgroup.
SD_INIT='
set -e
mount --make-rprivate /
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
for d in /etc /usr/local /var/lib /var/log /var/spool /home; do
	n=$(echo "$d" | tr / _)
	mkdir -p /var/tmp/.ov/$n/u /var/tmp/.ov/$n/w
	mount -t overlay overlay -o "lowerdir=$d,upperdir=/var/tmp/.ov/$n/u,workdir=/var/tmp/.ov/$n/w" "$d"
done
mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
echo "$SD_CG_MOUNTS" | while read -r mp opts; do
	[ -n "$mp" ] || continue
	mkdir -p "$mp"
	if [ "$opts" = cgroup2 ]; then mount -t cgroup2 cgroup2 "$mp"; else mount -t cgroup -o "$opts" cgroup "$mp"; fi
done
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
exec /lib/systemd/systemd --system --unit=basic.target
'

# A sub-cgroup of the current one in every hierarchy, so that two systemd
# instances (this suite's and another's) never share a cgroup tree, and the
# machine's hierarchies get nothing but these directories, removed at the end.
SD_CG_DIRS=()
SD_CG_MOUNTS=
sd_make_cgroups() {
	local name=faultline-sd-$$ dev mp type opts rest ctl cur dir
	while read -r dev mp type opts rest; do
		case $type in
		cgroup)
			# the options that name the hierarchy: controllers or name=
			ctl=$(tr , '\n' <<<"$opts" | grep -vE '^(rw|ro|relatime|nosuid|nodev|noexec|clone_children|xattr)$' | paste -sd,)
			cur=$(awk -F: -v c="$ctl" '$2 == c {print $3}' /proc/self/cgroup)
			SD_CG_MOUNTS+="$mp $ctl"$'\n'
			;;
		cgroup2)
			cur=$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)
			SD_CG_MOUNTS+="$mp cgroup2"$'\n'
			;;
		*) continue ;;
		esac
		dir=$mp${cur%/}/$name
		mkdir -p "$dir" && SD_CG_DIRS+=("$dir")
	done </proc/self/mounts
}

sd_boot() {
	sd_make_cgroups
	FL_CLEANUPS+=("sd_kill")
	SD_CG_MOUNTS=$SD_CG_MOUNTS bash -c 'for d in "${@:2}"; do echo $$ >"$d/cgroup.procs"; done
		exec unshare --cgroup --pid --fork --mount --mount-proc bash -c "$1"' _ "$SD_INIT" "${SD_CG_DIRS[@]}" \
		>"$FL_TMP/systemd.console" 2>&1 &
	SD_UNSHARE_PID=$!
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

sd() { nsenter -t "$SD_PID" -m -p -C "$@"; }

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
	local d i
	[ -n "$SD_PID" ] && kill -KILL "$SD_PID" 2>/dev/null
	[ -n "$SD_UNSHARE_PID" ] && wait "$SD_UNSHARE_PID" 2>/dev/null
	SD_PID=
	# The namespace's processes die with its PID 1; then its cgroups are
	# empty and go, deepest first.
	for i in $(seq 1 20); do
		for d in "${SD_CG_DIRS[@]}"; do
			[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
		done
		for d in "${SD_CG_DIRS[@]}"; do [ -d "$d" ] && break; done
		[ -d "$d" ] || return 0
		sleep 0.1
	done
	echo "# could not remove all of: ${SD_CG_DIRS[*]}"
	return 0
}
