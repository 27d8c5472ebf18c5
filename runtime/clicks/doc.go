// Package clicks records the redirects a server answers, off the request
// path, for link analytics: a Recorder takes runtime.Events, turns each
// into a compact Click and hands batches to a Sink (a directory of
// JSON-lines files, DirSink, or an HTTP endpoint, HTTPSink). Record never
// blocks: a full queue drops the click and counts it. Read streams the
// records back for `redirc stats`.
//
// # Wiring
//
//	rec := clicks.New(sink, clicks.Options{Secret: secret})
//	defer rec.Close()
//	// either as the function of a runtime.EventSink:
//	sink := runtime.NewEventSink("clicks", 0, rec.Record)
//	// or by calling rec.Record(ev) directly where the event is made.
//
// # Record
//
// One JSON object per line (see Click.AppendJSON):
//
//	{"time":"2026-11-29 10:06:23","host":"sho.rt","path":"/aB3xYz","status":302,"referrer":"news.example","agent":"human","visitor":"9f3c0a1b2c3d4e5f"}
//
// time is UTC to the second; referrer is the Referer's host only; agent is
// human, bot, preview (link unfurlers) or scanner (see ClassifyAgent);
// visitor is a daily-salted hash of the client address and User-Agent
// (see Salter). Raw addresses, full referrers and query strings are never
// recorded.
//
// # ClickHouse
//
// HTTPSink's body goes as is into this table, also on old servers (the
// Debian package is 18.16):
//
//	CREATE TABLE clicks (
//	    time     DateTime('UTC'),
//	    host     String,
//	    path     String,
//	    status   UInt16,
//	    referrer String,
//	    agent    String,
//	    visitor  String
//	) ENGINE = MergeTree()
//	PARTITION BY toYYYYMM(time)
//	ORDER BY (host, path, time);
//
// with the URL
//
//	http://clickhouse:8123/?query=INSERT%20INTO%20clicks%20FORMAT%20JSONEachRow
//
// On current servers, LowCardinality(String) suits host, agent and
// referrer. Unique visitors: uniq(visitor) (per day, since the salt
// changes daily).
package clicks
