package gototest

import "sync/atomic"

// counters records what the token endpoint was asked and answered.
type counters struct {
	tokenRequests      atomic.Int64
	exchangeRequests   atomic.Int64
	refreshRequests    atomic.Int64
	invalidGrants      atomic.Int64
	apiRequests        atomic.Int64
	apiRejections      atomic.Int64
	revocationRequests atomic.Int64
	revocations        atomic.Int64
}

func (c *counters) countTokenRequest(grantType string) {
	c.tokenRequests.Add(1)
	switch grantType {
	case "authorization_code":
		c.exchangeRequests.Add(1)
	case "refresh_token":
		c.refreshRequests.Add(1)
	}
}

// TokenRequests returns how many POST requests reached the token endpoint,
// whatever their grant type or answer (injected failures included).
func (s *Server) TokenRequests() int { return int(s.stats.tokenRequests.Load()) }

// ExchangeRequests returns how many token requests had
// grant_type=authorization_code, whatever their answer.
func (s *Server) ExchangeRequests() int { return int(s.stats.exchangeRequests.Load()) }

// RefreshRequests returns how many token requests had
// grant_type=refresh_token, whatever their answer.
func (s *Server) RefreshRequests() int { return int(s.stats.refreshRequests.Load()) }

// InvalidGrants returns how many invalid_grant answers the token endpoint
// gave, injected ones included.
func (s *Server) InvalidGrants() int { return int(s.stats.invalidGrants.Load()) }

// APIRequests returns how many requests reached the protected API route
// (GET /admin/rest/v1/me), accepted or not.
func (s *Server) APIRequests() int { return int(s.stats.apiRequests.Load()) }

// APIRejections returns how many of APIRequests were refused for their
// access token (401 or 403 InvalidToken).
func (s *Server) APIRejections() int { return int(s.stats.apiRejections.Load()) }
