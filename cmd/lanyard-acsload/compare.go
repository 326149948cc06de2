package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard/internal/loadrun"
)

// A comparison (-anchor, -shibboleth or -rounds above 1) runs the same
// logins against several servers started side by side: this lanyard, an
// anchor lanyard binary (e.g. built from main), and Shibboleth SP 3. Rounds
// interleave them (the order rotates each round), and the summary gives
// the median of the rounds per server and level, and the ratios to
// Shibboleth.

// contender is one server of a comparison.
type contender struct {
	name  string
	level func(ctx context.Context, c int) (result, error)
	close func()
}

func (h *harness) label() string {
	if h.name != "" {
		return h.name
	}
	return h.o.engineLabel
}

// runLevel of the Shibboleth target: n fresh responses, posted and
// followed to the protected page with c clients.
func (sh *shibHarness) runLevel(ctx context.Context, c int) (result, error) {
	res := result{mode: "idp", engine: "shibboleth", clients: c, byStatus: map[string]int{}}
	fmt.Fprintf(sh.stderr, "acsload: preparing %d signed responses for Shibboleth\n", sh.o.n)
	start := time.Now()
	logins, err := sh.prepare(sh.o.n)
	if err != nil {
		return res, err
	}
	res.prep.signing = time.Since(start)
	cpu := func() (time.Duration, time.Duration, error) { return sh.cpu(), 0, nil }
	return timedRun(ctx, res, c, sh.o.timeout, logins, sh.clients, sh.post, cpu)
}

func runComparison(ctx context.Context, o options, stdout, stderr io.Writer) error {
	var contenders []contender
	defer func() {
		for _, c := range contenders {
			c.close()
		}
	}()
	h, err := startHarness(ctx, o, stderr)
	if err != nil {
		return err
	}
	h.name = "lanyard " + o.engineLabel
	contenders = append(contenders, contender{h.name, func(ctx context.Context, c int) (result, error) { return h.runLevel(ctx, c, serverProfiles{}) }, h.close})
	if o.anchor != "" {
		ao := o
		ao.lanyard = o.anchor
		if o.anchorData != "" {
			ao.data = o.anchorData
		}
		if o.anchorDB != "" {
			ao.database = o.anchorDB
		}
		a, err := startHarness(ctx, ao, stderr)
		if err != nil {
			return fmt.Errorf("anchor: %w", err)
		}
		a.name = "anchor " + o.engineLabel
		contenders = append(contenders, contender{a.name, func(ctx context.Context, c int) (result, error) { return a.runLevel(ctx, c, serverProfiles{}) }, a.close})
	}
	if o.shibboleth {
		sh, err := startShibboleth(ctx, o, stderr)
		if err != nil {
			return err
		}
		contenders = append(contenders, contender{"shibboleth", sh.runLevel, sh.close})
	}

	fmt.Fprintf(stderr, "acsload: load average %s before the rounds\n", loadrun.LoadAverage())
	results := map[string]map[int][]result{} // name, clients, rounds
	failed := 0
	fmt.Fprintln(stdout, "Rounds (each row one run; the order of the servers rotates every round):")
	fmt.Fprintln(stdout)
	header, rule, _ := strings.Cut(markdownHeader, "\n")
	fmt.Fprintln(stdout, "| round "+header)
	fmt.Fprintln(stdout, "|---"+rule)
	for round := 1; round <= o.rounds; round++ {
		for _, c := range o.concurrency {
			for k := range contenders {
				ct := contenders[(k+round-1)%len(contenders)]
				res, err := ct.level(ctx, c)
				if err != nil {
					return fmt.Errorf("%s, round %d, %d clients: %w", ct.name, round, c, err)
				}
				if results[ct.name] == nil {
					results[ct.name] = map[int][]result{}
				}
				results[ct.name][c] = append(results[ct.name][c], res)
				fmt.Fprintf(stdout, "| %d ", round) // the row follows
				res.print(stdout, options{format: "markdown"})
				if res.failed() > 0 {
					failed += res.failed()
					fmt.Fprintf(stderr, "lanyard-acsload: %s: %d logins failed at -c %d; first failure: %s\n", ct.name, res.failed(), c, res.firstError)
				}
			}
		}
	}
	load := loadrun.LoadAverage()
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "Medians of %d rounds (load average %s at the end):\n\n", o.rounds, load)
	fmt.Fprintln(stdout, "| server | clients | logins/s | server CPU/login | PostgreSQL CPU/login | p50 | errors |")
	fmt.Fprintln(stdout, "|---|---:|---:|---:|---:|---:|---:|")
	type summary struct{ rate, cpu, db, p50 float64 }
	medians := map[string]map[int]summary{}
	for _, ct := range contenders {
		medians[ct.name] = map[int]summary{}
		for _, c := range o.concurrency {
			rs := results[ct.name][c]
			var rate, cpu, db, p50 []float64
			errs := 0
			for _, r := range rs {
				rate = append(rate, r.rate())
				cpu = append(cpu, msPer(r.serverCPU, r.ok))
				db = append(db, msPer(r.dbCPU, r.ok))
				p50 = append(p50, float64(r.percentile(0.5))/float64(time.Millisecond))
				errs += r.failed()
			}
			s := summary{loadrun.Median(rate), loadrun.Median(cpu), loadrun.Median(db), loadrun.Median(p50)}
			medians[ct.name][c] = s
			dbText := "-"
			if len(rs) > 0 && rs[0].hasDB {
				dbText = fmt.Sprintf("%.2f ms", s.db)
			}
			fmt.Fprintf(stdout, "| %s | %d | %.0f | %.2f ms | %s | %.1f ms | %d |\n", ct.name, c, s.rate, s.cpu, dbText, s.p50, errs)
		}
	}
	if o.shibboleth {
		fmt.Fprintln(stdout)
		fmt.Fprintln(stdout, "Against Shibboleth SP 3 (medians; CPU: Shibboleth's processes ÷ the Lanyard process; logins/s: Lanyard ÷ Shibboleth):")
		fmt.Fprintln(stdout)
		fmt.Fprintln(stdout, "| server | clients | CPU per login, Shibboleth ÷ this | the same with PostgreSQL's CPU added to Lanyard's | logins/s, this ÷ Shibboleth |")
		fmt.Fprintln(stdout, "|---|---:|---:|---:|---:|")
		for _, ct := range contenders {
			if ct.name == "shibboleth" {
				continue
			}
			for _, c := range o.concurrency {
				l, s := medians[ct.name][c], medians["shibboleth"][c]
				fmt.Fprintf(stdout, "| %s | %d | %.1fx | %.1fx | %.1fx |\n", ct.name, c, s.cpu/l.cpu, s.cpu/(l.cpu+l.db), l.rate/s.rate)
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d logins failed", failed)
	}
	return nil
}

func msPer(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d) / float64(time.Millisecond) / float64(n)
}
