package compiler

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestCSVAndJSONResolveAlike writes the same fields as a CSV row and as a
// JSONL object and checks that both give the same Rule (status,
// permanent, aliases, defaults) or the same messages: both go through one
// resolver (finish).
func TestCSVAndJSONResolveAlike(t *testing.T) {
	type field struct {
		name string
		csv  string // the CSV cell
		json string // the JSON value
	}
	str := func(name, v string) field { return field{name, v, fmt.Sprintf("%q", v)} }
	lit := func(name, v string) field { return field{name, v, v} }
	// A CSV header must name source and destination: an empty value
	// stands for a missing one, in JSON too.
	src, dst := str("source", "/a"), str("destination", "/b")
	noSrc, noDst := str("source", ""), str("destination", "")
	for _, c := range []struct {
		name   string
		fields []field
		opt    ReadOptions
	}{
		{"default status", []field{src, dst}, ReadOptions{}},
		{"DefaultStatus", []field{src, dst}, ReadOptions{DefaultStatus: 301}},
		{"statusCode", []field{src, dst, lit("statusCode", "301")}, ReadOptions{}},
		{"status alias", []field{src, dst, lit("status", "302")}, ReadOptions{}},
		{"permanent true", []field{src, dst, lit("permanent", "true")}, ReadOptions{}},
		{"permanent false", []field{src, dst, lit("permanent", "false")}, ReadOptions{DefaultStatus: 301}},
		{"status beats permanent", []field{src, dst, lit("permanent", "true"), lit("statusCode", "303")}, ReadOptions{}},
		{"410 without destination", []field{src, noDst, lit("statusCode", "410")}, ReadOptions{}},
		{"caseSensitive and query", []field{src, dst, lit("caseSensitive", "true"), lit("query", "true")}, ReadOptions{}},
		{"sensitive and preserveQueryParams", []field{src, dst, lit("sensitive", "true"), lit("preserveQueryParams", "false")}, ReadOptions{}},
		{"expires", []field{src, dst, str("expires", "2030-01-31T00:00:00Z")}, ReadOptions{}},
		{"bad expires", []field{src, dst, str("expires", "tomorrow")}, ReadOptions{}},
		{"status not served", []field{src, dst, lit("statusCode", "200")}, ReadOptions{}},
		{"status too long", []field{src, dst, lit("status", "3010")}, ReadOptions{}},
		{"missing source", []field{noSrc, dst}, ReadOptions{}},
		{"missing destination", []field{src, noDst, lit("permanent", "true")}, ReadOptions{}},
		{"literal pattern hint", []field{str("source", "/blog/:slug*"), dst}, ReadOptions{}},
		{"several problems", []field{noSrc, noDst, lit("statusCode", "999"), str("expires", "soon")}, ReadOptions{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var head, row, obj []string
			for _, f := range c.fields {
				head = append(head, f.name)
				row = append(row, f.csv)
				obj = append(obj, fmt.Sprintf("%q:%s", f.name, f.json))
			}
			csvIn := strings.Join(head, ",") + "\n" + strings.Join(row, ",") + "\n"
			jsonIn := "\n{" + strings.Join(obj, ",") + "}\n" // line 2, like the CSV row
			cr, cp, err := Read("x", strings.NewReader(csvIn), ReadOptions{Format: FormatCSV, DefaultStatus: c.opt.DefaultStatus})
			if err != nil {
				t.Fatal(err)
			}
			jr, jp, err := Read("x", strings.NewReader(jsonIn), ReadOptions{Format: FormatJSONL, DefaultStatus: c.opt.DefaultStatus})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cr, jr) {
				t.Errorf("rules differ:\nCSV  %+v\nJSON %+v", cr, jr)
			}
			if !reflect.DeepEqual(cp, jp) {
				t.Errorf("problems differ:\nCSV  %v\nJSON %v", cp, jp)
			}
			if len(cr)+len(cp) == 0 {
				t.Error("neither a rule nor a problem")
			}
		})
	}
}

// TestResolveStatus pins the status each combination resolves to, in CSV
// and in vercel.json, where "permanent" defaults to true and may not be
// given with a status.
func TestResolveStatus(t *testing.T) {
	for _, c := range []struct {
		fields string
		bulk   int    // CSV, JSON array, JSONL
		vercel int    // vercel.json
		err    string // vercel.json error
	}{
		{``, 307, 308, ""},
		{`"permanent":true`, 308, 308, ""},
		{`"permanent":false`, 307, 307, ""},
		{`"statusCode":301`, 301, 301, ""},
		{`"statusCode":301,"permanent":false`, 301, 0, "statusCode and permanent cannot both be set in vercel.json"},
	} {
		obj := `{"source":"/a","destination":"/b"`
		if c.fields != "" {
			obj += "," + c.fields
		}
		obj += "}"
		rs, ps, err := Read("x.json", strings.NewReader("["+obj+"]"), ReadOptions{})
		if err != nil || len(ps) != 0 || len(rs) != 1 || rs[0].Status != c.bulk {
			t.Errorf("JSON %s: %v %v %v, want status %d", obj, rs, ps, err, c.bulk)
		}
		rs, ps, err = Read("vercel.json", strings.NewReader(`{"redirects":[`+obj+"]}"), ReadOptions{})
		switch {
		case err != nil:
			t.Errorf("vercel.json %s: %v", obj, err)
		case c.err != "":
			if len(rs) != 0 || len(ps) != 1 || !strings.Contains(ps[0].Msg, c.err) {
				t.Errorf("vercel.json %s: %v %v, want %q", obj, rs, ps, c.err)
			}
		case len(ps) != 0 || len(rs) != 1 || rs[0].Status != c.vercel:
			t.Errorf("vercel.json %s: %v %v, want status %d", obj, rs, ps, c.vercel)
		}
	}
}
