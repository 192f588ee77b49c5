package cost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Call is one kind of DynamoDB request: the operation, the kind of item it
// addresses (the part of pk before '#': conn, state, rate, ...; the index
// name for a Query) and whether it writes the due index's sort key.
type Call struct {
	Op, Item   string
	IndexWrite bool
}

func (c Call) String() string {
	s := c.Op + " " + c.Item
	if c.IndexWrite {
		s += " (+due index)"
	}
	return s
}

// Counter is an http.RoundTripper that counts DynamoDB requests by Call
// before passing them on.
type Counter struct {
	Next http.RoundTripper

	mu     sync.Mutex
	counts map[Call]int
}

// RoundTrip counts req and sends it on.
func (c *Counter) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	c.mu.Lock()
	if c.counts == nil {
		c.counts = map[Call]int{}
	}
	for _, call := range classify(op, body) {
		c.counts[call]++
	}
	c.mu.Unlock()
	return c.Next.RoundTrip(req)
}

// Take returns the counts since the last Take and starts again from zero.
func (c *Counter) Take() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := Counts(c.counts)
	c.counts = nil
	return out
}

// classify names the calls of one request body (one per item of a
// transaction or batch).
func classify(op string, body []byte) []Call {
	var req struct {
		IndexName                *string
		Key, Item                map[string]map[string]any
		UpdateExpression         string
		ExpressionAttributeNames map[string]string
		TransactItems            []map[string]struct {
			Key, Item map[string]map[string]any
		}
	}
	_ = json.Unmarshal(body, &req)
	index := writesIndexKey(req.Item, req.UpdateExpression, req.ExpressionAttributeNames)
	switch {
	case op == "Query" || op == "Scan":
		name := "table"
		if req.IndexName != nil {
			name = "index " + *req.IndexName
		}
		return []Call{{Op: op, Item: name}}
	case len(req.TransactItems) > 0:
		var calls []Call
		for _, ti := range req.TransactItems {
			for kind, it := range ti {
				calls = append(calls, Call{Op: op + "/" + kind, Item: itemKind(it.Key, it.Item), IndexWrite: index})
			}
		}
		return calls
	}
	return []Call{{Op: op, Item: itemKind(req.Key, req.Item), IndexWrite: index}}
}

// indexKeys are the attributes of the due index's key.
var indexKeys = []string{"due_shard", "next_refresh_at"}

// writesIndexKey reports whether a write sets or removes a key attribute of
// the due index (a PutItem's item holds one, or an UpdateExpression names
// one), which costs writes in the index too.
func writesIndexKey(item map[string]map[string]any, update string, names map[string]string) bool {
	for _, k := range indexKeys {
		if _, ok := item[k]; ok {
			return true
		}
	}
	for _, tok := range regexp.MustCompile(`#?[A-Za-z0-9_]+`).FindAllString(update, -1) {
		if n, ok := names[tok]; ok {
			tok = n
		}
		if slices.Contains(indexKeys, tok) {
			return true
		}
	}
	return false
}

func itemKind(key, item map[string]map[string]any) string {
	pk := key["pk"]
	if pk == nil {
		pk = item["pk"]
	}
	s, _ := pk["S"].(string)
	if kind, _, ok := strings.Cut(s, "#"); ok {
		return kind
	}
	return "?"
}

// Counts are requests by Call.
type Counts map[Call]int

// Total is the number of requests of ops (all when none is named).
func (c Counts) Total(ops ...string) int {
	n := 0
	for call, k := range c {
		if len(ops) == 0 || slices.Contains(ops, call.Op) {
			n += k
		}
	}
	return n
}

// Minus returns c - o, per call.
func (c Counts) Minus(o Counts) Counts {
	out := Counts{}
	for call, n := range c {
		if d := n - o[call]; d != 0 {
			out[call] = d
		}
	}
	for call, n := range o {
		if _, ok := c[call]; !ok {
			out[call] = -n
		}
	}
	return out
}

// String lists the counts, one "n × call" per line, sorted.
func (c Counts) String() string {
	var lines []string
	for call, n := range c {
		lines = append(lines, fmt.Sprintf("%6d × %s", n, call))
	}
	slices.SortFunc(lines, func(a, b string) int { return strings.Compare(a[9:], b[9:]) })
	return strings.Join(lines, "\n")
}
