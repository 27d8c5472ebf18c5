#!/usr/bin/env bash
# nginx-conf.sh PREFIX MAPFILE RULES PORT: prints the nginx peer's
# configuration (nginx.conf.tmpl filled in). The map hash is sized for RULES
# keys: max size the next power of two at or above RULES, 512-byte buckets,
# which nginx builds without searching long and without the "could not
# build optimal map_hash" fallback.
set -euo pipefail
prefix=$1 map=$2 rules=$3 port=$4
max=1024
while ((max < rules)); do max=$((max * 2)); done
sed -e "s|@PREFIX@|$prefix|g" -e "s|@MAP@|$map|g" -e "s|@HASHMAX@|$max|g" \
	-e "s|@BUCKET@|512|g" -e "s|@PORT@|$port|g" -e "s|@DAEMON@|${NGINX_DAEMON:-off}|g" \
	"$(dirname "$0")/nginx.conf.tmpl"
