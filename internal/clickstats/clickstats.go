// Package clickstats aggregates click records (written by runtime/clicks)
// per link for `redirc stats`: clicks, unique visitors, human and bot
// counts, and per-hour and per-day series. It streams: memory grows with
// the number of links and of hours with clicks, never with the number of
// records.
package clickstats

import (
	"bytes"
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
	// Referrers are the hosts that sent the most clicks (at most
	// TopReferrers, most first); clicks without a Referer are not listed.
	Referrers []Referrer `json:"referrers"`
}

// Referrer is a referring host and the clicks it sent.
type Referrer struct {
	Host   string `json:"host"`
	Clicks uint64 `json:"clicks"`
}

// TopReferrers is how many referrers Links reports per link.
const TopReferrers = 10

// maxReferrers bounds the distinct referrers counted per link; clicks
// from further ones are counted under "(other)".
const maxReferrers = 1000

// Aggregator sums click records per link. The zero value is not usable;
// call New.
type Aggregator struct {
	since  int64 // records before this Unix time are skipped
	byHost bool
	links  map[string]*agg
	key    []byte // scratch for host/path keys
	// Skipped counts records before since.
	Skipped uint64
}

type agg struct {
	clicks, humans, bots, previews, scanners uint64
	first, last                              int64
	hll                                      *hyperloglog.Sketch
	hours                                    map[int64]uint64
	refs                                     map[string]uint64
	// The current hour's count, kept out of the map: records come mostly
	// in time order, so most clicks only add to curN.
	curHour int64
	curN    uint64
}

// New returns an Aggregator that counts records at or after since (zero:
// all). With byHost, a link is a host and a path ("sho.rt/abc"), for
// servers that answer several domains; else the path alone.
func New(since time.Time, byHost bool) *Aggregator {
	a := &Aggregator{links: map[string]*agg{}, byHost: byHost}
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
	key := rc.Path
	if a.byHost {
		a.key = append(append(append(a.key[:0], rc.Host...), '/'), bytes.TrimPrefix(rc.Path, []byte("/"))...)
		key = a.key
	}
	l := a.links[string(key)]
	if l == nil {
		l = &agg{first: rc.Unix, last: rc.Unix, hll: hyperloglog.New14(), hours: map[int64]uint64{}, refs: map[string]uint64{}, curHour: floorDiv(rc.Unix, 3600)}
		a.links[string(key)] = l
	}
	if len(rc.Referrer) > 0 {
		if _, ok := l.refs[string(rc.Referrer)]; ok || len(l.refs) < maxReferrers {
			l.refs[string(rc.Referrer)]++
		} else {
			l.refs["(other)"]++
		}
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
	for key, l := range a.links {
		if l.curN > 0 {
			l.hours[l.curHour] += l.curN
			l.curN = 0
		}
		lk := Link{
			Code:   strings.TrimPrefix(key, "/"),
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
		for h, n := range l.refs {
			lk.Referrers = append(lk.Referrers, Referrer{h, n})
		}
		slices.SortFunc(lk.Referrers, func(x, y Referrer) int {
			if c := cmp.Compare(y.Clicks, x.Clicks); c != 0 {
				return c
			}
			return strings.Compare(x.Host, y.Host)
		})
		if len(lk.Referrers) > TopReferrers {
			lk.Referrers = lk.Referrers[:TopReferrers]
		}
		if lk.Referrers == nil {
			lk.Referrers = []Referrer{}
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
