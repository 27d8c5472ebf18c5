package compiler

import (
	"fmt"
	"strings"
	"testing"
)

func TestReadCSV(t *testing.T) {
	rdRun(t, "rules.csv", []readCase{
		{name: "fields, aliases, defaults",
			in: "Source, DESTINATION ,permanent,status,sensitive,preserveQueryParams,expires\n" +
				"/a,/b,,,,,\n" +
				"/c,/d,true,,,,\n" +
				"/e,/f,F,,T,t,\n" +
				"/g,https://x.example/h?x=1#f,true,302,false,FALSE,2030-01-31T00:00:00Z\n" +
				"/gone,,,410,,,\n" +
				",,,,,,\n" +
				"/i,/j, t ,,,,2030-01-31T12:00:00.5+02:00\n",
			rules: []string{
				"2 /a -> /b 307",
				"3 /c -> /d 308",
				"4 /e -> /f 307 cs q",
				"5 /g -> https://x.example/h?x=1#f 302 exp=2030-01-31T00:00:00Z",
				"6 /gone ->  410",
				"8 /i -> /j 308 exp=2030-01-31T12:00:00+02:00",
			}},
		{name: "minimal header, vercel names",
			in:    "source,destination,statusCode,caseSensitive,query\n/a,/b,301,true,true\n",
			rules: []string{"2 /a -> /b 301 cs q"}},
		{name: "DefaultStatus only for rules without status or permanent",
			opt:   ReadOptions{DefaultStatus: 301},
			in:    "source,destination,permanent,statusCode\n/a,/b,,\n/c,/d,false,\n/e,/f,,302\n",
			rules: []string{"2 /a -> /b 301", "3 /c -> /d 307", "4 /e -> /f 302"}},
		{name: "quoted fields span lines; rules keep their first line",
			in:    "source,destination\n\"/a\nb\",/c\n/d,\"/e,\"\"f\"\"\"\n\"/g\",\"/h\r\n\"\n/i,/j\n",
			rules: []string{"2 /a\nb -> /c 307", "4 /d -> /e,\"f\" 307", "5 /g -> /h\n 307", "7 /i -> /j 307"}},
		{name: "every bad row reported, good rows kept",
			in: "source,destination,permanent,statusCode,expires\n" +
				"/ok,/1,,,\n" +
				"/a,/b,yes,,\n" + // 3
				"/c,/d,,abc,\n" + // 4
				"/e,/f,,200,\n" + // 5
				"/g,/h,,,tomorrow\n" + // 6
				"/i,/j\n" + // 7
				",/k,,,\n" + // 8
				"/l,,,,\n" + // 9
				"/m,/n,x,1234,\n" + // 10: two problems
				"/o\"p,/q,,,\n" + // 11: bare quote
				"/ok2,/2,,,\n",
			rules: []string{"2 /ok -> /1 307", "12 /ok2 -> /2 307"},
			problems: []string{
				`3 error: invalid permanent "yes": want t, f, true or false`,
				`4 error: invalid statusCode "abc"`,
				`5 error: statusCode 200 is not one of 301, 302, 303, 307, 308 or 410`,
				`6 error: invalid expires "tomorrow": want an RFC 3339 time`,
				`7 error: row has 2 of the 5 fields named in the header on line 1`,
				`8 error: missing source`,
				`9 error: missing destination`,
				`10 error: invalid permanent "x"`,
				`10 error: invalid statusCode "1234"`,
				`11 error: invalid CSV: bare " in non-quoted-field`,
			}},
		{name: "unknown and duplicate header fields",
			in:    "source,destination,Status,statusCode,foo,\n/a,/b,301,,1,\n",
			rules: []string{"2 /a -> /b 301"},
			problems: []string{
				`1 error: header names field "statusCode" twice ("Status" and "statusCode")`,
				`1 error: unknown field "foo" in the header`,
				`1 error: header column 6 has no name`,
			}},
		{name: "missing required columns",
			in:       "source,permanent\n/a,true\n",
			problems: []string{`1 error: header has no "destination" column`}},
		{name: "no header row",
			in:       "/a,/b\n/c,/d\n",
			problems: []string{`1 error: missing header row`}},
		{name: "header only", in: "source,destination\n"},
		{name: "empty", in: ""},
		{name: "unterminated quote at the end",
			in:       "source,destination\n/a,/b\n/c,\"/d\n",
			rules:    []string{"2 /a -> /b 307"},
			problems: []string{`3 error: invalid CSV: extraneous or missing " in quoted-field`}},
	})
}

// TestReadCSVManyProblems checks that every bad row is reported, with its
// line, and the good rows between them kept.
func TestReadCSVManyProblems(t *testing.T) {
	var in strings.Builder
	in.WriteString("source,destination,statusCode\n")
	var wantRules, wantProblems []string
	for i := 2; i < 1000; i++ {
		if i%3 == 0 {
			fmt.Fprintf(&in, "/r%d,/d,99%d\n", i, i%10)
			wantProblems = append(wantProblems, fmt.Sprintf("%d error: is not one of", i))
		} else {
			fmt.Fprintf(&in, "/r%d,/d,301\n", i)
			wantRules = append(wantRules, fmt.Sprintf("%d /r%d -> /d 301", i, i))
		}
	}
	rules, problems, err := Read("big.csv", strings.NewReader(in.String()), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rdCompare(t, "big.csv", rules, problems, wantRules, wantProblems)
}
