package devenv

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// testDB is the DynamoDB Local shared by the tests of this package.
var testDB *DynamoDB

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	db, err := StartDynamoDB(context.Background(), DynamoDBOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	testDB = db
	code := m.Run()
	if err := db.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := checkStopped(db); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return code
}
