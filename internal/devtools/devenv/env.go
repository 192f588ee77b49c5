package devenv

// Local AWS settings: DynamoDB Local accepts any credentials and region, but
// the SDK needs some.
const (
	// LocalRegion is the region used against DynamoDB Local.
	LocalRegion = "us-east-1"
	// LocalAccessKeyID is the dummy access key id used against DynamoDB Local.
	LocalAccessKeyID = "local"
	// LocalSecretAccessKey is the dummy secret key used against DynamoDB Local.
	LocalSecretAccessKey = "local"
)

// LocalAWSEnv returns environment entries ("KEY=value") that point the AWS
// SDK of a subprocess at the DynamoDB endpoint, with dummy credentials and
// region. Append them to os.Environ() (later entries win in os/exec).
func LocalAWSEnv(endpoint string) []string {
	return []string{
		"AWS_REGION=" + LocalRegion,
		"AWS_ACCESS_KEY_ID=" + LocalAccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + LocalSecretAccessKey,
		"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint,
	}
}
