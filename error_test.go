package lanyard_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/lanyard-sso/lanyard"
)

func TestValidationErrorErr(t *testing.T) {
	var v lanyard.ValidationError
	if err := v.Err(); err != nil {
		t.Fatalf("no problem: Err() = %v, want nil", err)
	}
	v.Add("name: required")
	v.Add("email %q: not an address", "x")
	err := fmt.Errorf("save: %w", v.Err())
	v.Add("added after Err")

	if k := lanyard.ErrorKind(err); k != lanyard.KindInvalid {
		t.Errorf("kind %v, want invalid", k)
	}
	var ve *lanyard.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("errors.As(%v, *ValidationError) = false", err)
	}
	want := []string{"name: required", `email "x": not an address`}
	if !slices.Equal(ve.Problems, want) {
		t.Errorf("problems %q, want %q", ve.Problems, want)
	}
	wantMsg := "2 problems:\n  - name: required\n  - email \"x\": not an address"
	if msg := lanyard.ErrorMessage(err); msg != wantMsg {
		t.Errorf("message %q, want %q", msg, wantMsg)
	}
	// The problems are said once, not again as the wrapped cause.
	if got := err.Error(); got != "save: "+wantMsg {
		t.Errorf("Error() = %q, want %q", got, "save: "+wantMsg)
	}
}
