package gotoauth

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/gotoconnector/gotoconnector/internal/ops"
)

// kmsPrefix marks a token sealed under a KMS data key:
// enc:kms1:<base64url(KMS ciphertext blob)>:<base64url(nonce || ciphertext)>.
const kmsPrefix = "enc:kms1:"

// Data-key cache limits (DESIGN.md "Token custody"): a plaintext data key
// is used for at most dataKeyLifetime and dataKeyUses encryptions (or
// decryptions, for a key read back), whichever comes first.
const (
	dataKeyLifetime = 5 * time.Minute
	dataKeyUses     = 10000
	// kmsCallTimeout bounds each KMS call; a slow KMS is a failed call.
	kmsCallTimeout = 5 * time.Second
	// maxReadKeys bounds the data keys a process keeps for reading.
	maxReadKeys = 4096
)

// kmsAPI is the part of *kms.Client the KMS cipher uses.
type kmsAPI interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, opts ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// KMSCipher encrypts the access and refresh tokens at rest by envelope
// encryption under a KMS key: KMS's GenerateDataKey (AES_256) gives a data
// key, bound to the encryption context {"service": "gotoconnector",
// "table": <table name>}; tokens are sealed locally with AES-256-GCM under
// it, with the connection id as additional data (a value copied to another
// connection's item does not decrypt, and a value copied to another table
// does not either: KMS refuses its data key under that table's context).
// Stored values look like
// enc:kms1:<base64url(KMS ciphertext blob)>:<base64url(nonce || ciphertext)>.
//
// The plaintext data key stays in this process's memory only, for at most
// 5 minutes or 10,000 encryptions; a data key read back from the table is
// decrypted through KMS once and kept the same way. The KMS key itself never
// leaves KMS: a copy of the table, the secret, or both, decrypts nothing
// without kms:Decrypt on the key with this encryption context.
//
// A KMS failure (unreachable, throttled, access denied, a blob KMS refuses)
// is reported as ErrStore: transient, like a DynamoDB outage. A KMSCipher
// is safe for concurrent use; build it with NewKMSCipher and give it to the
// store with WithKMSCipher.
type KMSCipher struct {
	client  kmsAPI
	keyID   string
	table   string
	context map[string]string
	now     func() time.Time

	mu     sync.Mutex // guards write and read
	write  *dataKey
	read   map[string]*dataKey // by ciphertext blob
	counts ops.KMSCalls
}

type dataKey struct {
	blob    string // base64url of KMS's ciphertext of the key
	aead    cipher.AEAD
	created time.Time
	uses    int
}

func (k *dataKey) fresh(now time.Time) bool {
	return k != nil && k.uses < dataKeyUses && now.Sub(k.created) < dataKeyLifetime
}

// NewKMSCipher returns a cipher whose data keys come from the KMS key keyID
// (a key ARN, id or alias) through client (usually a *kms.Client), bound to
// table, the DynamoDB table the tokens are stored in (the store checks it
// is its own). It makes no call: the first encryption asks for a data key.
func NewKMSCipher(client *kms.Client, keyID, table string) (*KMSCipher, error) {
	switch {
	case client == nil:
		return nil, fmt.Errorf("%w: NewKMSCipher needs a KMS client", ErrNotConfigured)
	case keyID == "":
		return nil, fmt.Errorf("%w: NewKMSCipher needs a KMS key id", ErrNotConfigured)
	case table == "":
		return nil, fmt.Errorf("%w: NewKMSCipher needs the table name", ErrNotConfigured)
	}
	return &KMSCipher{
		client:  client,
		keyID:   keyID,
		table:   table,
		context: map[string]string{"service": "gotoconnector", "table": table},
		now:     time.Now,
		read:    map[string]*dataKey{},
	}, nil
}

// Calls reports the KMS requests made so far.
func (k *KMSCipher) Calls() ops.KMSCalls {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.counts
}

// Encrypt seals token for connection connectionID under the current data
// key, asking KMS for a new one when there is none or it is used up.
func (k *KMSCipher) Encrypt(ctx context.Context, token, connectionID string) (string, error) {
	dk, err := k.writeKey(ctx)
	if err != nil {
		return "", err
	}
	aead := dk.aead
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(token)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := aead.Seal(nonce, nonce, []byte(token), []byte(connectionID))
	return kmsPrefix + dk.blob + ":" + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Decrypt opens a value written by Encrypt for the same connection and
// table. A KMS failure is an ErrStore error (transient); a value that is
// damaged or belongs to another connection is an ErrTokenKey error.
func (k *KMSCipher) Decrypt(ctx context.Context, value, connectionID string) (string, error) {
	blob, data, ok := strings.Cut(strings.TrimPrefix(value, kmsPrefix), ":")
	if !strings.HasPrefix(value, kmsPrefix) || !ok {
		return "", fmt.Errorf("%w: malformed KMS-encrypted value", ErrTokenKey)
	}
	sealed, err := base64.RawURLEncoding.DecodeString(data)
	if err != nil {
		return "", fmt.Errorf("%w: malformed KMS-encrypted value", ErrTokenKey)
	}
	dk, err := k.readKey(ctx, blob)
	if err != nil {
		return "", err
	}
	aead := dk.aead
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return "", fmt.Errorf("%w: malformed KMS-encrypted value", ErrTokenKey)
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(connectionID))
	if err != nil {
		return "", fmt.Errorf("%w: it does not decrypt for this connection", ErrTokenKey)
	}
	return string(plain), nil
}

// writeKey returns the data key to encrypt with, counting the use. The
// lock is held across GenerateDataKey, so that concurrent writers wait for
// one data key instead of each asking for their own.
func (k *KMSCipher) writeKey(ctx context.Context) (*dataKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if !k.write.fresh(now) {
		cctx, cancel := context.WithTimeout(ctx, kmsCallTimeout)
		defer cancel()
		k.counts.GenerateDataKey++
		out, err := k.client.GenerateDataKey(cctx, &kms.GenerateDataKeyInput{
			KeyId:             &k.keyID,
			KeySpec:           kmstypes.DataKeySpecAes256,
			EncryptionContext: k.context,
		})
		if err != nil {
			return nil, kmsError("GenerateDataKey", err)
		}
		dk, err := newDataKey(out.Plaintext, base64.RawURLEncoding.EncodeToString(out.CiphertextBlob), now)
		clear(out.Plaintext)
		if err != nil {
			return nil, err
		}
		k.write = dk
		// What this process writes, it reads back without asking KMS.
		k.remember(&dataKey{blob: dk.blob, aead: dk.aead, created: now})
	}
	k.write.uses++
	return k.write, nil
}

// readKey returns the data key of blob, decrypting it through KMS when it
// is not cached (or its cache life is over), and counts the use.
func (k *KMSCipher) readKey(ctx context.Context, blob string) (*dataKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if dk := k.read[blob]; dk.fresh(now) {
		dk.uses++
		return dk, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(blob)
	if err != nil || len(raw) == 0 {
		return nil, fmt.Errorf("%w: malformed KMS-encrypted value", ErrTokenKey)
	}
	cctx, cancel := context.WithTimeout(ctx, kmsCallTimeout)
	defer cancel()
	k.counts.Decrypt++
	out, err := k.client.Decrypt(cctx, &kms.DecryptInput{
		CiphertextBlob:    raw,
		KeyId:             &k.keyID,
		EncryptionContext: k.context,
	})
	if err != nil {
		return nil, kmsError("Decrypt", err)
	}
	dk, err := newDataKey(out.Plaintext, blob, now)
	clear(out.Plaintext)
	if err != nil {
		return nil, err
	}
	dk.uses = 1
	k.remember(dk)
	return dk, nil
}

// remember caches a data key for reading, dropping expired ones (and, past
// maxReadKeys, all) so the cache stays bounded. Called with mu held.
func (k *KMSCipher) remember(dk *dataKey) {
	if len(k.read) >= maxReadKeys {
		for blob, old := range k.read {
			if !old.fresh(dk.created) {
				delete(k.read, blob)
			}
		}
		if len(k.read) >= maxReadKeys {
			clear(k.read)
		}
	}
	k.read[dk.blob] = dk
}

// newDataKey builds the AES-256-GCM cipher of a plaintext data key.
func newDataKey(plain []byte, blob string, now time.Time) (*dataKey, error) {
	if len(plain) != 32 {
		return nil, fmt.Errorf("%w: KMS returned a %d-byte data key, want 32 (AES-256)", ErrStore, len(plain))
	}
	aead, err := newGCM(plain)
	if err != nil {
		return nil, err
	}
	return &dataKey{blob: blob, aead: aead, created: now}, nil
}

// kmsError wraps a failed KMS call as ErrStore (transient: the connection
// and GoTo's answer are kept, and the call is tried again), keeping the
// SDK's error for errors.As. KMS's messages name no key material.
func kmsError(op string, err error) error {
	var ice *kmstypes.InvalidCiphertextException
	if errors.As(err, &ice) {
		return fmt.Errorf("%w: KMS %s refused the data key (another key or encryption context?): %w", ErrStore, op, err)
	}
	return fmt.Errorf("%w: KMS %s: %w", ErrStore, op, err)
}
