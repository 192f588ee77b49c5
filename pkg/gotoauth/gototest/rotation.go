package gototest

import (
	"fmt"
	"time"
)

// Rotation says what a successful refresh does to the refresh token used.
// GoTo's pages disagree, so each documented behaviour is available. Build one
// with RotationKeep, RotationEcho, RotationSingleUse or RotationAfter. The
// zero Rotation is RotationKeep.
type Rotation struct {
	kind rotationKind
	age  time.Duration
}

type rotationKind int

const (
	rotationKeep rotationKind = iota
	rotationEcho
	rotationAfter
)

// RotationKeep keeps the refresh token valid for its whole lifetime; refresh
// responses omit refresh_token (the current host does not always send it).
// This is the default.
func RotationKeep() Rotation { return Rotation{kind: rotationKeep} }

// RotationEcho keeps the refresh token valid for its whole lifetime and sends
// it back, unchanged, in every refresh response.
func RotationEcho() Rotation { return Rotation{kind: rotationEcho} }

// RotationSingleUse issues a new refresh token on every refresh; the one used
// is dead from then on (invalid_grant).
func RotationSingleUse() Rotation { return Rotation{kind: rotationAfter, age: 0} }

// RotationAfter issues a new refresh token, and kills the one used, when the
// one used was issued at least age ago (public integrations report about 18
// days); younger ones are kept and the response omits refresh_token.
// RotationAfter(0) is RotationSingleUse.
func RotationAfter(age time.Duration) Rotation { return Rotation{kind: rotationAfter, age: age} }

// rotates reports whether a refresh token issued age ago is replaced.
func (r Rotation) rotates(age time.Duration) bool {
	return r.kind == rotationAfter && age >= r.age
}

// echoes reports whether a kept refresh token is sent back.
func (r Rotation) echoes() bool { return r.kind == rotationEcho }

// String describes the rotation.
func (r Rotation) String() string {
	switch {
	case r.kind == rotationEcho:
		return "echo"
	case r.kind == rotationAfter && r.age <= 0:
		return "single-use"
	case r.kind == rotationAfter:
		return fmt.Sprintf("after %s", r.age)
	default:
		return "keep"
	}
}
