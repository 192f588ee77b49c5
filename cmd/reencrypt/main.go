// Command reencrypt rewrites every connection's tokens under the active
// token encryption key, or under KMS (enc:kms1) with -kms-key-id, so that
// an old key can then be removed from the secret without losing a
// connection. Each write is conditional on the values it read: a refresh
// in flight wins (and writes under KMS itself). Run it with the AWS credentials of an
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
// secretsmanager:GetSecretValue on the secret, and with -kms-key-id
// kms:Decrypt and kms:GenerateDataKey on the key (encryption context
// service=gotoconnector, table=<table>).
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
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/gotoconnector/gotoconnector/internal/dynamo"
	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

func main() {
	table := flag.String("table", os.Getenv("TABLE_NAME"), "the connector's DynamoDB table (TABLE_NAME)")
	secretID := flag.String("secret-id", os.Getenv("GOTO_SECRET_ID"), "the Secrets Manager secret (GOTO_SECRET_ID)")
	kmsKey := flag.String("kms-key-id", os.Getenv("TOKEN_KMS_KEY_ID"), "the KMS key tokens move to, enc:kms1 (TOKEN_KMS_KEY_ID); empty: the secret's active key")
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
	// It reads the token keys only: a secret without link_signing_key (the
	// stack keeps it in its link secret) is fine.
	src := &secrets.Manager{Client: secretsmanager.NewFromConfig(awsCfg), SecretID: *secretID, Parse: secrets.ParseClient}
	var k *gotoauth.KMSCipher
	if *kmsKey != "" {
		if k, err = gotoauth.NewKMSCipher(kms.NewFromConfig(awsCfg), *kmsKey, *table); err != nil {
			fmt.Fprintln(os.Stderr, "reencrypt:", err)
			os.Exit(2)
		}
	}
	if err := run(ctx, dynamodb.NewFromConfig(awsCfg), *table, src, k, *workers, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "reencrypt:", err)
		os.Exit(1)
	}
}

// errFailures: some connections could not be re-encrypted.
var errFailures = errors.New("some connections could not be re-encrypted: keep the old keys and look at \"failed\"")

// run re-encrypts every connection of table under k (enc:kms1) when not
// nil, else under the active key of the secrets src gives (whose keys also
// read the enc:v1 values), and writes the summary to out: counts and
// connection ids, never a token.
func run(ctx context.Context, db dynamo.Client, table string, src secrets.Source, k *gotoauth.KMSCipher, workers int, out io.Writer) error {
	sec, err := src.Get(ctx)
	if err != nil {
		return err
	}
	if sec.TokenCipher == nil && k == nil {
		return errors.New("the secret has no token_encryption_keys and no -kms-key-id is given: nothing to encrypt under")
	}
	opts := []gotoauth.StoreOption{gotoauth.WithTokenCipher(sec.TokenCipher)}
	if k != nil {
		opts = append(opts, gotoauth.WithKMSCipher(k))
	}
	store, err := gotoauth.NewStore(db, table, opts...)
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
