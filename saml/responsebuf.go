package saml

import (
	"strings"
	"sync"
)

// The decoded XML of a Response is parsed in place (parseXMLOwned): the
// tree's strings, and those the validation reads from it, point into its
// buffer. The buffer is reused for a later response only after a
// successful validation, once the Assertion has been copied out of it
// (detach); a refused response leaves its buffer to the garbage collector,
// since its error may quote the response. Reuse saves the largest
// allocation of a validation, the decoded response, and the garbage
// collection work that goes with it.

// maxPooledResponse bounds the buffers kept for reuse (larger responses
// are rare: 200 groups take 33 KB).
const maxPooledResponse = 256 << 10

var responseBufs sync.Pool // *[]byte

// getResponseBuf returns a buffer of length n, reused when one large
// enough is at hand.
func getResponseBuf(n int) *[]byte {
	if n <= maxPooledResponse {
		if p, ok := responseBufs.Get().(*[]byte); ok && cap(*p) >= n {
			*p = (*p)[:n]
			return p
		}
	}
	// A power of two from 8 KiB, so that buffers fit the next responses.
	c := 8 << 10
	for c < n {
		c <<= 1
	}
	b := make([]byte, n, c)
	return &b
}

// putResponseBuf gives a buffer back; nothing may point into it any more.
// Under the race detector it is overwritten instead of reused, so that a
// string still pointing into it reads garbage and a test notices.
func putResponseBuf(p *[]byte) {
	if cap(*p) > maxPooledResponse {
		return
	}
	if poisonResponseBufs {
		b := (*p)[:cap(*p)]
		for i := range b {
			b[i] = '#'
		}
		return
	}
	responseBufs.Put(p)
}

// detach copies every string of the Assertion, and the others given, into
// one new allocation, so that none points into the response's buffer.
func (a *Assertion) detach(others ...*string) {
	n := 0
	each := func(s *string) { n += len(*s) }
	a.eachString(each)
	for _, s := range others {
		each(s)
	}
	var b strings.Builder
	b.Grow(n)
	each = func(s *string) { b.WriteString(*s) }
	a.eachString(each)
	for _, s := range others {
		each(s)
	}
	all := b.String()
	each = func(s *string) {
		l := len(*s)
		*s, all = all[:l], all[l:]
	}
	a.eachString(each)
	for _, s := range others {
		each(s)
	}
}

// eachString calls f with every string of the Assertion
// (TestDetachCoversEveryString holds it to every field).
func (a *Assertion) eachString(f func(*string)) {
	for _, s := range []*string{&a.ID, &a.ResponseID, &a.Issuer, &a.InResponseTo,
		&a.NameID.Value, &a.NameID.Format, &a.NameID.NameQualifier, &a.NameID.SPNameQualifier,
		&a.SessionIndex, &a.AuthnContextClassRef, &a.RelayState, &a.ReturnTo} {
		f(s)
	}
	for i := range a.Attributes {
		at := &a.Attributes[i]
		f(&at.Name)
		f(&at.NameFormat)
		f(&at.FriendlyName)
		for j := range at.Values {
			f(&at.Values[j])
		}
	}
}
