// Package gotoauth gives a SaaS backend its customers' GoTo accounts
// (GoToWebinar, GoToMeeting, GoToConnect): valid access tokens and an
// authenticated HTTP client for GoTo's APIs, on the connections the GoTo
// connector stores in DynamoDB.
//
//	cfg, _ := config.LoadDefaultConfig(ctx)
//	store, err := gotoauth.NewStore(dynamodb.NewFromConfig(cfg), "goto-connector-table")
//	if err != nil {
//		log.Fatal(err) // a missing client or table name
//	}
//	ts, err := gotoauth.NewTokenSource(store,
//		&gotoauth.Client{ClientID: clientID, ClientSecret: clientSecret},
//		gotoauth.WithRateLimit(10)) // REFRESH_RATE_LIMIT, shared with the sweep
//	if err != nil {
//		log.Fatal(err)
//	}
//	resp, err := ts.Client(ctx, "customer-42").Get("https://api.getgo.com/admin/rest/v1/me")
//	if err != nil {
//		switch gotoauth.Classify(err) {
//		case gotoauth.Permanent: // ErrReauthRequired: send the customer a new connect link
//		case gotoauth.NotFound: // never connected, or disconnected
//		default: // Transient: try again later; Configuration: an operator must act
//		}
//		return err
//	}
//	defer resp.Body.Close() // GoTo's answer
//
// With token_encryption_keys in the connector's secret, add
// WithTokenCipher (and RequireEncryption) to NewStore.
//
// The pieces:
//
//   - [TokenSource] hands out access tokens that are valid for at least a
//     margin ([TokenSource.AccessToken]), and an *http.Client that sets them
//     and refreshes once when GoTo rejects one ([TokenSource.Client]). It
//     refreshes through each connection's lease in the table, so it never
//     spends a refresh token the scheduled sweep ([TokenSource.Sweep]) or
//     another process is using, and it keeps GoTo's answer through store
//     outages of minutes.
//   - [Store] keeps connections in DynamoDB, encrypted at rest with a
//     [TokenCipher].
//   - [Client] talks to GoTo's authorization server with the raw Basic
//     credentials GoTo documents (golang.org/x/oauth2 form-encodes them,
//     which GoTo rejects for secrets containing '+', '/' or '='); [Token] is
//     its answer.
//   - [SignLink] and [VerifyLink] mint and check the signed connect links a
//     backend sends its customers to.
//   - Errors sort into classes ([Classify]): permanent (the customer must
//     connect again), transient (try again later), configuration (the
//     operator must act) and not found.
//
// Package gototest, beside this one, is a GoTo-compatible authorization
// server for tests, in the spirit of net/http/httptest.
package gotoauth
