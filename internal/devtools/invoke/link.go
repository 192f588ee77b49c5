package invoke

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// ResignExpiredLink renews the connect link of an HTTP API event
// (GET /authorize, payload 2.0): connect links expire within minutes, so a
// sample event's link has always expired. When the event's query is a link
// signed with key that has expired, it returns the event with the link's
// expires set to now+ttl and signed again with key (rawQueryString and
// queryStringParameters), and true. Any other event, including a link with
// a wrong signature (a sample of a forged link stays forged), is returned
// unchanged with false.
func ResignExpiredLink(event, key []byte, now time.Time, ttl time.Duration) ([]byte, bool, error) {
	var ev map[string]any
	dec := json.NewDecoder(bytes.NewReader(event))
	dec.UseNumber() // keep timeEpoch and other numbers as written
	if err := dec.Decode(&ev); err != nil || len(key) == 0 {
		return event, false, nil
	}
	raw, _ := ev["rawQueryString"].(string)
	if raw == "" {
		return event, false, nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return event, false, nil
	}
	secs, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	if err != nil {
		return event, false, nil
	}
	// Valid just before it expired, expired now: a genuine, stale link.
	link, err := gotoauth.VerifyLink(q, key, time.Unix(secs, 0).Add(-time.Second))
	if err != nil {
		return event, false, nil
	}
	if _, err := gotoauth.VerifyLink(q, key, now); !errors.Is(err, gotoauth.ErrLinkExpired) {
		return event, false, nil
	}
	link.Expires = now.Add(ttl)
	q.Set("expires", strconv.FormatInt(link.Expires.Unix(), 10))
	q.Set("signature", link.Signature(key))
	ev["rawQueryString"] = q.Encode()
	params := map[string]any{}
	for k, vs := range q {
		params[k] = vs[0]
		for _, v := range vs[1:] {
			params[k] = params[k].(string) + "," + v // API Gateway joins repeated parameters
		}
	}
	ev["queryStringParameters"] = params
	out, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		return nil, false, fmt.Errorf("re-encoding the event: %w", err)
	}
	return out, true, nil
}
