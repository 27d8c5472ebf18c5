#!/usr/bin/env bash
# bench/http.sh — `make bench-http`: `redirc serve` vs nginx (map + return
# 301, access log off) with the same synthetic rules, each server pinned to
# one core and driven by wrk pinned to the other, with a hit/miss mix from
# bench/lua/mix.lua. Prints requests/s, p50, p99 and memory for both, the
# ratios, the start-up time, and a reload under load for both.
#
# Environment (defaults in brackets):
#   BENCH_HTTP_RULES     rule count [1e6]
#   BENCH_HTTP_DURATION  length of one wrk run [10s]
#   BENCH_HTTP_RUNS      measured runs per server, interleaved [3]
#   BENCH_HTTP_CONNS     wrk connections [50]
#   BENCH_HTTP_HITS      percent of requests that hit a rule [50]
#   BENCH_HTTP_RELOAD    0 to skip the reload test [1]
#   BENCH_HTTP_ENGINES   0 to skip the engine comparison: `redirc serve
#                        --engine net/http`, `redirc serve --fallback DIR`
#                        (misses through the fallback), and the measuring
#                        prototypes of the candidate engines, each answering
#                        from redirc's runtime: bench/cmd/fastserve (fasthttp),
#                        bench/cmd/gnetserve (gnet/v2, a minimal hand-written
#                        reader) and bench/cmd/nbioserve (nbio's nbhttp) [1]
#   BENCH_HTTP_FEATURES  0 to skip the feature rows: `redirc serve
#                        --clicks DIR` (a click recorded per redirect) and
#                        `redirc serve --access-log FILE` (metrics are always
#                        on), each against plain `redirc serve` [1]
#   BENCH_SERVER_CPU, BENCH_CLIENT_CPU   cores for server and wrk [0, 1]
#   BENCH_DIR, BENCH_TIMEOUT             as in run.sh
#
# Binds 127.0.0.1 only; every run is bounded (wrk -d, timeouts on start-up
# and on every step); servers started here are stopped on exit.
set -euo pipefail

cd "$(dirname "$0")/.."
source bench/lib.sh
RULES=${BENCH_HTTP_RULES:-1e6}
DUR=${BENCH_HTTP_DURATION:-10s}
RUNS=${BENCH_HTTP_RUNS:-3}
CONNS=${BENCH_HTTP_CONNS:-50}
HITS=${BENCH_HTTP_HITS:-50}
RELOAD=${BENCH_HTTP_RELOAD:-1}
SCPU=${BENCH_SERVER_CPU:-0}
CCPU=${BENCH_CLIENT_CPU:-1}
PORT_REDIRC=${BENCH_PORT_REDIRC:-18081}
PORT_NGINX=${BENCH_PORT_NGINX:-18082}
PORT_FAST=${BENCH_PORT_FAST:-18083}
PORT_GNET=${BENCH_PORT_GNET:-18084}
PORT_NBIO=${BENCH_PORT_NBIO:-18085}
PORT_NETHTTP=${BENCH_PORT_NETHTTP:-18086}
PORT_FALLBACK=${BENCH_PORT_FALLBACK:-18087}
ENGINES=${BENCH_HTTP_ENGINES:-1}
FEATURES=${BENCH_HTTP_FEATURES:-1}
PORT_CLICKS=${BENCH_PORT_CLICKS:-18088}
PORT_LOGGED=${BENCH_PORT_LOGGED:-18089}
NPATHS=200000 # distinct request paths in the mix

install_missing time nginx:nginx-light wrk:wrk curl:curl taskset:util-linux
build_tools
prepare "$RULES"
d=$BENCH_DIR/data/n$RULES
w=$BENCH_DIR/http
rm -rf "$w"
mkdir -p "$w"
OUT=$RES/http.txt
: >"$OUT"
cat "$RES/machine.txt" >>"$OUT" 2>/dev/null || true

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT

# The request mix: HITS% sources of rules, the rest absent paths of the
# same shape, shuffled with a fixed random source (same file every time).
log "writing $NPATHS request paths ($HITS% hits)"
fixed() { yes 'redirc bench' | head -c 100000000; }
nh=$((NPATHS * HITS / 100))
nm=$((NPATHS - nh))
tail -n +2 "$d/rules.csv" | cut -d, -f1 | shuf -n "$nh" --random-source=<(fixed) >"$w/hits.txt"
# (awk stops by itself: a head(1) closing the pipe would fail the script
# under pipefail)
awk -F, -v max="$nm" 'NR == FNR { if (FNR > 1) seen[$1] = 1; next }
	FNR > 1 && !($1 in seen) { print $1; if (++c >= max) exit }' "$d/rules.csv" "$d/misses.csv" >"$w/misses.txt"
cat "$w/hits.txt" "$w/misses.txt" | shuf --random-source=<(fixed) >"$w/paths.txt"

# waitfor URL SECONDS: until URL answers anything over HTTP.
waitfor() {
	local url=$1 limit=$2 start=$SECONDS
	until [[ $(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" || true) != 000 ]]; do
		if ((SECONDS - start > limit)); then
			log "no answer from $url after ${limit}s"
			return 1
		fi
		sleep 0.05
	done
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# Each server serves a copy of the build / map, so that the reload test can
# replace it.
cp -r "$d/build" "$w/redirc-build"
for b in fast gnet nbio nethttp fallback clicks logged; do
	cp -r "$d/build" "$w/$b-build"
done
mkdir -p "$w/fallback-site"
echo "fallback" >"$w/fallback-site/index.html"
map=$(nginx_map "$RULES")
mkdir -p "$w/nginx/tmp"
cp "$map" "$w/nginx/map-a.conf"
ln -sfn map-a.conf "$w/nginx/map.conf"
NGINX_DAEMON=off bench/nginx-conf.sh "$w/nginx" "$w/nginx/map.conf" "$(num "$RULES")" "$PORT_NGINX" >"$w/nginx/nginx.conf"

log "starting redirc serve on core $SCPU (GOMAXPROCS=1)"
t0=$(now)
taskset -c "$SCPU" env GOMAXPROCS=1 "$BIN/redirc" serve --addr "127.0.0.1:$PORT_REDIRC" --log-level warn "$w/redirc-build" >"$w/redirc.log" 2>&1 &
rpid=$!
pids+=("$rpid")
waitfor "http://127.0.0.1:$PORT_REDIRC/.redirc/healthz" 300
echo "RESULT start server=redirc rules=$RULES seconds=$(elapsed "$t0")" | tee -a "$OUT" >&2

servers=(redirc)
# start_other NAME PORT CMD...: starts a compared server on core $SCPU
# with GOMAXPROCS=1 and GOGC=25 (as redirc serve sets it).
start_other() {
	local name=$1 port=$2 t0 p
	shift 2
	log "starting $name on core $SCPU (GOMAXPROCS=1)"
	t0=$(now)
	taskset -c "$SCPU" env GOMAXPROCS=1 GOGC=25 "$@" >"$w/$name.log" 2>&1 &
	p=$!
	pids+=("$p")
	eval "pid_${name//-/_}=$p"
	waitfor "http://127.0.0.1:$port/" 300
	echo "RESULT start server=$name rules=$RULES seconds=$(elapsed "$t0")" | tee -a "$OUT" >&2
	servers+=("$name")
}
if [[ $ENGINES == 1 ]]; then
	start_other redirc-nethttp "$PORT_NETHTTP" "$BIN/redirc" serve --engine net/http --addr "127.0.0.1:$PORT_NETHTTP" --log-level warn "$w/nethttp-build"
	start_other redirc-fallback "$PORT_FALLBACK" "$BIN/redirc" serve --fallback "$w/fallback-site" --addr "127.0.0.1:$PORT_FALLBACK" --log-level warn "$w/fallback-build"
	start_other proto-fasthttp "$PORT_FAST" "$BIN/fastserve" -addr "127.0.0.1:$PORT_FAST" "$w/fast-build"
	start_other proto-gnet "$PORT_GNET" "$BIN/gnetserve" -addr "127.0.0.1:$PORT_GNET" "$w/gnet-build"
	start_other proto-nbio "$PORT_NBIO" "$BIN/nbioserve" -addr "127.0.0.1:$PORT_NBIO" "$w/nbio-build"
fi
if [[ $FEATURES == 1 ]]; then
	mkdir -p "$w/clicks"
	start_other redirc-clicks "$PORT_CLICKS" "$BIN/redirc" serve --clicks "$w/clicks" --addr "127.0.0.1:$PORT_CLICKS" --log-level warn "$w/clicks-build"
	start_other redirc-logged "$PORT_LOGGED" "$BIN/redirc" serve --access-log "$w/access.log" --addr "127.0.0.1:$PORT_LOGGED" --log-level warn "$w/logged-build"
fi
servers+=(nginx)

log "starting nginx on core $SCPU (worker_processes 1)"
t0=$(now)
taskset -c "$SCPU" "$(nginx_bin)" -p "$w/nginx" -c "$w/nginx/nginx.conf" 2>>"$w/nginx/error.log" &
npid=$!
pids+=("$npid")
waitfor "http://127.0.0.1:$PORT_NGINX/" 600
echo "RESULT start server=nginx rules=$RULES seconds=$(elapsed "$t0")" | tee -a "$OUT" >&2

# Check that redirc and nginx give the same answers on a sample.
log "checking that redirc and nginx agree on 200 sample paths"
while read -r p; do
	a=$(curl -s -o /dev/null -w '%{redirect_url}' "http://127.0.0.1:$PORT_REDIRC$p")
	b=$(curl -s -o /dev/null -w '%{redirect_url}' "http://127.0.0.1:$PORT_NGINX$p")
	# nginx answers every mapped rule 301 (and 404 for 410 rules, which
	# have no destination): compare the destinations, which curl resolves
	# against each server's own address.
	a=${a#"http://127.0.0.1:$PORT_REDIRC"} b=${b#"http://127.0.0.1:$PORT_NGINX"}
	if [[ $a != "$b" ]]; then
		log "servers disagree on $p: redirc '$a', nginx '$b'"
		exit 1
	fi
done < <(head -n 200 "$w/paths.txt")

# mem PID...: the proportional set size of the processes, in kB (RSS with
# pages shared between nginx's master and worker counted once), and the
# RSS of the first.
mem() {
	local p pss=0 v
	for p in "$@"; do
		v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
		pss=$((pss + v))
	done
	echo "$pss $(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status")"
}
nginx_procs() { echo "$npid $(pgrep -P "$npid" | tr '\n' ' ')"; }

# wrkrun URL SECONDS: one bounded wrk run; prints "rps p50_ms p99_ms max_ms errors".
wrkrun() {
	local url=$1 dur=$2 out
	out=$(timeout --kill-after=10s $((${dur%s} + 30)) taskset -c "$CCPU" wrk -t1 -c"$CONNS" -d"$dur" --timeout 5s --latency \
		-s bench/lua/mix.lua "$url" -- "$w/paths.txt")
	echo "$out" >>"$w/wrk.log"
	echo "$out" | awk '
		function ms(v) { if (v ~ /us$/) return v * 0.001; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		/^ +Latency +[0-9]/ { max = ms($4) }
		/^ +50% / { p50 = ms($2) }
		/^ +99% / { p99 = ms($2) }
		/^Requests\/sec:/ { rps = $2 }
		/Socket errors:/ { gsub(/,/, ""); err = $4 + $6 + $8 + $10 }
		END { printf "%s %s %s %s %d\n", rps, p50, p99, max + 0, err + 0 }'
}

# server_port NAME, server_procs NAME
server_port() {
	case $1 in
	redirc) echo "$PORT_REDIRC" ;;
	redirc-nethttp) echo "$PORT_NETHTTP" ;;
	redirc-fallback) echo "$PORT_FALLBACK" ;;
	redirc-clicks) echo "$PORT_CLICKS" ;;
	redirc-logged) echo "$PORT_LOGGED" ;;
	proto-fasthttp) echo "$PORT_FAST" ;;
	proto-gnet) echo "$PORT_GNET" ;;
	proto-nbio) echo "$PORT_NBIO" ;;
	nginx) echo "$PORT_NGINX" ;;
	esac
}
server_procs() {
	case $1 in
	redirc) echo "$rpid" ;;
	nginx) nginx_procs ;;
	*) local v="pid_${1//-/_}" && echo "${!v}" ;;
	esac
}

log "warming up every server (${DUR} each)"
for s in "${servers[@]}"; do
	wrkrun "http://127.0.0.1:$(server_port "$s")" "$DUR" >/dev/null
done

declare -A base_p99
for run in $(seq "$RUNS"); do
	for s in "${servers[@]}"; do
		port=$(server_port "$s") procs=$(server_procs "$s")
		read -r rps p50 p99 max err < <(wrkrun "http://127.0.0.1:$port" "$DUR")
		# shellcheck disable=SC2086
		read -r pss rss < <(mem $procs)
		echo "RESULT http server=$s rules=$RULES run=$run rps=$rps p50_ms=$p50 p99_ms=$p99 max_ms=$max errors=$err rss_kb=$pss first_rss_kb=$rss conns=$CONNS hits=$HITS" | tee -a "$OUT" >&2
		base_p99[$s]="${base_p99[$s]:-} $p99"
	done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

if [[ $RELOAD == 1 ]]; then
	# Build B: the same rules plus one probe rule, so that "new answers"
	# can be seen from outside.
	bd=$d/build-b
	if [[ ! -f $bd/.complete ]]; then
		log "building the reload build (rules + 1)"
		rm -rf "$bd"
		{ cat "$d/rules.csv"; echo "/zz-reload-probe,/reloaded,301,false"; } >"$d/rules-b.csv"
		bounded "$BIN/redirc" build -o "$bd" "$d/rules-b.csv" >/dev/null
		touch "$bd/.complete"
	fi
	cp "$map" "$w/nginx/map-b.conf"
	echo '"/zz-reload-probe" "/reloaded";' >>"$w/nginx/map-b.conf"
	rdur=$((${DUR%s} * 3))
	for s in redirc nginx; do
		port=$(server_port "$s")
		log "reload under load: $s (wrk ${rdur}s, new build after ${DUR})"
		wrkrun "http://127.0.0.1:$port" "${rdur}s" >"$w/reload-$s.txt" &
		wpid=$!
		sleep "${DUR%s}"
		t0=$(now)
		if [[ $s == redirc ]]; then
			# As redirc build does: new shard files first, then the index
			# renamed into place.
			cp -n "$bd"/*.rdx "$w/redirc-build/"
			cp "$bd/index.json" "$w/redirc-build/.index.json.tmp"
			mv "$w/redirc-build/.index.json.tmp" "$w/redirc-build/index.json"
		else
			ln -sfn map-b.conf "$w/nginx/map.conf"
			kill -HUP "$npid"
		fi
		start=$SECONDS
		until [[ $(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/zz-reload-probe") == 301 ]]; do
			if ((SECONDS - start > 600)); then
				log "$s did not serve the new build within 600s"
				break
			fi
			sleep 0.01
		done
		sw=$(elapsed "$t0")
		wait "$wpid" || true
		read -r rps p50 p99 max err <"$w/reload-$s.txt"
		echo "RESULT reload server=$s rules=$RULES switch_s=$sw rps=$rps p99_ms=$p99 max_ms=$max base_p99_ms=$(echo "${base_p99[$s]}" | median) errors=$err" | tee -a "$OUT" >&2
	done
fi

"$BIN/benchtab" "$OUT" | tee "$RES/http.md"
log "raw results in $OUT and $w/wrk.log"
