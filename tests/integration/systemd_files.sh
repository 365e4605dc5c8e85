#!/usr/bin/env bash
# fl-suite: no-sanitize checks what `make install` ships and runs the daemon with exactly the unit's capabilities (the plain pass covers it)
# The service's files without booting systemd: the daemon's own peer check
# (a socket with loose permissions still refuses strangers), make install
# with DESTDIR and PREFIX, the default config and man page covering every
# key, man pages that render cleanly, bash completion.
. "$(dirname "$0")/../lib/common.sh"

# --- the peer check behind the socket's mode --------------------------------
fl_start_daemon
chmod 755 "$FL_TMP"
chmod 666 "$FL_SOCK" # as if someone loosened it: the daemon must still refuse
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$FL_BUILD/faultline" --socket "$FL_SOCK" "$@"; }
out=$(nobody status 2>&1)
check_eq "uid 65534 on a world-writable socket: refused by the daemon, exit 4" 4 $?
check_cmd "the sentence names the uid and the group to join ($out)" grep -q "uid 65534 may not query faultlined.*'faultline' group" <<<"$out"
check_eq "--json: error code denied" denied "$(nobody --json status 2>/dev/null | jq -r .error.code)"
check_cmd "root still gets answers" fl status >/dev/null
check_cmd "the daemon logged the refusal" grep -q 'refusing queries from uid 65534' "$FL_TMP/daemon.log"
fl_stop_daemon

# --- the unit's capability set is enough, and needed ---------------------------
# The unit runs it as a non-root user with CAP_BPF CAP_PERFMON
# CAP_DAC_READ_SEARCH only; run it that way here, on the host's whole process
# table, and check that it still reads root's processes (cmdline, cgroup).
mkdir -p "$FL_TMP/u"
chown 65534:65534 "$FL_TMP/u"
unpriv() {
	local caps=$1
	shift
	exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps="$caps" --ambient-caps="$caps" \
		"$FL_BUILD/faultlined" --foreground --socket "$FL_TMP/u/s.sock" --state-dir "$FL_TMP/u/state" \
		--interval 250ms "$@"
}
unpriv +bpf,+perfmon,+dac_read_search >"$FL_TMP/unpriv.log" 2>&1 &
upid=$!
FL_SPAWNED+=("$upid")
for i in $(seq 1 50); do
	"$FL_BUILD/faultline" --socket "$FL_TMP/u/s.sock" status >/dev/null 2>&1 && break
	sleep 0.1
done
shown=$("$FL_BUILD/faultline" --json --socket "$FL_TMP/u/s.sock" show $$ 2>&1)
check_eq "as uid 65534 with the unit's 3 capabilities: this root shell with its cmdline" \
	"$(tr '\0' ' ' </proc/$$/cmdline | sed 's/ $//')" "$(jq -r .cmdline <<<"$shown" 2>/dev/null)"
check_eq "and its cgroup" "$(awk -F: '$2 == "memory" {print $3}' /proc/$$/cgroup)" "$(jq -r .cgroup <<<"$shown" 2>/dev/null)"
kill -TERM "$upid"
wait "$upid" 2>/dev/null
out=$(unpriv +bpf,+perfmon 2>&1)
check_eq "without CAP_DAC_READ_SEARCH it refuses to start (exit 1)" 1 $?
check_cmd "saying tracefs is not readable ($out)" grep -q 'tracefs at /sys/kernel/tracing is not readable' <<<"$out"

# --- make install DESTDIR= PREFIX= -------------------------------------------
dest=$FL_TMP/root
make -s -C "$FL_ROOT" BUILD="$FL_BUILD" install DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1
check_eq "make install DESTDIR PREFIX=/usr" 0 $?
want="etc/faultline/faultlined.conf
usr/bin/faultline
usr/lib/systemd/system/faultlined.service
usr/lib/systemd/system/faultlined.socket
usr/lib/sysusers.d/faultline.conf
usr/lib/tmpfiles.d/faultline.conf
usr/sbin/faultlined
usr/share/bash-completion/completions/faultline
usr/share/doc/faultline/faultlined-metrics.conf
usr/share/doc/faultline/faultlined.conf.default
usr/share/doc/faultline/prometheus/faultline-alerts.test.yml
usr/share/doc/faultline/prometheus/faultline-alerts.yml
usr/share/doc/faultline/prometheus/prometheus.yml
usr/share/man/man1/faultline.1
usr/share/man/man5/faultlined.conf.5
usr/share/man/man8/faultlined.8"
check_eq "the installed tree" "$want" "$(cd "$dest" && find . -type f | sed 's|^\./||' | sort)"
check_cmd "ExecStart points at PREFIX/sbin" grep -q '^ExecStart=/usr/sbin/faultlined --foreground' "$dest/usr/lib/systemd/system/faultlined.service"
check_cmd "no /usr/local left in the unit" sh -c "! grep -q /usr/local '$dest/usr/lib/systemd/system/faultlined.service'"
echo '# mine' >>"$dest/etc/faultline/faultlined.conf"
make -s -C "$FL_ROOT" BUILD="$FL_BUILD" install DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1
check_cmd "an existing config is never overwritten" grep -q '^# mine' "$dest/etc/faultline/faultlined.conf"

# --- the config: every key shipped and documented, defaults that parse ------
keys=$(sed -n 's/^[[:space:]]*{ "\([a-z]*\)", "\([a-z_]*\)", K_.*/\1.\2/p' "$FL_ROOT/daemon/config.c")
check_ge "keys found in daemon/config.c" 9 "$(wc -l <<<"$keys")"
missing_conf= missing_man=
for k in $keys; do
	grep -q "^#${k#*.} = " "$FL_ROOT/systemd/faultlined.conf" || missing_conf="$missing_conf $k"
	grep -q "^\.BR ${k#*.} " "$FL_ROOT/docs/man/faultlined.conf.5" || missing_man="$missing_man $k"
done
check_eq "every key is in systemd/faultlined.conf with its default" "" "$missing_conf"
check_eq "every key is documented in faultlined.conf(5)" "" "$missing_man"
check_cmd "the shipped config passes --check-config" "$FL_BUILD/faultlined" --check-config -c "$FL_ROOT/systemd/faultlined.conf"
printf '[daemon]\ninterval = 2s\nintervall = 3s\n' >"$FL_TMP/bad.conf"
out=$("$FL_BUILD/faultlined" --check-config -c "$FL_TMP/bad.conf" 2>&1)
check_eq "a bad key: --check-config exits 2" 2 $?
check_cmd "and names file:line ($out)" grep -q "bad.conf:3: unknown key 'intervall'" <<<"$out"

# --- man pages ----------------------------------------------------------------
for m in faultline.1 faultlined.8 faultlined.conf.5; do
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$FL_ROOT/docs/man/$m" 2>&1 >/dev/null)
	check_eq "man $m renders without warnings" "" "$w"
done

# --- bash completion ------------------------------------------------------------
# A stand-in for bash-completion's _init_completion, so the function can be
# driven without the package.
comp() {
	bash -c '
		_init_completion() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
		_filedir() { :; }
		complete() { :; }
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_faultline
		echo "${COMPREPLY[*]}"' _ "$FL_ROOT/cli/faultline.bash" "$@"
}
check_eq "completes commands from --help" status "$(comp "$FL_BUILD/faultline" st)"
check_eq "after --json too" "top" "$(comp "$FL_BUILD/faultline" --json to)"
check_eq "top --sort keys" "minflt-rate majflt-rate" "$(comp "$FL_BUILD/faultline" top --sort m)"
check_eq "show completes pids (this shell)" "$$" "$(comp "$FL_BUILD/faultline" show "$$" | tr ' ' '\n' | grep -x "$$")"
fl_done
