package invoke

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gotoconnector/gotoconnector/internal/devtools/devenv"
	"github.com/gotoconnector/gotoconnector/internal/service/config"
)

// LinkTTL is how long a re-signed sample connect link is valid.
const LinkTTL = 15 * time.Minute

// LocalOptions configure Local.
type LocalOptions struct {
	// Root is the module root: the Makefile's folder.
	Root string
	// FunctionID is the function's logical id in the template.
	FunctionID string
	// Template is template.yaml.
	Template []byte
	// EnvVars is env.json.
	EnvVars EnvVars
	// Event is the event to send.
	Event []byte
	// Lookup reads the caller's environment (os.LookupEnv); nil reads none.
	Lookup func(string) (string, bool)
	// RIE is the emulator binary (see FindRIE).
	RIE string
	// BuildDir receives the bootstrap; empty means
	// <Root>/.cache/invoke/<FunctionID>.
	BuildDir string
	// Log receives what `sam local invoke` writes to stderr: notes, the
	// build's output and the function's logs. Nil discards them.
	Log io.Writer
	// Now is the clock for re-signing links; nil means time.Now.
	Now func() time.Time
}

// Local does what `sam local invoke` does, without Docker: it builds the
// function's bootstrap for this machine, starts DynamoDB Local (with the
// table) when the function's AWS_ENDPOINT_URL_DYNAMODB is a local endpoint
// that does not answer, runs the bootstrap under the emulator with the
// environment SAM would give it (see Environment), sends the event, stops
// everything it started and returns the function's response.
//
// An event carrying an expired connect link signed with the function's
// local GOTO_LINK_SIGNING_KEY is re-signed first (see ResignExpiredLink),
// and Log says so.
//
// A function error is a response (Lambda's error object), not an error;
// an emulator answer other than 200 is an *InvokeError with the body.
func Local(ctx context.Context, o LocalOptions) ([]byte, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	fn, err := TemplateFunction(o.Template, o.FunctionID)
	if err != nil {
		return nil, err
	}
	if fn.BuildMethod != "makefile" {
		return nil, fmt.Errorf("%s has Metadata.BuildMethod %q; only makefile builds can be run here", fn.LogicalID, fn.BuildMethod)
	}
	env := Environment(fn, o.EnvVars, o.Lookup)

	event := o.Event
	if key := env["GOTO_LINK_SIGNING_KEY"]; key != "" && env["GOTO_SECRET_ID"] == "" {
		renewed, ok, err := ResignExpiredLink(event, []byte(key), now(), LinkTTL)
		if err != nil {
			return nil, err
		}
		if ok {
			event = renewed
			fmt.Fprintf(o.Log, "invoke: the event's connect link had expired; re-signed it with the local link signing key (GOTO_LINK_SIGNING_KEY), valid until %s\n",
				now().Add(LinkTTL).UTC().Format(time.RFC3339))
		}
	}

	dir := o.BuildDir
	if dir == "" {
		dir = filepath.Join(o.Root, ".cache", "invoke", fn.LogicalID)
	}
	fmt.Fprintf(o.Log, "invoke: building %s (make build-%s, linux/%s) into %s\n", fn.LogicalID, fn.LogicalID, HostArch, dir)
	bootstrap, err := Build(ctx, o.Root, fn.LogicalID, dir, o.Log)
	if err != nil {
		return nil, err
	}

	stopDB, err := ensureDynamoDB(ctx, env, o.Log)
	if err != nil {
		return nil, err
	}
	defer stopDB()

	fmt.Fprintf(o.Log, "invoke: invoking %s (%s, %d MB, %ds) under the Lambda Runtime Interface Emulator\n",
		fn.Handler, fn.Runtime, fn.MemorySize, fn.Timeout)
	em, err := Start(ctx, Options{RIE: o.RIE, Bootstrap: bootstrap, Env: Environ(env), Output: o.Log})
	if err != nil {
		return nil, err
	}
	defer em.Close()
	ictx, cancel := context.WithTimeout(ctx, time.Duration(fn.Timeout)*time.Second+30*time.Second)
	defer cancel()
	return em.Invoke(ictx, event)
}

// ensureDynamoDB makes sure a local AWS_ENDPOINT_URL_DYNAMODB answers and
// holds the table: when nothing answers there, it starts DynamoDB Local on
// that port (another one, and env repointed, if the port is taken) and
// creates TABLE_NAME from template.yaml, as make run does. The returned
// function stops what was started. A remote endpoint, or none, is left
// alone.
func ensureDynamoDB(ctx context.Context, env map[string]string, log io.Writer) (func(), error) {
	noop := func() {}
	endpoint := env["AWS_ENDPOINT_URL_DYNAMODB"]
	if endpoint == "" {
		return noop, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || !config.IsLoopbackHost(u.Hostname()) {
		return noop, nil
	}
	var ddb *devenv.DynamoDB
	client := dynamoClient(endpoint, env)
	if !answers(ctx, client) {
		port, _ := strconv.Atoi(u.Port())
		if port != 0 && !portFree(port) {
			fmt.Fprintf(log, "invoke: %s does not answer as DynamoDB and its port is taken: starting DynamoDB Local on another port\n", endpoint)
			port = 0
		} else {
			fmt.Fprintf(log, "invoke: nothing answers at %s: starting DynamoDB Local there\n", endpoint)
		}
		ddb, err = devenv.StartDynamoDB(ctx, devenv.DynamoDBOptions{Port: port})
		if err != nil {
			return nil, err
		}
		if port == 0 {
			env["AWS_ENDPOINT_URL_DYNAMODB"] = ddb.Endpoint()
			fmt.Fprintf(log, "invoke: AWS_ENDPOINT_URL_DYNAMODB=%s for this run\n", ddb.Endpoint())
		}
		client = dynamoClient(ddb.Endpoint(), env)
	}
	stop := func() {
		if ddb != nil {
			if err := ddb.Close(); err != nil {
				fmt.Fprintln(log, "invoke:", err)
			}
		}
	}
	if table := env["TABLE_NAME"]; table != "" {
		if err := devenv.CreateTable(ctx, client, table); err != nil {
			stop()
			return nil, err
		}
	}
	return stop, nil
}

// dynamoClient is a DynamoDB client with the function's region and
// credentials: DynamoDB Local keeps one database per access key and region,
// so the table must be created with the function's.
func dynamoClient(endpoint string, env map[string]string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       env["AWS_REGION"],
		BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(
			env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"]),
	})
}

// answers reports whether a DynamoDB endpoint answers ListTables.
func answers(ctx context.Context, client *dynamodb.Client) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := client.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)},
		func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	return err == nil
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
