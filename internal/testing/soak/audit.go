package soak

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// Audit verdicts: each connection gets exactly one.
const (
	verdictOK          = "ok"          // active, GoTo accepts its tokens
	verdictPermanent   = "permanent"   // a permanent cause was injected (revoked at GoTo)
	verdictKilled      = "killed"      // a SIGKILL between GoTo's answer and the store
	verdictLost        = "lost"        // anything else
	verdictUnreadable  = "unreadable"  // the table could not be read (counted as lost)
	verdictMissingConn = "missing"     // not in the table (counted as lost)
	verdictAccessToken = "accesstoken" // refresh token fine, access token refused (counted as lost)
)

// row is one line of the audit table.
type row struct {
	verdict string
	label   string
}

// auditResult is the audit of every connection.
type auditResult struct {
	rows     map[row]int
	lostIDs  []string
	killedBy map[string]*killLoss // killed process -> the rotations it lost
	// double spends: rotated-away refresh tokens presented again
	doubleSpent, doubleSpentKilled int
	serverReuses                   int // gototest's own count, as a cross-check
	took                           time.Duration
}

func (a *auditResult) count(v string) int {
	n := 0
	for r, c := range a.rows {
		if r.verdict == v {
			n += c
		}
	}
	return n
}

func (a *auditResult) lost() int {
	return a.count(verdictLost) + a.count(verdictUnreadable) + a.count(verdictMissingConn) + a.count(verdictAccessToken)
}

func (a *auditResult) failed() bool { return a.lost() > 0 || a.doubleSpent > 0 }

// audit sorts every connection into a verdict, checking its stored tokens
// with GoTo, and sorts every reused refresh token.
func (w *world) audit(in *injector, ps *procs) (*auditResult, error) {
	start := time.Now()
	c, err := w.connector(0, "audit")
	if err != nil {
		return nil, err
	}
	a := &auditResult{rows: map[row]int{}, killedBy: map[string]*killLoss{}}
	var (
		mu   sync.Mutex
		next atomic.Int64
		wg   sync.WaitGroup
	)
	hc := &http.Client{Timeout: 30 * time.Second}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= w.set.Connections {
					return
				}
				id := connectionID(i)
				r, killer, gap := w.auditOne(c, hc, in, ps, id)
				mu.Lock()
				a.rows[r]++
				if killer != "" {
					a.killedBy[killer] = a.killedBy[killer].add(gap)
				}
				if r.verdict != verdictOK && r.verdict != verdictPermanent && r.verdict != verdictKilled {
					a.lostIDs = append(a.lostIDs, id)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	reuses, _, _, _ := w.ledger.snapshot()
	for _, u := range reuses {
		if killer, _ := w.blame(ps, in, w.ledger.rotationOf(u.token)); killer != "" {
			a.doubleSpentKilled++
		} else {
			a.doubleSpent++
		}
	}
	a.serverReuses = w.goTo.RefreshTokenReuses()
	sort.Strings(a.lostIDs)
	a.took = time.Since(start)
	return a, nil
}

// quickStore is how long storing GoTo's answer takes at most when
// DynamoDB is healthy (SDK retries included): a SIGKILL later than that
// after the answer is blamed only if DynamoDB was out in between.
const quickStore = 15 * time.Second

// blame returns the process whose SIGKILL lost rot, or "": GoTo answered
// the process, which was killed before it could store the answer, because
// the kill came before the answer or within quickStore of it, or DynamoDB was cut or
// throttled from the answer to the kill (and the kill came within
// KillWindow). outage reports which.
func (w *world) blame(ps *procs, in *injector, rot *rotation) (proc string, outage bool) {
	if rot == nil {
		return "", false
	}
	k, ok := ps.killedAt(rot.proc)
	if !ok {
		return "", false
	}
	// A kill before the answer is one while the request was at GoTo (a slow
	// answer processed after the asker died): the process names are unique,
	// so no one else could take that answer.
	switch {
	case k.Sub(rot.at) <= w.set.KillWindow && in != nil && in.outageBetween(rot.at, k):
		return rot.proc, true
	case k.Sub(rot.at) <= quickStore:
		return rot.proc, false
	}
	return "", false
}

// killLoss is what one SIGKILL lost: connections, and the time from GoTo's
// answer to the kill (negative: killed before the answer came).
type killLoss struct {
	conns          int
	minGap, maxGap time.Duration
}

func (k *killLoss) add(gap time.Duration) *killLoss {
	if k == nil {
		return &killLoss{conns: 1, minGap: gap, maxGap: gap}
	}
	k.conns++
	k.minGap, k.maxGap = min(k.minGap, gap), max(k.maxGap, gap)
	return k
}

// auditOne gives one connection its verdict; killer names the SIGKILLed
// process blamed, if any, and gap the time from GoTo's answer to the kill.
func (w *world) auditOne(c *connector, hc *http.Client, in *injector, ps *procs, id string) (r row, killer string, gap time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := c.store.Connection(ctx, id)
	switch {
	case errors.Is(err, gotoauth.ErrNotFound):
		return row{verdictMissingConn, "LOST: not in the table"}, "", 0
	case err != nil:
		return row{verdictUnreadable, "LOST: unreadable: " + gotoauth.ErrorCode(err)}, "", 0
	}
	in.mu.Lock()
	_, revoked := in.revoked[id]
	in.mu.Unlock()
	lostRot := w.ledger.rotationOf(conn.RefreshToken) // GoTo rotated the stored token: its answer never reached the table
	killer, duringOutage := w.blame(ps, in, lostRot)
	if killer != "" {
		k, _ := ps.killedAt(killer)
		gap = k.Sub(lostRot.at)
	}
	alive := w.goTo.ValidRefreshToken(conn.RefreshToken)

	if conn.Status == gotoauth.StatusActive && alive {
		tok, err := c.tokens(ctx, id)
		if err != nil {
			return row{verdictAccessToken, "LOST: active, refresh token accepted, but no access token: " + gotoauth.ErrorCode(err)}, "", 0
		}
		if st := callAPI(ctx, hc, w.goTo.MeURL(), tok); st != http.StatusOK {
			return row{verdictAccessToken, fmt.Sprintf("LOST: active, GoTo's API answers %d to its access token", st)}, "", 0
		}
		return row{verdictOK, "active: GoTo accepts the stored refresh token, the access token works"}, "", 0
	}
	status := "active with a dead refresh token"
	if conn.Status != gotoauth.StatusActive {
		status = "reauth_required (" + conn.ReauthReason + ")"
	}
	switch {
	case revoked:
		return row{verdictPermanent, status + ": customer revoked access at GoTo (injected)"}, "", 0
	case killer != "" && duringOutage:
		return row{verdictKilled, status + ": SIGKILL between GoTo's answer and the store, DynamoDB out meanwhile"}, killer, gap
	case killer != "" && gap <= 0:
		return row{verdictKilled, status + ": SIGKILL while GoTo was answering (request sent, answer rotated)"}, killer, gap
	case killer != "":
		return row{verdictKilled, fmt.Sprintf("%s: SIGKILL between GoTo's answer and the store, within %s", status, quickStore)}, killer, gap
	case lostRot != nil && lostRot.abandoned:
		return row{verdictLost, "LOST: " + status + ": GoTo answered after the client gave up (" + procRole(lostRot.proc) + ")"}, "", 0
	case lostRot != nil:
		return row{verdictLost, "LOST: " + status + ": GoTo's rotated token never reached the table (" + procRole(lostRot.proc) + ")"}, "", 0
	default:
		return row{verdictLost, "LOST: " + status + ": no injected permanent cause"}, "", 0
	}
}

// procRole turns "tokens-2.3" into "tokens".
func procRole(proc string) string {
	role, _, _ := strings.Cut(proc, "-")
	return role
}

// report renders the audit and what happened during the soak.
func (w *world) report(a *auditResult, in *injector, ps *procs, final sweepResult) string {
	var b strings.Builder
	set := w.set
	fmt.Fprintf(&b, "\n# soak %s: %d connections, faults for %s, 1 sweep + %d TokenSource processes, seed %d\n",
		time.Now().UTC().Format(time.RFC3339), set.Connections, set.Duration, set.TokenProcesses, set.Seed)
	fmt.Fprintf(&b, "# schedule: interval %s, refresh tokens live %s (single-use), access tokens %s, margin %s, rate limit %g/s\n\n",
		set.Interval, set.RefreshTokenLifetime, set.AccessTokenLifetime, set.Margin, set.RateLimit)

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "AUDIT\tconnections\t")
	rows := slices.Collect(maps.Keys(a.rows))
	order := map[string]int{verdictOK: 0, verdictPermanent: 1, verdictKilled: 2}
	sort.Slice(rows, func(i, j int) bool {
		oi, oj := order[rows[i].verdict], order[rows[j].verdict]
		if _, ok := order[rows[i].verdict]; !ok {
			oi = 3
		}
		if _, ok := order[rows[j].verdict]; !ok {
			oj = 3
		}
		if oi != oj {
			return oi < oj
		}
		return rows[i].label < rows[j].label
	})
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t\n", r.label, a.rows[r])
	}
	fmt.Fprintf(tw, "LOST (total)\t%d\t\n", a.lost())
	fmt.Fprintf(tw, "refresh tokens spent twice\t%d\t\n", a.doubleSpent)
	fmt.Fprintf(tw, "refresh tokens spent twice after a SIGKILL lost the rotation\t%d\t\n", a.doubleSpentKilled)
	fmt.Fprintf(tw, "  (gototest RefreshTokenReuses, cross-check)\t%d\t\n", a.serverReuses)
	nkills, atEnd := 0, 0
	for _, k := range ps.kills {
		if k.final {
			atEnd++
		} else {
			nkills++
		}
	}
	fmt.Fprintf(tw, "SIGKILLs of refresher processes\t%d\t\n", nkills)
	fmt.Fprintf(tw, "SIGKILLs that landed between GoTo's answer and the store\t%d\t\n", len(a.killedBy))
	for _, name := range slices.Sorted(maps.Keys(a.killedBy)) {
		k := a.killedBy[name]
		at, _ := ps.killedAt(name)
		fmt.Fprintf(tw, "  %s killed at +%s: rotations lost, GoTo answered %s to %s before the kill (negative: after)\t%d\t\n",
			name, at.Sub(in.start).Round(time.Second), k.minGap.Round(time.Millisecond), k.maxGap.Round(time.Millisecond), k.conns)
	}
	fmt.Fprintf(tw, "connections whose rotation a SIGKILL lost\t%d\t\n", a.count(verdictKilled))
	if atEnd > 0 {
		fmt.Fprintf(tw, "processes SIGKILLed at shutdown (no exit 2 min after SIGTERM)\t%d\t\n", atEnd)
	}
	tw.Flush()
	if len(a.lostIDs) > 0 {
		fmt.Fprintf(&b, "\nlost: %s\n", strings.Join(a.lostIDs[:min(20, len(a.lostIDs))], " "))
	}

	reuses, answers, me, rotations := w.ledger.snapshot()
	_ = reuses
	fmt.Fprintf(&b, "\n## traffic\n")
	fmt.Fprintf(&b, "GoTo refreshes answered with a new refresh token: %d\n", rotations)
	for _, gt := range []string{"authorization_code", "refresh_token"} {
		fmt.Fprintf(&b, "GoTo %s answers by status: %s\n", gt, fmtMap(answers[gt]))
	}
	fmt.Fprintf(&b, "GoTo API (get me) answers by status: %s\n", fmtMap(me))
	in.mu.Lock()
	fmt.Fprintf(&b, "GoTo token failures injected: %s\n", fmtMap(in.goToN))
	fmt.Fprintf(&b, "customers who revoked at GoTo: %d\n", len(in.revoked))
	events := append([]event(nil), in.events...)
	in.mu.Unlock()
	fmt.Fprintf(&b, "DynamoDB requests through the proxy: %s\n", fmtMap(w.proxy.Counts()))
	fmt.Fprintf(&b, "DynamoDB faults injected (requests): %s\n", fmtMap(w.proxy.Faults()))
	ps.mu.Lock()
	fmt.Fprintf(&b, "sweeps: %d runs, %+v; errors %s\n", ps.sweepN, ps.sweeps, fmtMap(ps.sweepEr))
	var tot tokenStats
	tot.Errors = map[string]int{}
	for _, s := range ps.tokens {
		tot.Calls += s.Calls
		tot.OK += s.OK
		tot.Reauth += s.Reauth
		tot.NotFound += s.NotFound
		tot.APIOK += s.APIOK
		tot.APIRefused += s.APIRefused
		tot.APIErrors += s.APIErrors
		for k, v := range s.Errors {
			tot.Errors[k] += v
		}
	}
	fmt.Fprintf(&b, "TokenSource calls: %d: ok %d, reauth_required %d, not found %d, errors %s; GoTo API with the token: ok %d, refused %d, other %d\n",
		tot.Calls, tot.OK, tot.Reauth, tot.NotFound, fmtMap(tot.Errors), tot.APIOK, tot.APIRefused, tot.APIErrors)
	fmt.Fprintf(&b, "ERROR log lines by process: %s\n", fmtMap(ps.errLogs))
	ps.mu.Unlock()
	fmt.Fprintf(&b, "final healthy sweeps: %+v\n", final)

	fmt.Fprintf(&b, "\n## faults (time since the fault phase began)\n")
	for _, e := range events {
		fmt.Fprintf(&b, "+%-6s %s\n", e.at, e.what)
	}
	fmt.Fprintf(&b, "\n## phases (time since start)\n")
	for _, e := range w.phases {
		fmt.Fprintf(&b, "%-8s %s\n", e.at, e.what)
	}
	fmt.Fprintf(&b, "audit took %s; total %s\n", a.took.Round(time.Second), time.Since(w.t0).Round(time.Second))
	if a.failed() {
		fmt.Fprintf(&b, "\nFAIL: %d lost, %d refresh tokens spent twice (SIGKILL-attributed ones excluded)\n", a.lost(), a.doubleSpent)
	} else {
		fmt.Fprintf(&b, "\nPASS: 0 lost, 0 refresh tokens spent twice (SIGKILL-attributed: %d connections, %d reuses)\n",
			a.count(verdictKilled), a.doubleSpentKilled)
	}
	return b.String()
}

// fmtMap prints a map sorted by key.
func fmtMap[K comparable, V any](m map[K]V) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	byKey := make(map[string]V, len(m))
	for k, v := range m {
		ks := fmt.Sprint(k)
		keys = append(keys, ks)
		byKey[ks] = v
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, byKey[k])
	}
	return strings.Join(parts, " ")
}
