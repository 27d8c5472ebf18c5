package clicks

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestClickJSONRoundTrip(t *testing.T) {
	for _, c := range []Click{
		{Time: time.Date(2026, 11, 29, 10, 6, 23, 0, time.UTC), Host: "sho.rt", Path: "/aB3xYz", Status: 302, Referrer: "news.example", Agent: AgentHuman, Visitor: 0x9f3c0a1b2c3d4e5f},
		{Time: time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC), Host: `we"ird\host`, Path: "/a\tb\x01c\xffd é", Status: 410, Agent: AgentScanner},
	} {
		line := c.AppendJSON(nil)
		if !json.Valid(line) {
			t.Fatalf("invalid JSON: %s", line)
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		var rc RawClick
		if _, err := ParseLine(line, &rc, nil); err != nil {
			t.Fatalf("ParseLine(%s): %v", line, err)
		}
		wantPath := valid(c.Path)
		if rc.Unix != c.Time.Unix() || string(rc.Host) != c.Host || string(rc.Path) != wantPath || rc.Status != c.Status ||
			string(rc.Referrer) != c.Referrer || rc.Agent != c.Agent || rc.Visitor != c.Visitor || m["path"] != wantPath {
			t.Errorf("round trip of %s gave %+v", line, rc)
		}
	}
	var rc RawClick
	for _, bad := range []string{"", "{}", `{"path":"/a"}`, `{"time":"x","path":"/a"}`, `{"time":"2026-11-29 10:06:23","path":"/a"`, "not json"} {
		if _, err := ParseLine([]byte(bad), &rc, nil); err == nil {
			t.Errorf("ParseLine(%q) accepted", bad)
		}
	}
}

func TestParseTimeMatchesStdlib(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for range 10000 {
		tm := time.Unix(rng.Int64N(1<<34)-1<<33, 0).UTC()
		got, ok := parseTime([]byte(tm.Format(TimeLayout)))
		if !ok || got != tm.Unix() {
			t.Fatalf("parseTime(%s) = %d, %v; want %d (seed %d)", tm.Format(TimeLayout), got, ok, tm.Unix(), seed)
		}
	}
}

func TestClassifyAgent(t *testing.T) {
	for ua, want := range map[string]Agent{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36": AgentHuman,
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Snapchat/12.0":                   AgentHuman,
		"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)":                                                  AgentPreview,
		"Twitterbot/1.0": AgentPreview,
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)": AgentPreview,
		"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)":         AgentPreview,
		"WhatsApp/2.23.20.0":                                                       AgentPreview,
		"TelegramBot (like TwitterBot)":                                            AgentPreview,
		"LinkedInBot/1.0 (compatible; Mozilla/5.0)":                                AgentPreview,
		"Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)":   AgentScanner,
		"Mozilla/5.0 zgrab/0.x":                                                    AgentScanner,
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)": AgentBot,
		"curl/8.5.0":           AgentBot,
		"Go-http-client/1.1":   AgentBot,
		"":                     AgentBot,
		"SomethingUnknown/1.0": AgentBot,
	} {
		if got := ClassifyAgent(ua); got != want {
			t.Errorf("ClassifyAgent(%q) = %v, want %v", ua, got, want)
		}
	}
	for i, r := range agentRules {
		if r.sub != strings.ToLower(r.sub) || r.sub == "" {
			t.Errorf("agentRules[%d] %q: must be lower case and non-empty", i, r.sub)
		}
	}
	if n := testing.AllocsPerRun(100, func() { ClassifyAgent("Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0") }); n != 0 {
		t.Errorf("ClassifyAgent allocates %v times", n)
	}
}

func TestReferrerHost(t *testing.T) {
	for in, want := range map[string]string{
		"https://News.Example.com/item?id=1": "news.example.com",
		"http://user:pw@host.example:8080/x": "host.example",
		"https://[2001:db8::1]:443/":         "[2001:db8::1]",
		"android-app://com.slack/":           "com.slack",
		"":                                   "",
		"/relative":                          "",
	} {
		if got := ReferrerHost(in); got != want {
			t.Errorf("ReferrerHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSalter(t *testing.T) {
	s := NewSalter([]byte("secret-secret-secret"))
	day := time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)
	a := s.Visitor(day, "192.0.2.1:1234", "ua")
	if s.Visitor(day.Add(20*time.Hour), "192.0.2.1:9999", "ua") != a {
		t.Error("same address and agent on the same day: different visitors")
	}
	if s.Visitor(day.Add(24*time.Hour), "192.0.2.1:1234", "ua") == a {
		t.Error("the salt did not change the next day")
	}
	if s.Visitor(day, "192.0.2.2:1234", "ua") == a || s.Visitor(day, "192.0.2.1:1234", "ub") == a {
		t.Error("different clients: same visitor")
	}
	if s.Visitor(day, "[2001:db8::1]:1", "ua") != s.Visitor(day, "[2001:db8::ffff:1]:2", "ua") {
		t.Error("IPv6 addresses in one /64 are one visitor")
	}
	if NewSalter([]byte("other-secret-other")).Visitor(day, "192.0.2.1:1234", "ua") == a {
		t.Error("another secret gave the same visitor")
	}
}
