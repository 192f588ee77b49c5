package connect

import (
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// MetricsNamespace is the CloudWatch namespace of the connect-flow metrics
// (shared with the refresh function's).
const MetricsNamespace = "GoToConnector"

// Metrics are the metrics (name and unit) a connect-flow request's Embedded
// Metric Format line may declare in MetricsNamespace: Requests always,
// ProviderLatencyMs when GoTo's token endpoint was called.
var Metrics = []map[string]string{
	{"Name": "Requests", "Unit": "Count"},
	{"Name": "ProviderLatencyMs", "Unit": "Milliseconds"},
}

// outcome is how one request of the connect flow ended, written as one JSON
// line in CloudWatch Embedded Metric Format: metric Requests (1), with the
// dimensions Route and Outcome, and Route, Outcome and Reason; and
// ProviderLatencyMs when GoTo's token endpoint was called. Every value is
// from a fixed set: a reason is one of this package's literals, and a
// provider error code outside the known OAuth codes is "other", so that no
// request can add a dimension value (a crafted error= would otherwise).
type outcome struct {
	route    string
	reason   string        // why a request was refused
	code     string        // the error code the flow ended with ("" when connected)
	provider time.Duration // time spent in GoTo's token endpoint
	called   bool
}

// timeProvider runs call, adding its time to the provider latency.
func (o *outcome) timeProvider(call func()) {
	start := time.Now()
	call()
	o.provider += time.Since(start)
	o.called = true
}

// end writes the request's line to w (nil writes none).
func (o *outcome) end(w io.Writer, status int) {
	if w == nil {
		return
	}
	result, reason := o.classify(status)
	metrics := []map[string]string{Metrics[0]}
	line := map[string]any{
		"Route": o.route, "Outcome": result, "Reason": reason, "Requests": 1,
	}
	if o.called {
		metrics = append(metrics, Metrics[1])
		line["ProviderLatencyMs"] = float64(o.provider.Microseconds()) / 1000
	}
	line["_aws"] = map[string]any{
		"Timestamp": time.Now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  MetricsNamespace,
			"Dimensions": [][]string{{"Route", "Outcome"}, {"Route", "Outcome", "Reason"}},
			"Metrics":    metrics,
		}},
	}
	b, _ := json.Marshal(line)
	w.Write(append(b, '\n'))
}

// classify names the outcome and its reason.
func (o *outcome) classify(status int) (result, reason string) {
	switch {
	case status == http.StatusServiceUnavailable && o.code == "":
		return "unavailable", "none"
	case o.reason != "":
		return "refused", o.reason
	case o.route == "authorize" && status == http.StatusFound:
		return "redirected", "none"
	case o.code == "" && status < 400:
		return "connected", "none"
	case o.code == "access_denied":
		return "declined", o.code
	default:
		return "failed", knownCode(o.code)
	}
}

// knownCode keeps the error codes this connector or OAuth 2.0 define.
func knownCode(code string) string {
	switch code {
	case "invalid_request", "unauthorized_client", "unsupported_response_type", "invalid_scope",
		"server_error", "temporarily_unavailable", "invalid_grant", "invalid_client", "unsupported_grant_type",
		"rate_limited", "timeout", "unreachable", "unreadable_response", "endpoint_gone", "token_key",
		"no_refresh_token", "storage_failed", "not_configured", "store_unavailable":
		return code
	}
	return "other"
}
