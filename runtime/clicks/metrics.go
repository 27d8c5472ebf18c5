package clicks

import (
	"bufio"
	"fmt"
	"io"
)

// WritePrometheus writes the Recorder's counters in the Prometheus text
// format (names begin with "redirc_clicks_"), and those of an HTTPSink or
// DirSink among its sinks, so that a server can append them to its
// /metrics answer.
func (r *Recorder) WritePrometheus(w io.Writer) error {
	bw := bufio.NewWriter(w)
	st := r.Stats()
	metric := func(name, typ, help string, v any) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n%s %v\n", name, help, name, typ, name, v)
	}
	metric("redirc_clicks_recorded_total", "counter", "Clicks accepted into the click queue.", st.Recorded)
	metric("redirc_clicks_dropped_total", "counter", "Clicks dropped because the click queue was full (or the recorder closed).", st.Dropped)
	metric("redirc_clicks_written_total", "counter", "Clicks handed to the click sink without error.", st.Written)
	metric("redirc_clicks_sink_errors_total", "counter", "Batches the click sink failed to take.", st.SinkErrors)
	metric("redirc_clicks_queued", "gauge", "Clicks waiting in the click queue.", st.Queued)
	for _, s := range flatten(r.sink) {
		switch s := s.(type) {
		case *HTTPSink:
			hs := s.Stats()
			metric("redirc_clicks_http_sent_total", "counter", "Clicks delivered to the click endpoint.", hs.Sent)
			metric("redirc_clicks_http_requests_total", "counter", "POSTs made to the click endpoint.", hs.Requests)
			metric("redirc_clicks_http_retries_total", "counter", "POSTs to the click endpoint that failed and were retried.", hs.Retries)
			metric("redirc_clicks_http_dropped_total", "counter", "Clicks the HTTP sink dropped: spill full, rejected, or left at shutdown.", hs.Dropped)
			metric("redirc_clicks_http_spill_bytes", "gauge", "Bytes waiting to be sent to the click endpoint.", hs.SpillBytes)
		case *DirSink:
			metric("redirc_clicks_files_total", "counter", "Click files opened.", s.Files())
		}
	}
	return bw.Flush()
}

func flatten(s Sink) []Sink {
	if t, ok := s.(tee); ok {
		var out []Sink
		for _, x := range t {
			out = append(out, flatten(x)...)
		}
		return out
	}
	return []Sink{s}
}
