package soak

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// Settings shape a soak. Each field is read from the environment variable
// named in its comment; the default is in DefaultSettings.
type Settings struct {
	// Duration of the fault phase (SOAK_DURATION).
	Duration time.Duration
	// Connections created (SOAK_CONNECTIONS).
	Connections int
	// TokenProcesses is how many TokenSource processes run beside the
	// sweep process (SOAK_TOKEN_PROCESSES).
	TokenProcesses int
	// TokenWorkers is how many callers each TokenSource process runs
	// (SOAK_TOKEN_WORKERS); each pauses TokenPause between calls
	// (SOAK_TOKEN_PAUSE).
	TokenWorkers int
	TokenPause   time.Duration
	// Interval is the schedule's longest time between two refreshes of a
	// connection (SOAK_REFRESH_INTERVAL, REFRESH_INTERVAL of the connector).
	Interval time.Duration
	// RefreshTokenLifetime is the life of GoTo's refresh tokens, in gototest
	// and in the schedule (SOAK_REFRESH_TOKEN_LIFETIME).
	RefreshTokenLifetime time.Duration
	// AccessTokenLifetime is the life of GoTo's access tokens
	// (SOAK_ACCESS_TOKEN_LIFETIME); TokenSources refresh Margin before
	// expiry (SOAK_MARGIN), so callers also refresh on demand.
	AccessTokenLifetime time.Duration
	Margin              time.Duration
	// RateLimit is REFRESH_RATE_LIMIT: GoTo calls per second, all
	// processes together (SOAK_RATE_LIMIT).
	RateLimit float64
	// SweepEvery is the pause between two sweeps (SOAK_SWEEP_EVERY) and
	// SweepDeadline each sweep's deadline, as a Lambda timeout
	// (SOAK_SWEEP_DEADLINE).
	SweepEvery    time.Duration
	SweepDeadline time.Duration
	// GoToDelay delays every GoTo token answer (SOAK_GOTO_DELAY).
	GoToDelay time.Duration
	// Revocations is how many connections a customer disconnects at GoTo
	// during the run: a permanent cause of reauth_required
	// (SOAK_REVOCATIONS).
	Revocations int
	// KillWindow is how long after GoTo answered a refresh a SIGKILL of
	// the process that asked is blamed for the rotation never reaching the
	// table (SOAK_KILL_WINDOW): the store retries for minutes, so a process
	// killed within that time may still have held the answer.
	KillWindow time.Duration
	// Seed seeds the fault timeline's randomness (SOAK_SEED; 0: the time).
	Seed int64
	// Output is where the audit is written too (SOAK_OUTPUT).
	Output string
}

// DefaultSettings returns the settings of a plain `make soak`.
func DefaultSettings() Settings {
	return Settings{
		Duration:             4 * time.Minute,
		Connections:          2000,
		TokenProcesses:       3,
		TokenWorkers:         4,
		TokenPause:           100 * time.Millisecond,
		Interval:             60 * time.Second,
		RefreshTokenLifetime: 20 * time.Minute,
		AccessTokenLifetime:  75 * time.Second,
		Margin:               30 * time.Second,
		RateLimit:            100,
		SweepEvery:           2 * time.Second,
		SweepDeadline:        15 * time.Minute, // the refresh function's timeout in template.yaml
		GoToDelay:            20 * time.Millisecond,
		Revocations:          10,
		KillWindow:           3 * time.Minute,
		Output:               ".cache/soak.txt",
	}
}

// SettingsFromEnv returns DefaultSettings with the SOAK_* variables that are
// set applied.
func SettingsFromEnv() (Settings, error) {
	s := DefaultSettings()
	var errs []error
	dur := func(name string, p *time.Duration) {
		if v := os.Getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				errs = append(errs, fmt.Errorf("%s=%q: want a duration like 4m", name, v))
				return
			}
			*p = d
		}
	}
	num := func(name string, p *int) {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Errorf("%s=%q: want a whole number", name, v))
				return
			}
			*p = n
		}
	}
	dur("SOAK_DURATION", &s.Duration)
	num("SOAK_CONNECTIONS", &s.Connections)
	num("SOAK_TOKEN_PROCESSES", &s.TokenProcesses)
	num("SOAK_TOKEN_WORKERS", &s.TokenWorkers)
	dur("SOAK_TOKEN_PAUSE", &s.TokenPause)
	dur("SOAK_REFRESH_INTERVAL", &s.Interval)
	dur("SOAK_REFRESH_TOKEN_LIFETIME", &s.RefreshTokenLifetime)
	dur("SOAK_ACCESS_TOKEN_LIFETIME", &s.AccessTokenLifetime)
	dur("SOAK_MARGIN", &s.Margin)
	dur("SOAK_SWEEP_EVERY", &s.SweepEvery)
	dur("SOAK_SWEEP_DEADLINE", &s.SweepDeadline)
	dur("SOAK_GOTO_DELAY", &s.GoToDelay)
	num("SOAK_REVOCATIONS", &s.Revocations)
	dur("SOAK_KILL_WINDOW", &s.KillWindow)
	if v := os.Getenv("SOAK_RATE_LIMIT"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			errs = append(errs, fmt.Errorf("SOAK_RATE_LIMIT=%q: want calls per second", v))
		} else {
			s.RateLimit = f
		}
	}
	if v := os.Getenv("SOAK_SEED"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("SOAK_SEED=%q: want a number", v))
		}
		s.Seed = n
	}
	if v := os.Getenv("SOAK_OUTPUT"); v != "" {
		s.Output = v
	}
	if s.Connections == 0 || s.Duration == 0 {
		errs = append(errs, fmt.Errorf("SOAK_CONNECTIONS and SOAK_DURATION must be positive"))
	}
	if len(errs) > 0 {
		return s, fmt.Errorf("soak settings: %v", errs)
	}
	return s, nil
}

// env returns the settings as the environment entries a child process reads
// back with SettingsFromEnv.
func (s Settings) env() []string {
	return []string{
		"SOAK_DURATION=" + s.Duration.String(),
		"SOAK_CONNECTIONS=" + strconv.Itoa(s.Connections),
		"SOAK_TOKEN_WORKERS=" + strconv.Itoa(s.TokenWorkers),
		"SOAK_TOKEN_PAUSE=" + s.TokenPause.String(),
		"SOAK_REFRESH_INTERVAL=" + s.Interval.String(),
		"SOAK_REFRESH_TOKEN_LIFETIME=" + s.RefreshTokenLifetime.String(),
		"SOAK_ACCESS_TOKEN_LIFETIME=" + s.AccessTokenLifetime.String(),
		"SOAK_MARGIN=" + s.Margin.String(),
		"SOAK_RATE_LIMIT=" + strconv.FormatFloat(s.RateLimit, 'g', -1, 64),
		"SOAK_SWEEP_EVERY=" + s.SweepEvery.String(),
		"SOAK_SWEEP_DEADLINE=" + s.SweepDeadline.String(),
	}
}

// connectionID names the i-th connection.
func connectionID(i int) string { return fmt.Sprintf("soak-%05d", i) }
