#!/usr/bin/env bash
# bench/run.sh — `make bench`: redirc side by side with its peers, same
# machine, same run, printed as tables of medians and ratios.
#
#   1. Lookup (hit, miss, 50/50 mix; serial and RunParallel) and memory per
#      rule: redirc vs map[string]string, sort.SearchStrings, colinmarc/cdb.
#   2. Open: time from nothing to the first answer.
#   3. Build: rules/s, CPU time and peak RSS of `redirc build` from CSV,
#      vs cdb's build and `nginx -t` with the same rules as a map.
#
# Environment (defaults in brackets):
#   BENCH_SIZES        rule counts for lookup and memory [1e3,1e5,1e6,1e7]
#   BENCH_OPEN_SIZES   rule counts for open [1e6,1e7, those in BENCH_SIZES]
#   BENCH_BUILD_SIZES  rule counts for build [1e5,1e6,1e7, those in BENCH_SIZES]
#                      (set one empty to skip that table; its previous
#                      results in $BENCH_DIR/results are kept and printed)
#   BENCH_COUNT        repetitions of each Go benchmark [5]
#   BENCH_TIME         -benchtime of each run [1s]
#   BENCH_DIR          data and results [/tmp/redirc-bench]; data sets are
#                      generated once and reused
#   BENCH_NGINX        0 to skip the nginx build peer [1]
#   BENCH_TIMEOUT      bound on any one step [30m]
#
# Needs Go, awk and GNU time (/usr/bin/time; installed with apt-get when
# missing, like nginx-light). Every step is bounded by timeout(1).
set -euo pipefail

cd "$(dirname "$0")/.."
source bench/lib.sh
BENCH_SIZES=${BENCH_SIZES:-1e3,1e5,1e6,1e7}
BENCH_COUNT=${BENCH_COUNT:-5}
BENCH_TIME=${BENCH_TIME:-1s}
BENCH_NGINX=${BENCH_NGINX:-1}

# sizes in A that are also in B (order of A)
intersect() { local a b out=(); for a in ${1//,/ }; do for b in ${2//,/ }; do [[ $a == "$b" ]] && out+=("$a"); done; done; local IFS=,; echo "${out[*]}"; }
BENCH_OPEN_SIZES=${BENCH_OPEN_SIZES-$(intersect 1e6,1e7 "$BENCH_SIZES")}
BENCH_BUILD_SIZES=${BENCH_BUILD_SIZES-$(intersect 1e5,1e6,1e7 "$BENCH_SIZES")}

need_pkgs=()
[[ -x /usr/bin/time ]] || need_pkgs+=(time)
[[ $BENCH_NGINX == 1 ]] && need_pkgs+=(nginx:nginx-light)
install_missing "${need_pkgs[@]}"
build_tools

# hostinfo: the machine, for the README.
{
	echo "MACHINE cpu=\"$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)\" cores=$(nproc) mem=\"$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)\" go=\"$($GO env GOVERSION)\" load=\"$(cut -d' ' -f1-3 /proc/loadavg)\" date=\"$(date -u +%Y-%m-%dT%H:%MZ)\""
} >"$RES/machine.txt"

[[ -z $BENCH_SIZES ]] || : >"$RES/lookup.txt"
for s in ${BENCH_SIZES//,/ }; do
	prepare "$s"
	log "lookup and memory, $s rules ($BENCH_COUNT x $BENCH_TIME per benchmark)"
	BENCH_DATA=$BENCH_DIR/data/n$s BENCH_LABEL=n=$s bounded "$BIN/bench.test" -test.run '^$' \
		-test.bench 'Lookup|Memory' -test.count "$BENCH_COUNT" -test.benchtime "$BENCH_TIME" -test.benchmem \
		-test.timeout 0 | tee -a "$RES/lookup.txt" | grep -E '^(Benchmark|ok|FAIL|---)' >&2 || true
done

[[ -z $BENCH_OPEN_SIZES ]] || : >"$RES/open.txt"
for s in ${BENCH_OPEN_SIZES//,/ }; do
	prepare "$s"
	log "open, $s rules"
	# One iteration per run (opening 1e7 rules takes seconds); -count
	# gives the repetitions.
	BENCH_DATA=$BENCH_DIR/data/n$s BENCH_LABEL=n=$s bounded "$BIN/bench.test" -test.run '^$' \
		-test.bench 'Open' -test.count "$(((BENCH_COUNT + 1) / 2 + 1))" -test.benchtime 1x -test.benchmem \
		-test.timeout 0 | tee -a "$RES/open.txt" | grep -E '^(Benchmark|ok|FAIL|---)' >&2 || true
done

# timed LABEL SIZE PEER CMD...: runs CMD under GNU time and records wall,
# CPU and peak RSS.
timed() {
	local size=$1 peer=$2 tf
	shift 2
	tf=$(mktemp)
	if bounded /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >/dev/null 2>"$tf.err"; then
		read -r wall user sys rss <"$tf"
		echo "RESULT build size=$size peer=$peer rules=$(num "$size") wall=$wall user=$user sys=$sys rss_kb=$rss" | tee -a "$RES/build.txt" >&2
	else
		log "$peer at $size failed: $(tail -3 "$tf.err")"
		echo "RESULT build size=$size peer=$peer rules=$(num "$size") failed=1" >>"$RES/build.txt"
	fi
	rm -f "$tf" "$tf.err"
}

[[ -z $BENCH_BUILD_SIZES ]] || : >"$RES/build.txt"
for s in ${BENCH_BUILD_SIZES//,/ }; do
	prepare "$s"
	d=$BENCH_DIR/data/n$s
	log "build, $s rules"
	rm -rf "$d/build.timed" "$d/timed.cdb"
	timed "$s" redirc "$BIN/redirc" build -o "$d/build.timed" "$d/rules.csv"
	rm -rf "$d/build.timed"
	timed "$s" cdb "$BIN/cdbmake" "$d/rules.csv" "$d/timed.cdb"
	rm -f "$d/timed.cdb"
	if [[ $BENCH_NGINX == 1 ]]; then
		ng=$d/nginx
		map=$(nginx_map "$s")
		"$ROOT/bench/nginx-conf.sh" "$ng" "$map" "$(num "$s")" 18099 >"$ng/nginx.conf"
		timed "$s" nginx "$(nginx_bin)" -t -q -p "$ng" -c "$ng/nginx.conf"
	fi
done

"$BIN/benchtab" "$RES/machine.txt" "$RES/lookup.txt" "$RES/open.txt" "$RES/build.txt" | tee "$RES/tables.md"
log "raw results in $RES (benchstat-compatible: $RES/lookup.txt)"
