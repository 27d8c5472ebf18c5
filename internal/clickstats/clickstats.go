// Package clickstats aggregates click records (written by runtime/clicks)
// per link for `redirc stats`: clicks, unique visitors, human and bot
// counts, and per-hour and per-day series. It streams: memory grows with
// the number of links and of hours with clicks, never with the number of
// records.
package clickstats

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/redirc/redirc/runtime/clicks"
)

// Link is the summary of one link (one request path).
type Link struct {
	// Code is the path without its leading '/': the short code.
	Code string `json:"code"`
	// Clicks counts every redirect answered on the link.
	Clicks uint64 `json:"clicks"`
	// Unique estimates the distinct human visitors (HyperLogLog, about
	// 1% error). Visitor hashes change every day, so a person who comes
	// back on three days counts three times.
	Unique uint64 `json:"unique"`
	// Humans counts clicks by browsers; Bots every other click, of which
	// Previews are link unfurlers and Scanners security scanners.
	Humans   uint64 `json:"humans"`
	Bots     uint64 `json:"bots"`
	Previews uint64 `json:"previews"`
	Scanners uint64 `json:"scanners"`
	// First and Last are the times of the first and last click (UTC).
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Hours and Days count clicks per UTC hour ("2026-11-29T10") and day
	// ("2026-11-29").
	Hours map[string]uint64 `json:"hours"`
	Days  map[string]uint64 `json:"days"`
}

// Aggregator sums click records per link. The zero value is not usable;
// call New.
type Aggregator struct {
	since int64 // records before this Unix time are skipped
	links map[string]*agg
	// Skipped counts records before since.
	Skipped uint64
}

type agg struct {
	clicks, humans, bots, previews, scanners uint64
	first, last                              int64
	hll                                      *hyperloglog.Sketch
	hours                                    map[int64]uint64
	// The current hour's count, kept out of the map: records come mostly
	// in time order, so most clicks only add to curN.
	curHour int64
	curN    uint64
}

// New returns an Aggregator that counts records at or after since (zero:
// all).
func New(since time.Time) *Aggregator {
	a := &Aggregator{links: map[string]*agg{}}
	if !since.IsZero() {
		a.since = since.Unix()
	} else {
		a.since = -1 << 62
	}
	return a
}

// Add counts one record. It allocates only for a link it has not seen.
func (a *Aggregator) Add(rc *clicks.RawClick) {
	if rc.Unix < a.since {
		a.Skipped++
		return
	}
	l := a.links[string(rc.Path)]
	if l == nil {
		l = &agg{first: rc.Unix, last: rc.Unix, hll: hyperloglog.New14(), hours: map[int64]uint64{}, curHour: rc.Unix / 3600}
		a.links[string(rc.Path)] = l
	}
	l.clicks++
	switch rc.Agent {
	case clicks.AgentHuman:
		l.humans++
		l.hll.InsertHash(rc.Visitor)
	case clicks.AgentPreview:
		l.bots++
		l.previews++
	case clicks.AgentScanner:
		l.bots++
		l.scanners++
	default:
		l.bots++
	}
	l.first = min(l.first, rc.Unix)
	l.last = max(l.last, rc.Unix)
	h := floorDiv(rc.Unix, 3600)
	if h != l.curHour {
		if l.curN > 0 {
			l.hours[l.curHour] += l.curN
		}
		l.curHour, l.curN = h, 0
	}
	l.curN++
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// Links returns the summaries sorted by clicks (most first, then by code);
// top > 0 keeps only the first top.
func (a *Aggregator) Links(top int) []Link {
	out := make([]Link, 0, len(a.links))
	for path, l := range a.links {
		if l.curN > 0 {
			l.hours[l.curHour] += l.curN
			l.curN = 0
		}
		lk := Link{
			Code:   strings.TrimPrefix(path, "/"),
			Clicks: l.clicks, Unique: l.hll.Estimate(),
			Humans: l.humans, Bots: l.bots, Previews: l.previews, Scanners: l.scanners,
			First: time.Unix(l.first, 0).UTC(), Last: time.Unix(l.last, 0).UTC(),
			Hours: make(map[string]uint64, len(l.hours)), Days: map[string]uint64{},
		}
		if lk.Unique > lk.Humans { // the estimate can overshoot a tiny count
			lk.Unique = lk.Humans
		}
		for h, n := range l.hours {
			t := time.Unix(h*3600, 0).UTC()
			lk.Hours[t.Format("2006-01-02T15")] += n
			lk.Days[t.Format("2006-01-02")] += n
		}
		out = append(out, lk)
	}
	slices.SortFunc(out, func(x, y Link) int {
		if c := cmp.Compare(y.Clicks, x.Clicks); c != 0 {
			return c
		}
		return strings.Compare(x.Code, y.Code)
	})
	if top > 0 && len(out) > top {
		out = out[:top]
	}
	return out
}

// Len returns the number of links seen.
func (a *Aggregator) Len() int { return len(a.links) }
