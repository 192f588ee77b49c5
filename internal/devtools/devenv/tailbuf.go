package devenv

import (
	"bytes"
	"sync"
)

// tailLines is how many output lines of DynamoDB Local are kept for errors.
const tailLines = 20

// tailBuffer is an io.Writer that keeps the last max lines written to it.
// It is safe for concurrent use.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	lines   [][]byte
	partial []byte
}

// newTailBuffer returns a tailBuffer keeping the last max lines.
func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

// Write records p, splitting it into lines.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rest := p
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			t.partial = append(t.partial, rest...)
			break
		}
		line := append(t.partial, rest[:i]...)
		t.partial = nil
		t.lines = append(t.lines, bytes.TrimRight(line, "\r"))
		if len(t.lines) > t.max {
			t.lines = t.lines[len(t.lines)-t.max:]
		}
		rest = rest[i+1:]
	}
	return len(p), nil
}

// String returns the kept lines, newline-terminated, plus any unterminated
// last line.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b bytes.Buffer
	for _, l := range t.lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	b.Write(t.partial)
	return b.String()
}
