package gotoauth

// Identity is who a GoTo token belongs to, as GoTo describes the account:
// the legacy api.getgo.com host sends the keys, email and names, the current
// authentication.logmeininc.com host sends principal and scope. Any field
// may be empty. Token, Connection and Event embed it; the Connections API,
// the lifecycle events and the store's items use the same names.
type Identity struct {
	AccountKey   string `json:"account_key,omitempty" dynamodbav:"account_key,omitempty"`
	OrganizerKey string `json:"organizer_key,omitempty" dynamodbav:"organizer_key,omitempty"`
	Email        string `json:"email,omitempty" dynamodbav:"email,omitempty"`
	Principal    string `json:"principal,omitempty" dynamodbav:"principal,omitempty"`
	FirstName    string `json:"first_name,omitempty" dynamodbav:"first_name,omitempty"`
	LastName     string `json:"last_name,omitempty" dynamodbav:"last_name,omitempty"`
	AccountType  string `json:"account_type,omitempty" dynamodbav:"account_type,omitempty"`
	Scope        string `json:"scope,omitempty" dynamodbav:"scope,omitempty"`
}

// Account names the GoTo account for people: the email or principal when
// GoTo sent one, else the organizer or account key.
func (id Identity) Account() string {
	for _, s := range []string{id.Email, id.Principal, id.OrganizerKey, id.AccountKey} {
		if s != "" {
			return s
		}
	}
	return ""
}
