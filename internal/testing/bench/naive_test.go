package bench_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// NaiveDB is the part of *dynamodb.Client the naive sweep uses.
type NaiveDB interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Naive is the sweep as it would be written without the due index, the
// lease or any concurrency: scan the whole table, keep the active
// connections whose next refresh is due, and refresh them one after the
// other, each written back with a plain UpdateItem (no condition). It is the
// baseline of the benchmarks, not something to run in production: two of
// them at once would both use a single-use refresh token, and a crash
// between GoTo's answer and the write loses the token.
//
// It writes the same attributes the Store does, so that the Store can keep
// working on the table afterwards.
type Naive struct {
	DB       NaiveDB
	Table    string
	Client   *gotoauth.Client
	Cipher   *gotoauth.TokenCipher // nil: tokens are stored in the clear
	Schedule gotoauth.Schedule
	Now      func() time.Time
}

// NaiveResult says what a naive sweep did and how long its parts took.
type NaiveResult struct {
	// Scanned is how many items the scan read (every item of the table).
	Scanned int
	// Due is how many of them were active connections due now.
	Due int
	// Refreshed and Failed count the refreshes tried (at most limit).
	Refreshed, Failed int
	// ScanTime is the time of the full table scan; RefreshTime that of the
	// sequential refreshes after it.
	ScanTime, RefreshTime time.Duration
}

// Sweep scans the table and refreshes, one by one, the first limit due
// connections it found (all of them when limit <= 0).
func (n *Naive) Sweep(ctx context.Context, limit int) (NaiveResult, error) {
	var res NaiveResult
	now := n.Now()
	start := time.Now()
	var due []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(n.DB, &dynamodb.ScanInput{TableName: aws.String(n.Table)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return res, fmt.Errorf("naive: scanning: %w", err)
		}
		for _, item := range page.Items {
			res.Scanned++
			if !strings.HasPrefix(str(item, "pk"), "conn#") || str(item, "status") != string(gotoauth.StatusActive) {
				continue
			}
			if next := num(item, "next_refresh_at"); next == 0 || next > now.Unix() {
				continue
			}
			due = append(due, item)
		}
	}
	res.ScanTime = time.Since(start)
	res.Due = len(due)
	if limit > 0 && len(due) > limit {
		due = due[:limit]
	}

	start = time.Now()
	for _, item := range due {
		if err := n.refresh(ctx, item); err != nil {
			if ctx.Err() != nil {
				return res, err
			}
			res.Failed++
			continue
		}
		res.Refreshed++
	}
	res.RefreshTime = time.Since(start)
	return res, nil
}

// refresh refreshes one scanned connection and writes the answer back.
func (n *Naive) refresh(ctx context.Context, item map[string]types.AttributeValue) error {
	id := str(item, "connection_id")
	rt, err := n.Cipher.Decrypt(str(item, "refresh_token"), id)
	if err != nil {
		return err
	}
	tok, err := n.Client.Refresh(ctx, rt)
	if err != nil {
		return err
	}
	now := n.Now()
	refreshExpiry := time.Unix(num(item, "refresh_token_expires_at"), 0)
	set := []string{"access_token = :at", "access_token_expires_at = :ate", "refreshed_at = :now", "next_refresh_at = :next"}
	vals := map[string]types.AttributeValue{
		":at":  &types.AttributeValueMemberS{Value: n.seal(tok.AccessToken, id)},
		":ate": numAttr(unix(tok.Expiry)),
		":now": numAttr(now.Unix()),
		":one": numAttr(1),
	}
	if tok.RefreshToken != "" {
		refreshExpiry = n.Schedule.RefreshTokenExpiry(now)
		set = append(set, "refresh_token = :rt", "refresh_token_expires_at = :rte")
		vals[":rt"] = &types.AttributeValueMemberS{Value: n.seal(tok.RefreshToken, id)}
		vals[":rte"] = numAttr(refreshExpiry.Unix())
	}
	vals[":next"] = numAttr(n.Schedule.Next(id, now, tok.Expiry, refreshExpiry).Unix())
	_, err = n.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(n.Table),
		Key:                       map[string]types.AttributeValue{"pk": item["pk"]},
		UpdateExpression:          aws.String("SET " + strings.Join(set, ", ") + " ADD version :one"),
		ExpressionAttributeValues: vals,
	})
	if err != nil {
		return fmt.Errorf("naive: writing tokens of %s: %w", id, err)
	}
	return nil
}

func (n *Naive) seal(token, id string) string {
	if n.Cipher == nil {
		return token
	}
	return n.Cipher.Encrypt(token, id)
}

func str(item map[string]types.AttributeValue, k string) string {
	if v, ok := item[k].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func num(item map[string]types.AttributeValue, k string) int64 {
	if v, ok := item[k].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func numAttr(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
