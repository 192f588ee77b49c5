package connect_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/gotoconnector/gotoconnector/internal/service/connect"
)

// Every request writes one Embedded Metric Format line: its route, outcome
// and a reason from a fixed set, and GoTo's latency when it was called; a
// crafted error code adds no dimension value.
func TestConnectMetrics(t *testing.T) {
	e := newEnv(t, callbackHT)
	var buf bytes.Buffer
	e.app.Metrics = &buf
	e.connect("m-1", returnTo) // authorize, callback: connected

	e.authorize(url.Values{"connection_id": {"m-2"}}) // refused: malformed link
	consent, cookie := e.start("m-3", returnTo)
	u, _ := url.Parse(consent)
	e.callback("state="+url.QueryEscape(u.Query().Get("state"))+"&error=x%3Cscript%3Ecrafted", cookie)

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		if m["_aws"] == nil || m["Requests"] != 1.0 {
			t.Fatalf("not an EMF line: %v", m)
		}
		lines = append(lines, m)
	}
	// Together the lines declare exactly connect.Metrics in
	// connect.MetricsNamespace (template.yaml is checked against that list).
	declared := map[string]bool{}
	for _, m := range lines {
		emf := m["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
		if emf["Namespace"] != connect.MetricsNamespace {
			t.Fatalf("namespace %v", emf["Namespace"])
		}
		for _, d := range emf["Metrics"].([]any) {
			declared[d.(map[string]any)["Name"].(string)] = true
		}
	}
	if len(declared) != len(connect.Metrics) {
		t.Fatalf("the lines declare %v, want %v", declared, connect.Metrics)
	}
	for _, m := range connect.Metrics {
		if !declared[m["Name"]] {
			t.Fatalf("the lines declare %v, want %v", declared, connect.Metrics)
		}
	}
	want := [][3]string{
		{"authorize", "redirected", "none"}, {"callback", "connected", "none"},
		{"authorize", "refused", "malformed link"},
		{"authorize", "redirected", "none"}, {"callback", "failed", "other"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d: %s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if got := [3]string{lines[i]["Route"].(string), lines[i]["Outcome"].(string), lines[i]["Reason"].(string)}; got != w {
			t.Errorf("line %d: %v, want %v", i, got, w)
		}
	}
	if ms, ok := lines[1]["ProviderLatencyMs"].(float64); !ok || ms <= 0 {
		t.Errorf("the connected callback has no provider latency: %v", lines[1])
	}
	if lines[0]["ProviderLatencyMs"] != nil {
		t.Error("authorize reports a provider latency it never had")
	}
}
