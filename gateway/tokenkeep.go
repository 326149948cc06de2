package gateway

import (
	"crypto/sha256"
	"maps"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// DefaultTokenKeepBytes bounds the identity tokens kept for reuse when
// Config.TokenKeepBytes is zero.
const DefaultTokenKeepBytes = 16 << 20

// tokenKeep holds the identity tokens signed for each session for as long
// as they may be handed out again: until half their lifetime is left (see
// Gateway.token). The session's snapshot leaves the session cache after 2
// seconds, and its derived identity a few seconds later; a user whose
// next request comes later than that would otherwise cost a new ES256
// signature, the larger part of a session check that reads the store.
//
// Tokens are kept by session and by the identity they state (stamp): a
// session whose account or roles changed gets new ones, and so does one
// whose end came nearer. A session that activity extended keeps them:
// each states an end no later than the session's, and expires by then. A
// token is only ever handed out for a session the cache has just vouched
// for, so keeping it longer does not keep an ended session alive.
//
// The keep is bounded in bytes: when full, the sessions past their reuse
// window go, then any half of the rest. Entries past their reuse window
// are swept on a timer that runs only while the keep holds some.
type tokenKeep struct {
	mu       sync.Mutex
	sessions map[[sha256.Size]byte]*sessionTokens
	bytes    int64
	maxBytes int64
	peak     int
	sweeping bool
	every    time.Duration
	now      func() time.Time
}

// sessionTokens are the tokens signed for one session while it stated
// one identity.
type sessionTokens struct {
	stamp identityStamp // set at creation, then read-only
	// sessionEnd is the session's end its tokens state (Unix
	// nanoseconds), set at creation, then read-only.
	sessionEnd int64

	mu     sync.Mutex // guards tokens
	tokens []signedToken

	// Read without mu by the keep, which holds its own lock.
	reuseUntil atomic.Int64 // Unix nanoseconds: the last token's reuse deadline
	size       atomic.Int64 // bytes counted in the keep
}

// identityStamp is what a token states of its session besides its
// audience, its times and the session's end: two snapshots with the same
// stamp state the same identity. It is compared whole, field by field.
type identityStamp struct {
	userID                            int64
	login, email, name, given, family string
	tenant, roles, groups             string
}

// Fixed memory of an entry: the struct, its key and map slot, and the
// stamp's strings are counted at their length.
var (
	sessionTokensBytes = int64(unsafe.Sizeof(sessionTokens{})) + sha256.Size + 8 + 16
	signedTokenBytes   = int64(unsafe.Sizeof(signedToken{}))
)

func (s identityStamp) bytes() int64 {
	return int64(len(s.login) + len(s.email) + len(s.name) + len(s.given) + len(s.family) + len(s.tenant) + len(s.roles) + len(s.groups))
}

func tokenBytes(t signedToken) int64 {
	return signedTokenBytes + int64(len(t.audience)+len(t.token)+len(t.kid))
}

func newTokenKeep(maxBytes int64, every time.Duration, now func() time.Time) *tokenKeep {
	return &tokenKeep{sessions: map[[sha256.Size]byte]*sessionTokens{}, maxBytes: maxBytes, every: every, now: now}
}

// forSession returns the tokens kept for the session of key while it
// states stamp and ends no earlier than sessionEnd (Unix nanoseconds),
// empty (and kept from now on) when there are none.
func (k *tokenKeep) forSession(key [sha256.Size]byte, stamp identityStamp, sessionEnd int64) *sessionTokens {
	k.mu.Lock()
	defer k.mu.Unlock()
	if st := k.sessions[key]; st != nil {
		if st.stamp == stamp && st.sessionEnd <= sessionEnd {
			return st
		}
		k.drop(key)
	}
	st := &sessionTokens{stamp: stamp, sessionEnd: sessionEnd}
	st.size.Store(sessionTokensBytes + stamp.bytes())
	k.makeRoom(st.size.Load())
	k.sessions[key] = st
	k.bytes += st.size.Load()
	k.peak = max(k.peak, len(k.sessions))
	if !k.sweeping {
		k.sweeping = true
		time.AfterFunc(k.every, k.sweep)
	}
	return st
}

// stored records that st, the tokens of key, now holds a token more (or
// another in place of one), reusable until reuseUntil. The caller holds
// st.mu, which the keep never takes.
func (k *tokenKeep) stored(key [sha256.Size]byte, st *sessionTokens, delta int64, reuseUntil time.Time) {
	if reuseUntil.UnixNano() > st.reuseUntil.Load() {
		st.reuseUntil.Store(reuseUntil.UnixNano())
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.sessions[key] != st {
		return // dropped meanwhile: its tokens live as long as its identity
	}
	if delta > 0 {
		k.makeRoom(delta)
		if k.sessions[key] != st {
			return
		}
	}
	st.size.Add(delta)
	k.bytes += delta
}

// makeRoom drops entries until n more bytes fit: those past their reuse
// window, then any, down to half the bound so that the next ones to come
// do not each pay for a sweep. The caller holds mu.
func (k *tokenKeep) makeRoom(n int64) {
	if k.bytes+n <= k.maxBytes {
		return
	}
	k.sweepExpired(k.now())
	for key := range k.sessions {
		if k.bytes+n <= k.maxBytes/2 {
			break
		}
		k.drop(key)
	}
}

// drop removes the entry of key. The caller holds mu.
func (k *tokenKeep) drop(key [sha256.Size]byte) {
	if st, ok := k.sessions[key]; ok {
		k.bytes -= st.size.Load()
		delete(k.sessions, key)
	}
}

// sweepExpired removes the entries past their reuse window, and makes the
// map anew when it holds far fewer entries than at its peak. The caller
// holds mu.
func (k *tokenKeep) sweepExpired(now time.Time) {
	cutoff := now.UnixNano()
	for key, st := range k.sessions {
		if st.reuseUntil.Load() <= cutoff {
			k.drop(key)
		}
	}
	if len(k.sessions) < k.peak/4 {
		k.sessions = maps.Clone(k.sessions)
		if k.sessions == nil {
			k.sessions = map[[sha256.Size]byte]*sessionTokens{}
		}
		k.peak = len(k.sessions)
	}
}

// sweep runs every k.every while the keep holds entries.
func (k *tokenKeep) sweep() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sweepExpired(k.now())
	if len(k.sessions) == 0 {
		k.sweeping = false
		return
	}
	time.AfterFunc(k.every, k.sweep)
}

// stats returns the sessions and bytes held.
func (k *tokenKeep) stats() (sessions int, bytes int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.sessions), k.bytes
}
