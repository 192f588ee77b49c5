package refresh

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/connid"
)

// ManualRequest is the refresh function's manual input:
// {"connection_ids": ["a", "b"], "force": true}.
type ManualRequest struct {
	ConnectionIDs []string `json:"connection_ids"`
	Force         bool     `json:"force"`
}

// MaxManualIDs caps a manual request.
const MaxManualIDs = 1000

// Handle is the refresh function's handler: an EventBridge scheduled event
// (or any event without connection_ids) sweeps every due connection; a
// manual request refreshes the named ones. It returns the summary and writes
// it as one JSON log line in CloudWatch Embedded Metric Format.
func (s *Sweeper) Handle(ctx context.Context, event json.RawMessage) (Summary, error) {
	var req ManualRequest
	if len(event) > 0 && string(event) != "null" {
		if err := json.Unmarshal(event, &req); err != nil {
			return Summary{}, fmt.Errorf("the event is neither a scheduled event nor {\"connection_ids\": [...], \"force\": true}: %v", err)
		}
	}
	var (
		sum  Summary
		err  error
		mode = "sweep"
	)
	if req.ConnectionIDs != nil {
		mode = "manual"
		if len(req.ConnectionIDs) == 0 || len(req.ConnectionIDs) > MaxManualIDs {
			return Summary{}, fmt.Errorf("connection_ids must name 1 to %d connections", MaxManualIDs)
		}
		for _, id := range req.ConnectionIDs {
			if !connid.Valid(id) {
				return Summary{}, fmt.Errorf("connection_ids: %q is not a valid connection id (1 to 128 of A-Z a-z 0-9 . _ : -)", id)
			}
		}
		sum = s.RefreshIDs(ctx, req.ConnectionIDs, req.Force)
	} else {
		sum, err = s.Sweep(ctx)
	}
	sum = s.retryRotatedClient(ctx, sum)
	s.emit(mode, sum, err)
	if s.Logger != nil {
		s.logSchedule(mode, sum, err)
	}
	return sum, err
}

// emit writes the run's one log line, which CloudWatch also reads as
// metrics (Embedded Metric Format). It never holds a token.
func (s *Sweeper) emit(mode string, sum Summary, runErr error) {
	if s.Metrics == nil {
		return
	}
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": time.Now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  MetricsNamespace,
				"Dimensions": [][]string{{"Mode"}},
				"Metrics":    Metrics,
			}},
		},
		"msg":               "refresh run",
		"Mode":              mode,
		"Due":               sum.Due,
		"Refreshed":         sum.Refreshed,
		"Failed":            sum.Failed,
		"ReauthRequired":    sum.ReauthRequired,
		"ConfigErrors":      sum.ConfigErrors,
		"LimiterErrors":     sum.LimiterErrors,
		"StoreFailures":     sum.StoreFailures,
		"Skipped":           sum.Skipped,
		"Deferred":          sum.Deferred,
		"DeferredRateLimit": sum.DeferredRateLimit,
		"DeferredDeadline":  sum.DeferredDeadline,
		"DurationMs":        sum.DurationMS,
	}
	if sum.CapacityPerDay > 0 {
		// Scheduled sweeps: the capacity, the load and the smallest life
		// left (the RefreshTokenLifeLow alarm reads UnderSafetyMargin).
		line["CapacityPerDay"], line["LoadPerDay"] = sum.CapacityPerDay, sum.LoadPerDay
		if sum.MinLifeLeftSeconds >= 0 {
			line["MinRefreshTokenLifeLeftSeconds"] = sum.MinLifeLeftSeconds
		}
		under := 0
		if sum.MinLifeLeftSeconds >= 0 && sum.MinLifeLeftSeconds < sum.SafetyMarginSeconds {
			under = 1
		}
		line["UnderSafetyMargin"] = under
	}
	s.mu.Lock()
	if len(s.latencies) > 0 {
		// GoTo's latency per refresh: one value each (up to 100 a run).
		line["ProviderLatencyMs"] = s.latencies
	}
	s.latencies = nil
	s.mu.Unlock()
	if runErr != nil {
		line["error"] = runErr.Error()
	}
	b, _ := json.Marshal(line)
	s.Metrics.Write(append(b, '\n'))
}

// MetricsNamespace is the CloudWatch namespace of the refresh metrics.
const MetricsNamespace = "GoToConnector"

// Metrics are the metrics (name and unit) that every run's Embedded Metric
// Format line declares in MetricsNamespace, with the dimension Mode (sweep or
// manual): the names the alarms and the dashboard of template.yaml may read.
var Metrics = []map[string]string{
	{"Name": "Due", "Unit": "Count"},
	{"Name": "Refreshed", "Unit": "Count"},
	{"Name": "Failed", "Unit": "Count"},
	{"Name": "ReauthRequired", "Unit": "Count"},
	{"Name": "ConfigErrors", "Unit": "Count"},
	{"Name": "LimiterErrors", "Unit": "Count"},
	{"Name": "StoreFailures", "Unit": "Count"},
	{"Name": "Skipped", "Unit": "Count"},
	{"Name": "Deferred", "Unit": "Count"},
	{"Name": "DeferredRateLimit", "Unit": "Count"},
	{"Name": "DeferredDeadline", "Unit": "Count"},
	{"Name": "CapacityPerDay", "Unit": "Count"},
	{"Name": "LoadPerDay", "Unit": "Count"},
	{"Name": "MinRefreshTokenLifeLeftSeconds", "Unit": "Seconds"},
	{"Name": "UnderSafetyMargin", "Unit": "Count"},
	{"Name": "DurationMs", "Unit": "Milliseconds"},
	{"Name": "ProviderLatencyMs", "Unit": "Milliseconds"},
}

// retryRotatedClient refreshes again, once, the connections GoTo refused
// with invalid_client, when RotatedClient has a token source with a newer
// client secret (the secret was rotated and this function's copy was
// stale). GoTo authenticates the client before it looks at the refresh
// token, so the refused refresh tokens are unused. The summary counts the
// second attempt in place of the first.
func (s *Sweeper) retryRotatedClient(ctx context.Context, sum Summary) Summary {
	var ids []string
	for id, code := range sum.Errors {
		if code == "invalid_client" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 || s.RotatedClient == nil {
		return sum
	}
	ts := s.RotatedClient(ctx)
	if ts == nil {
		return sum
	}
	if s.Logger != nil {
		s.Logger.Warn("GoTo refused the client secret (invalid_client) and the secret has changed since: refreshing again with the new one", "connections", len(ids))
	}
	again := (&Sweeper{Source: ts, Concurrency: s.Concurrency, Logger: s.Logger}).RefreshIDs(ctx, ids, true)
	for _, id := range ids {
		delete(sum.Errors, id)
	}
	sum.Failed -= len(ids)
	sum.ConfigErrors -= len(ids)
	sum.Merge(again)
	return sum
}
