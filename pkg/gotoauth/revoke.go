package gotoauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// maxRevokeTime bounds a whole revocation, whatever the Client's
// AnswerTimeout: nothing is lost when one is given up on.
const maxRevokeTime = 10 * time.Second

// Revoke revokes refreshToken at Endpoint.RevokeURL (RFC 7009:
// token=...&token_type_hint=refresh_token, with the same raw Basic client
// credentials as the token requests). It returns nil when GoTo answered 200,
// which it does also for a token that is unknown or already revoked. It
// gives up after ConnectTimeout to reach GoTo and at most 10 seconds in all;
// it returns an error wrapping ErrNotConfigured when the Endpoint has no
// RevokeURL. The error never contains the token.
func (c *Client) Revoke(ctx context.Context, refreshToken string) error {
	if c == nil || c.ClientID == "" {
		return fmt.Errorf("%w: Client.ClientID is empty", ErrNotConfigured)
	}
	revokeURL := c.endpoint().RevokeURL
	if revokeURL == "" {
		return fmt.Errorf("%w: no revocation URL", ErrNotConfigured)
	}
	if refreshToken == "" {
		return errors.New("gotoauth: revoke: no refresh token")
	}
	ctx, stop := context.WithTimeout(ctx, maxRevokeTime)
	defer stop()
	form := url.Values{"token": {refreshToken}, "token_type_hint": {"refresh_token"}}
	_, resp, done, err := c.postForm(ctx, revokeURL, "revocation", form)
	if err != nil {
		if errors.Is(err, ErrNotConfigured) {
			return err
		}
		return fmt.Errorf("gotoauth: revoke: %w", err)
	}
	defer done()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	// Only the OAuth error code is kept, and only when it looks like one:
	// nothing GoTo echoes can carry the token into the message.
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && isErrorCode(e.Error) {
		return fmt.Errorf("gotoauth: revoke: HTTP %d %s", resp.StatusCode, e.Error)
	}
	return fmt.Errorf("gotoauth: revoke: HTTP %d", resp.StatusCode)
}

// isErrorCode reports whether s is a short OAuth error code
// ([a-z_], at most 40 characters).
func isErrorCode(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '_' {
			return false
		}
	}
	return true
}
