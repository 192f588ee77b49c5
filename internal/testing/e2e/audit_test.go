package e2e_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// auditLines are the JSON log lines of the functions with an "audit"
// attribute (the emulator may prefix a line; the JSON object is what
// CloudWatch Logs Insights reads).
func (s *stack) auditLines() []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(s.logs.String(), "\n") {
		i := strings.Index(line, "{")
		if i < 0 {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(line[i:]), &m) == nil && m["audit"] != nil {
			out = append(out, m)
		}
	}
	return out
}

// TestLambdaAuditOfTokenRelease: through the real connections bootstrap, a
// token release with an IAM authorizer in the event writes exactly one
// audit line with that caller's ARN and no token; a disconnect writes one
// more.
func TestLambdaAuditOfTokenRelease(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	const id = "e2e:audit.customer-1"
	s.connectByBrowser(id)
	if n := len(s.auditLines()); n != 0 {
		t.Fatalf("%d audit lines before any release", n)
	}
	tok := s.token(id, "")
	if status, _ := s.api("GET /connections/{connection_id}", id, ""); status != http.StatusOK {
		t.Fatalf("GET: %d", status)
	}
	lines := s.auditLines()
	if len(lines) != 1 {
		t.Fatalf("%d audit lines after one token release, want 1:\n%s", len(lines), s.logs)
	}
	l := lines[0]
	if l["audit"] != "token_released" || l["connection_id"] != id || l["caller_arn"] != backendARN ||
		l["caller_id"] != "AROAE2ETEST:backend" || l["refreshed"] != false || l["expires_at"] != tok["expires_at"] ||
		l["request_id"] == "" || l["request_id"] == nil {
		t.Errorf("audit line: %v", l)
	}
	if status, _ := s.api("DELETE /connections/{connection_id}", id, ""); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d", status)
	}
	lines = s.auditLines()
	if len(lines) != 2 || lines[1]["audit"] != "disconnected" || lines[1]["caller_arn"] != backendARN || lines[1]["connection_id"] != id {
		t.Errorf("after DELETE: %v", lines)
	}
	s.nothingSecretLogged()
}
