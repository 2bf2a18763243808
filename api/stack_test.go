package api_test

import (
	"testing"

	"dealflow/api/apitest"
)

// stack is the harness's stack, with the api tests' own helpers as methods.
type stack struct{ *apitest.Stack }

func newStack(t testing.TB) *stack { return &stack{apitest.New(t)} }

// on is the stack reporting to t, for subtests.
func (s *stack) on(t *testing.T) *stack { return &stack{s.On(t)} }
