# Helpers for the fleet suites: a private Prometheus and node_exporter on
# loopback ports the kernel picks (":0", read back with ss, so parallel
# suites never collide), private data dirs, stopped by pid. Source after
# common.sh.
#   fl_metrics_daemon [faultlined.conf lines...]  faultlined with the endpoint on a free port; sets FL_METRICS
#   fl_start_node_exporter DIR                     textfile collector only; sets FL_NODE
#   fl_start_prometheus TARGET_JOB=ADDR...         sets FL_PROM (host:port)
#   fl_prom_query PROMQL                           the result vector as JSON
#   fl_prom_value PROMQL [TIMEOUT_S]               waits until the query has a value, prints it

# fl_stop_pid PID: TERM, then KILL after 5 s; reaps it.
fl_stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# fl_listen_addr PID: the first TCP address PID listens on (waits up to 20 s).
fl_listen_addr() {
	local pid=$1 i a
	for i in $(seq 1 200); do
		a=$(ss -Hltnp 2>/dev/null | awk -v p="pid=$pid," 'index($0, p) {print $4; exit}')
		if [ -n "$a" ]; then
			echo "$a"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

fl_metrics_daemon() {
	local line
	{
		echo "[metrics]"
		echo "listen = 127.0.0.1:0"
		for line in "$@"; do echo "$line"; done
	} >"$FL_TMP/faultlined.conf"
	fl_start_daemon --config "$FL_TMP/faultlined.conf"
	FL_METRICS=$(fl_json status | jq -r .metrics.listen)
	case $FL_METRICS in
	127.0.0.1:[1-9]*) ;;
	*)
		echo "Bail out! the metrics endpoint did not start (status says '$FL_METRICS')"
		exit 1
		;;
	esac
}

fl_start_node_exporter() {
	prometheus-node-exporter --web.listen-address=127.0.0.1:0 --collector.disable-defaults \
		--collector.textfile --collector.textfile.directory="$1" >"$FL_TMP/node_exporter.log" 2>&1 &
	FL_NODE_PID=$!
	FL_CLEANUPS+=("fl_stop_pid $FL_NODE_PID")
	FL_NODE=$(fl_listen_addr "$FL_NODE_PID") || {
		echo "Bail out! node_exporter did not start:"
		sed 's/^/# /' "$FL_TMP/node_exporter.log"
		exit 1
	}
}

# fl_start_prometheus JOB=ADDR...: scrapes every second, evaluates the shipped
# alert rules every second.
fl_start_prometheus() {
	local t dir=$FL_TMP/prometheus
	mkdir -p "$dir/data"
	cp "$FL_ROOT/docs/prometheus/faultline-alerts.yml" "$dir/"
	{
		echo "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}"
		echo "rule_files: [faultline-alerts.yml]"
		echo "scrape_configs:"
		for t in "$@"; do
			echo "  - job_name: ${t%%=*}"
			echo "    static_configs: [{targets: ['${t#*=}']}]"
		done
	} >"$dir/prometheus.yml"
	prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
		--web.listen-address=127.0.0.1:0 --log.level=warn >"$FL_TMP/prometheus.log" 2>&1 &
	FL_PROM_PID=$!
	FL_CLEANUPS+=("fl_stop_pid $FL_PROM_PID")
	FL_PROM=$(fl_listen_addr "$FL_PROM_PID") || {
		echo "Bail out! prometheus did not start:"
		sed 's/^/# /' "$FL_TMP/prometheus.log"
		exit 1
	}
}

fl_prom_query() {
	curl -sf --max-time 5 "http://$FL_PROM/api/v1/query" --data-urlencode "query=$1" | jq -c '.data.result'
}

fl_prom_value() {
	local q=$1 t=${2:-30} i v
	for i in $(seq 1 $((t * 5))); do
		v=$(fl_prom_query "$q" | jq -r '.[0].value[1] // empty' 2>/dev/null)
		if [ -n "$v" ]; then
			echo "$v"
			return 0
		fi
		sleep 0.2
	done
	echo "# no value for $q after ${t}s" >&2
	return 1
}
