package gototest_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// postForm posts a token request with the Basic header built the way GoTo
// documents it: base64 of the raw "clientID:clientSecret".
func postForm(srv *gototest.Server, form url.Values) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, srv.TokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Basic "+
		base64.StdEncoding.EncodeToString([]byte(srv.ClientID+":"+srv.ClientSecret)))
	return http.DefaultClient.Do(req)
}

func Example() {
	const callback = "https://app.example/callback"
	srv := gototest.NewServer(gototest.WithRedirectURIs(callback))
	defer srv.Close()

	// The user clicks Allow on the consent page of the authorization URL.
	authorize := srv.AuthorizeURL() + "?" + url.Values{
		"client_id":     {srv.ClientID},
		"response_type": {"code"},
		"redirect_uri":  {callback},
		"state":         {"xyz"},
	}.Encode()
	redirect, err := srv.Approve(authorize)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("state:", redirect.Query().Get("state"))

	// The client exchanges the code.
	res, err := postForm(srv, url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {redirect.Query().Get("code")},
		"redirect_uri": {callback},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		Principal   string `json:"principal"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.StatusCode, tok.TokenType, tok.ExpiresIn, tok.Principal)
	fmt.Println("usable:", srv.ValidAccessToken(tok.AccessToken))
	// Output:
	// state: xyz
	// 200 Bearer 3600 mister.jones@fakemail.com
	// usable: true
}

func ExampleServer_FailNext() {
	srv := gototest.NewServer()
	defer srv.Close()

	// The next two token requests fail, whatever they carry; the third one
	// reaches the real logic (and is refused: the refresh token is unknown).
	srv.FailNext(1, gototest.RateLimited(2*time.Second))
	srv.FailNext(1, gototest.HTMLError(http.StatusBadGateway))
	for range 3 {
		res, err := postForm(srv, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"rt_unknown"}})
		if err != nil {
			log.Fatal(err)
		}
		res.Body.Close()
		if ra := res.Header.Get("Retry-After"); ra != "" {
			fmt.Println(res.StatusCode, "Retry-After:", ra)
		} else {
			fmt.Println(res.StatusCode)
		}
	}
	fmt.Println("refresh requests:", srv.RefreshRequests(), "invalid_grant answers:", srv.InvalidGrants())
	// Output:
	// 429 Retry-After: 2
	// 502
	// 400
	// refresh requests: 3 invalid_grant answers: 1
}

func ExampleServer_Handler() {
	srv := gototest.NewUnstartedServer(gototest.WithStyle(gototest.StyleLegacy))
	defer srv.Close()

	// Mount the server on a listener of your own, under a prefix, and tell it
	// where it is reachable.
	mux := http.NewServeMux()
	mux.Handle("/goto/", http.StripPrefix("/goto", srv.Handler()))
	web := httptest.NewServer(mux)
	defer web.Close()
	srv.SetURL(web.URL + "/goto")

	fmt.Println(strings.TrimPrefix(srv.TokenURL(), web.URL))
	fmt.Println(strings.TrimPrefix(srv.AuthorizeURL(), web.URL))
	// Output:
	// /goto/oauth/token
	// /goto/oauth/authorize
}
