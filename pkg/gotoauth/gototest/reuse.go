package gototest

// spentTokens remembers the refresh tokens that a successful refresh
// rotated away, so that presenting one again (a single-use refresh token
// spent twice) can be counted; guarded by Server.mu.
type spentTokens struct {
	tokens map[string]struct{}
	reuses int
}

// markSpent records that rt was rotated away. The caller holds s.mu.
func (s *Server) markSpent(rt string) {
	if s.spent.tokens == nil {
		s.spent.tokens = make(map[string]struct{})
	}
	s.spent.tokens[rt] = struct{}{}
}

// noteUnknown counts rt as reused when a refresh rotated it away earlier.
// The caller holds s.mu.
func (s *Server) noteUnknown(rt string) {
	if _, ok := s.spent.tokens[rt]; ok {
		s.spent.reuses++
	}
}

// RefreshTokenReuses returns how many refresh requests presented a refresh
// token that an earlier successful refresh had already rotated away: a
// single-use refresh token spent twice (each such request is answered
// invalid_grant). A client that never loses GoTo's answer keeps it at zero.
// Injected failures consume nothing, so retrying after one is no reuse; a
// token revoked or expired rather than rotated is not counted either.
func (s *Server) RefreshTokenReuses() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spent.reuses
}
