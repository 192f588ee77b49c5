package invoke

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// ParametersKey is the env.json section that applies to every function.
const ParametersKey = "Parameters"

// EnvVars is an env.json file as `sam local invoke --env-vars` reads it:
// {"Parameters": {...}, "<LogicalId>": {"NAME": "value", ...}, ...}. Values
// are stringified as SAM does (true is "true", numbers as written).
type EnvVars map[string]map[string]string

// ParseEnvVars reads env.json.
func ParseEnvVars(data []byte) (EnvVars, error) {
	var raw map[string]map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("env.json must be a JSON object of objects ({\"Parameters\": {...}, \"<LogicalId>\": {\"NAME\": \"value\"}}): %w", err)
	}
	out := EnvVars{}
	for section, vars := range raw {
		out[section] = map[string]string{}
		for k, v := range vars {
			out[section][k] = stringify(v)
		}
	}
	return out, nil
}

// stringify turns a JSON value into an environment value the way SAM does:
// lists, objects and null become "".
func stringify(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return v.String()
	}
	return ""
}

// Overrides returns the values env.json gives function logicalID: its
// Parameters, then its own section, which wins.
func (e EnvVars) Overrides(logicalID string) map[string]string {
	out := maps.Clone(e[ParametersKey])
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, e[logicalID])
	return out
}

// SAM's placeholders when no AWS credentials or region are configured.
const (
	defaultRegion    = "us-east-1"
	defaultAccessKey = "defaultkey"
	defaultSecretKey = "defaultsecret"
	// AccountID is the account id sam local invoke reports.
	AccountID = "123456789012"
)

// awsCredentialVars are the AWS variables SAM always gives a function (from
// the caller's credentials, or placeholders).
var awsCredentialVars = []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}

// Environment returns the environment of fn as `sam local invoke` builds it
// inside its container, for a run outside one:
//
//   - the Lambda variables (AWS_LAMBDA_FUNCTION_NAME, _MEMORY_SIZE,
//     _TIMEOUT, _HANDLER, ..., AWS_SAM_LOCAL=true) and AWS_REGION,
//     AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
//     AWS_SESSION_TOKEN from the caller's environment, else SAM's
//     placeholders;
//   - each variable the template declares, with its default, replaced by the
//     caller's environment, replaced by env.json (Parameters, then the
//     function's section), SAM's order of precedence.
//
// One difference, for local runs: SAM drops env.json names the template does
// not declare, while here they are passed too (env.json wins over the
// caller's environment). That is how env.json points a local run at
// DynamoDB Local (AWS_ENDPOINT_URL_DYNAMODB) and gives it local secrets
// (GOTO_CLIENT_SECRET, GOTO_LINK_SIGNING_KEY) without changing the template.
//
// Nothing else of the caller's environment is passed.
func Environment(fn *Function, vars EnvVars, lookup func(string) (string, bool)) map[string]string {
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	overrides := vars.Overrides(fn.LogicalID)
	env := map[string]string{
		"AWS_SAM_LOCAL":                   "true",
		"AWS_LAMBDA_FUNCTION_NAME":        fn.LogicalID,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemorySize),
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(fn.Timeout),
		"AWS_LAMBDA_FUNCTION_HANDLER":     fn.Handler,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "aws/lambda/" + fn.LogicalID,
		"AWS_LAMBDA_LOG_STREAM_NAME":      "$LATEST",
		"AWS_ACCOUNT_ID":                  AccountID,
	}
	for _, k := range awsCredentialVars {
		if v, ok := lookup(k); ok && v != "" {
			env[k] = v
		}
	}
	if env["AWS_REGION"] == "" {
		env["AWS_REGION"] = env["AWS_DEFAULT_REGION"]
	}
	for k, def := range map[string]string{"AWS_REGION": defaultRegion, "AWS_ACCESS_KEY_ID": defaultAccessKey, "AWS_SECRET_ACCESS_KEY": defaultSecretKey} {
		if env[k] == "" {
			env[k] = def
		}
	}
	env["AWS_DEFAULT_REGION"] = env["AWS_REGION"]

	for name, value := range fn.Env {
		if v, ok := lookup(name); ok {
			value = v
		}
		env[name] = value
	}
	maps.Copy(env, overrides)
	if _, ok := overrides["AWS_REGION"]; ok {
		if _, ok := overrides["AWS_DEFAULT_REGION"]; !ok {
			env["AWS_DEFAULT_REGION"] = env["AWS_REGION"]
		}
	}
	if _, ok := overrides["AWS_ACCESS_KEY_ID"]; ok {
		if _, ok := overrides["AWS_SESSION_TOKEN"]; !ok {
			delete(env, "AWS_SESSION_TOKEN") // it belongs to other credentials
		}
	}
	if env["AWS_SESSION_TOKEN"] == "" {
		delete(env, "AWS_SESSION_TOKEN")
	}
	return env
}

// Environ turns an environment map into "NAME=value" entries, sorted.
func Environ(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}
