// Command reencrypt rewrites every connection's tokens under the active
// token encryption key, so that an old key can then be removed from the
// secret without losing a connection. Run it with the AWS credentials of an
// operator, after adding the new key to token_encryption_keys and making it
// token_encryption_active_key (keep the old key listed until it reports no
// failure):
//
//	AWS_REGION=eu-west-1 go run ./cmd/reencrypt -table <TableName output> -secret-id goto-connector
//
// It reads the secret from Secrets Manager, finds connections through the
// table's due index (never a scan), and prints a JSON summary: seen,
// reencrypted, and failed (connection id to reason). It exits 1 when any
// connection failed. Connections waiting for the customer to connect again
// are not in the index and keep their old values; their tokens are dead,
// and a reconnect writes new ones under the active key.
//
// The operator needs dynamodb:Query on the table's index/due,
// dynamodb:GetItem and dynamodb:UpdateItem on the table, and
// secretsmanager:GetSecretValue on the secret.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/gotoconnector/gotoconnector/internal/dynamo"
	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

func main() {
	table := flag.String("table", os.Getenv("TABLE_NAME"), "the connector's DynamoDB table (TABLE_NAME)")
	secretID := flag.String("secret-id", os.Getenv("GOTO_SECRET_ID"), "the Secrets Manager secret (GOTO_SECRET_ID)")
	workers := flag.Int("workers", 8, "connections re-encrypted at once")
	flag.Parse()
	if *table == "" || *secretID == "" {
		fmt.Fprintln(os.Stderr, "reencrypt: -table and -secret-id are required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reencrypt: AWS configuration:", err)
		os.Exit(2)
	}
	src := &secrets.Manager{Client: secretsmanager.NewFromConfig(awsCfg), SecretID: *secretID}
	if err := run(ctx, dynamodb.NewFromConfig(awsCfg), *table, src, *workers, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "reencrypt:", err)
		os.Exit(1)
	}
}

// errFailures: some connections could not be re-encrypted.
var errFailures = errors.New("some connections could not be re-encrypted: keep the old keys and look at \"failed\"")

// run re-encrypts every connection of table under the active key of the
// secrets src gives, and writes the summary to out.
func run(ctx context.Context, db dynamo.Client, table string, src secrets.Source, workers int, out io.Writer) error {
	sec, err := src.Get(ctx)
	if err != nil {
		return err
	}
	if sec.TokenCipher == nil {
		return errors.New("the secret has no token_encryption_keys: nothing is encrypted")
	}
	store, err := gotoauth.NewStore(db, table, gotoauth.WithTokenCipher(sec.TokenCipher))
	if err != nil {
		return err
	}
	sum, err := store.ReencryptAll(ctx, workers)
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	_ = enc.Encode(sum)
	if err != nil {
		return err
	}
	if len(sum.Failed) > 0 {
		return errFailures
	}
	return nil
}
