package simulate

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// DefaultReserve is the refresh function's sweep reserve at the defaults,
// read from the connector (TokenSource.SweepReserve): a sweep starts
// refreshes for its timeout minus this. The token source built for it
// makes no call.
func DefaultReserve() (time.Duration, error) {
	store, err := gotoauth.NewStore(dynamodb.New(dynamodb.Options{Region: "us-east-1"}), "simulate")
	if err != nil {
		return 0, err
	}
	ts, err := gotoauth.NewTokenSource(store, &gotoauth.Client{ClientID: "simulate"})
	if err != nil {
		return 0, err
	}
	return ts.SweepReserve(), nil
}
