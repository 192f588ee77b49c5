package secrets

import (
	"context"
	"time"
)

// Reloader is a Source that can be told its secrets may be stale: a
// rotated client secret that GoTo already refuses (invalid_client).
type Reloader interface {
	Source
	// Reload reads the secrets again now, unless it did so within
	// MinReloadInterval, and returns the current ones.
	Reload(ctx context.Context) (*Secrets, error)
}

// MinReloadInterval spaces forced reads of the secret, so that a client
// secret that stays wrong costs one Secrets Manager call per interval, not
// one per request.
const MinReloadInterval = 30 * time.Second

// Reload reads the secret from Secrets Manager now, however fresh the
// cache, but at most once per MinReloadInterval, and caches it as Get does. On failure it returns the
// error and keeps what it had.
func (m *Manager) Reload(ctx context.Context) (*Secrets, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	if m.cached != nil && !m.reloaded.IsZero() && now.Sub(m.reloaded) < MinReloadInterval {
		return m.cached, nil
	}
	m.reloaded = now
	s, err := m.fetch(ctx)
	if err != nil {
		return nil, err
	}
	m.fetched = now
	return s, nil
}
