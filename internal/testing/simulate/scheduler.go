package simulate

// scheduler is the new scheduler: internal/schedule's functions, the
// ones the sweep calls.
type scheduler struct{ *baseline }

func newScheduler(s Scenario) (policy, error) { return scheduler{newBaseline(s)}, nil }
