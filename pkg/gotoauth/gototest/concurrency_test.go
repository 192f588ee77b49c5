package gototest_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// refreshAll refreshes rt from n goroutines at once and returns the statuses
// and the refresh tokens returned.
func refreshAll(t *testing.T, s *gototest.Server, rt string, n int) (statuses map[int]int, issued []string) {
	t.Helper()
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	statuses = map[int]int{}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	body := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}.Encode()
	auth := rawBasic(s.ClientID, s.ClientSecret)
	for range n {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", auth)
			res, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			var m map[string]any
			_ = decodeJSON(res, &m)
			mu.Lock()
			defer mu.Unlock()
			statuses[res.StatusCode]++
			if s, ok := m["refresh_token"].(string); ok {
				issued = append(issued, s)
			}
		})
	}
	close(start)
	wg.Wait()
	return statuses, issued
}

func TestConcurrentRefreshKeep(t *testing.T) {
	s := start(t)
	rt := login(t, s).str("refresh_token")
	statuses, issued := refreshAll(t, s, rt, 100)
	if statuses[200] != 100 || len(issued) != 0 {
		t.Errorf("statuses %v, %d refresh tokens issued", statuses, len(issued))
	}
	if s.RefreshRequests() != 100 || !s.ValidRefreshToken(rt) {
		t.Errorf("RefreshRequests %d, valid %v", s.RefreshRequests(), s.ValidRefreshToken(rt))
	}
}

func TestConcurrentRefreshSingleUse(t *testing.T) {
	s := start(t, gototest.WithSingleUseRefreshTokens())
	rt := login(t, s).str("refresh_token")
	statuses, issued := refreshAll(t, s, rt, 100)
	if statuses[200] != 1 || statuses[400] != 99 || len(issued) != 1 {
		t.Fatalf("statuses %v, %d refresh tokens issued", statuses, len(issued))
	}
	if s.InvalidGrants() != 99 || !s.ValidRefreshToken(issued[0]) || s.ValidRefreshToken(rt) {
		t.Errorf("InvalidGrants %d", s.InvalidGrants())
	}
}

func TestConcurrentFailNext(t *testing.T) {
	s := start(t)
	rt := login(t, s).str("refresh_token")
	s.FailNext(50, gototest.ServerError(503))
	statuses, _ := refreshAll(t, s, rt, 100)
	if statuses[503] != 50 || statuses[200] != 50 {
		t.Errorf("statuses %v", statuses)
	}
}

func TestConcurrentEverything(t *testing.T) {
	s := start(t, gototest.WithSingleUseRefreshTokens())
	var tokens []string
	for range 20 {
		tokens = append(tokens, login(t, s).str("refresh_token"))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(tokens))
	for i, rt := range tokens {
		wg.Go(func() {
			if i%3 == 0 {
				s.FailNext(1, gototest.ServerError(500))
			}
			for range 5 {
				status, m, err := tryRefresh(s, rt)
				if err != nil {
					errs <- err
					return
				}
				if status == http.StatusOK {
					rt, _ = m["refresh_token"].(string)
					at, _ := m["access_token"].(string)
					if !s.ValidAccessToken(at) {
						errs <- errors.New("refreshed access token is not valid")
						return
					}
				}
			}
			_ = s.TokenRequests() + s.InvalidGrants()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s.ExchangeRequests() != 20 || s.RefreshRequests() != 100 || s.InvalidGrants() != 0 {
		t.Errorf("exchange %d refresh %d invalid_grant %d", s.ExchangeRequests(), s.RefreshRequests(), s.InvalidGrants())
	}
}

// tryRefresh is refresh without testing.T, for goroutines.
func tryRefresh(s *gototest.Server, rt string) (int, map[string]any, error) {
	body := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}.Encode()
	req, err := http.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", rawBasic(s.ClientID, s.ClientSecret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	var m map[string]any
	_ = decodeJSON(res, &m)
	return res.StatusCode, m, nil
}

func decodeJSON(res *http.Response, v any) error {
	return json.NewDecoder(res.Body).Decode(v)
}
