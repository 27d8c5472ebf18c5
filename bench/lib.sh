# bench/lib.sh: shared by run.sh and http.sh (sourced from the repository
# root).
ROOT=$PWD
GO=${GO:-go}
BENCH_DIR=${BENCH_DIR:-/tmp/redirc-bench}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-30m}
BIN=$BENCH_DIR/bin
RES=$BENCH_DIR/results
mkdir -p "$BIN" "$RES"

num() { awk -v s="$1" 'BEGIN { printf "%d", s + 0 }'; }
log() { printf '== %s\n' "$*" >&2; }
bounded() { timeout --kill-after=30s "$BENCH_TIMEOUT" "$@"; }

# install_missing CMD[:PACKAGE]...: apt-get installs the packages whose
# command is missing (GNU time is looked for as /usr/bin/time).
install_missing() {
	local spec cmd pkg pkgs=()
	for spec in "$@"; do
		cmd=${spec%%:*} pkg=${spec#*:}
		if [[ $cmd == time ]]; then
			[[ -x /usr/bin/time ]] && continue
		elif command -v "$cmd" >/dev/null || [[ -x /usr/sbin/$cmd ]]; then
			continue
		fi
		pkgs+=("$pkg")
	done
	((${#pkgs[@]})) || return 0
	log "installing ${pkgs[*]} with apt-get"
	local sudo=
	[[ $(id -u) == 0 ]] || sudo=sudo
	$sudo apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${pkgs[@]}" >&2
}

# nginx_bin: the nginx binary (Debian puts it in /usr/sbin).
nginx_bin() { command -v nginx || echo /usr/sbin/nginx; }

# build_tools: redirc, redirc-synth, cdbmake, benchtab, the engine
# prototypes (fastserve, gnetserve, nbioserve) and the benchmark binary, into $BIN.
build_tools() {
	log "building redirc, redirc-synth, cdbmake, benchtab, fastserve and bench.test into $BIN"
	$GO build -o "$BIN/redirc" ./cmd/redirc
	$GO build -o "$BIN/redirc-synth" ./cmd/redirc-synth
	(cd bench && $GO build -o "$BIN/cdbmake" ./cmd/cdbmake && $GO build -o "$BIN/benchtab" ./cmd/benchtab &&
		$GO build -o "$BIN/fastserve" ./cmd/fastserve && $GO build -o "$BIN/gnetserve" ./cmd/gnetserve &&
		$GO build -o "$BIN/nbioserve" ./cmd/nbioserve && $GO test -c -o "$BIN/bench.test" .)
}

# prepare SIZE: the data set of one size in $BENCH_DIR/data/nSIZE,
# generated once (a stamp file marks a complete one):
#   rules.csv   redirc-synth -n N -seed 1 -hosts 0 -prefix 0 (exact paths,
#               which every peer can answer)
#   misses.csv  redirc-synth -n min(N,1e6) -seed 2 -hosts 0 -prefix 0
#   build/      redirc build of rules.csv
#   rules.cdb   cdbmake of rules.csv
prepare() {
	local s=$1 n d
	n=$(num "$s")
	d=$BENCH_DIR/data/n$s
	[[ -f $d/.complete ]] && return 0
	log "preparing $s rules in $d"
	rm -rf "$d"
	mkdir -p "$d"
	bounded "$BIN/redirc-synth" -n "$n" -seed 1 -hosts 0 -prefix 0 -o "$d/rules.csv"
	bounded "$BIN/redirc-synth" -n "$((n < 1000000 ? n : 1000000))" -seed 2 -hosts 0 -prefix 0 -o "$d/misses.csv"
	bounded "$BIN/redirc" build -o "$d/build" "$d/rules.csv" >/dev/null
	bounded "$BIN/cdbmake" "$d/rules.csv" "$d/rules.cdb"
	touch "$d/.complete"
}

# nginx_map SIZE: the rules of SIZE as an nginx map include file.
nginx_map() {
	local d=$BENCH_DIR/data/n$1
	mkdir -p "$d/nginx/tmp"
	if [[ ! -f $d/nginx/map.conf ]]; then
		# redirc-synth quotes no exact-path field (they hold no comma or
		# quote); refuse a file that would need real CSV parsing.
		if grep -q '"' "$d/rules.csv"; then
			echo "bench: $d/rules.csv has quoted fields" >&2
			return 1
		fi
		awk -F, 'NR > 1 { printf "\"%s\" \"%s\";\n", $1, $2 }' "$d/rules.csv" >"$d/nginx/map.conf.tmp"
		mv "$d/nginx/map.conf.tmp" "$d/nginx/map.conf"
	fi
	echo "$d/nginx/map.conf"
}
