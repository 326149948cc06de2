package admin

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// A setting is one "key=value" an administrator can change on a record of
// type T. The same table drives the CLI ("lanyard tenant set"), the web
// admin UI and the API, and prints the current values ("tenant show").
type setting[T any] struct {
	key   string
	usage string // the accepted values, e.g. "true|false"
	get   func(*T) string
	set   func(*T, string) error
}

// settingTable is the list of settings of a record type, with an optional
// family of dynamic keys sharing a prefix (such as group_roles.<GROUP>).
type settingTable[T any] struct {
	fields  []setting[T]
	aliases map[string]string // alias → key
	// dynamic returns the setting of a key outside fields (nil, false when
	// the key is unknown); dynamicUsage names the family for help texts.
	dynamic      func(key string) (setting[T], bool)
	dynamicUsage string
	// example is a valid "key=value" for messages.
	example string
}

func (tab *settingTable[T]) lookup(key string) (setting[T], bool) {
	if a, ok := tab.aliases[key]; ok {
		key = a
	}
	for _, f := range tab.fields {
		if f.key == key {
			return f, true
		}
	}
	if tab.dynamic != nil {
		return tab.dynamic(key)
	}
	return setting[T]{}, false
}

// knownKeys lists every key, in table order, for help and error texts.
func (tab *settingTable[T]) knownKeys() []string {
	keys := make([]string, 0, len(tab.fields)+1)
	for _, f := range tab.fields {
		keys = append(keys, f.key)
	}
	if tab.dynamicUsage != "" {
		keys = append(keys, tab.dynamicUsage)
	}
	return keys
}

// apply parses "key=value" settings and applies the valid ones to x. It
// reports every problem (malformed pair, unknown or repeated key, bad value)
// in v and returns the changes made, as "key: old → new".
func (tab *settingTable[T]) apply(x *T, settings []string, v *lanyard.ValidationError) []string {
	var changes []string
	lastUnknown := -1 // index in v.Problems of the last unknown key
	seen := map[string]bool{}
	for _, kv := range settings {
		key, value, ok := strings.Cut(kv, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			v.Add("%q: want key=value (e.g. %s)", kv, tab.example)
			continue
		}
		f, ok := tab.lookup(key)
		if !ok {
			lastUnknown = len(v.Problems)
			if s := closest(key, tab.knownKeys()); s != "" {
				v.Add("unknown key %q (did you mean %q?)", key, s)
			} else {
				v.Add("unknown key %q", key)
			}
			continue
		}
		if seen[f.key] {
			v.Add("%s: given more than once", f.key)
			continue
		}
		seen[f.key] = true
		before := f.get(x)
		if err := f.set(x, strings.TrimSpace(value)); err != nil {
			v.Add("%s=%s: %v", f.key, value, err)
			continue
		}
		if after := f.get(x); after != before {
			changes = append(changes, fmt.Sprintf("%s: %s → %s", f.key, show(before), show(after)))
		}
	}
	if lastUnknown >= 0 {
		v.Problems[lastUnknown] += "; known keys: " + strings.Join(tab.knownKeys(), ", ")
	}
	return changes
}

// Setting is one key with its current value, in the form SetTenant and
// SetUser accept ("key=value").
type Setting struct {
	Key   string
	Value string
}

// SettingKey describes a key SetTenant or SetUser accepts.
type SettingKey struct {
	Key    string
	Values string // what the value may be, e.g. "true|false"
}

// keys describes every key, the dynamic family last.
func (tab *settingTable[T]) keys() []SettingKey {
	out := make([]SettingKey, 0, len(tab.fields)+1)
	for _, f := range tab.fields {
		out = append(out, SettingKey{Key: f.key, Values: f.usage})
	}
	if tab.dynamicUsage != "" {
		if f, ok := tab.dynamic(tab.dynamicUsage); ok {
			out = append(out, SettingKey{Key: tab.dynamicUsage, Values: f.usage})
		}
	}
	return out
}

// values returns every setting of x, in table order, with the dynamic keys
// that x has (from extra) after them.
func (tab *settingTable[T]) values(x *T, extra []string) []Setting {
	var out []Setting
	for _, f := range tab.fields {
		out = append(out, Setting{Key: f.key, Value: f.get(x)})
	}
	for _, key := range extra {
		if f, ok := tab.lookup(key); ok {
			out = append(out, Setting{Key: key, Value: f.get(x)})
		}
	}
	return out
}

// show formats a setting value for a change message.
func show(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// closest returns the key nearest to s within two edits, or "".
func closest(s string, keys []string) string {
	best, bestDist := "", 3
	for _, k := range keys {
		if d := editDistance(s, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Value parsers shared by the setting tables.

// ParseBool reads true/false, yes/no, on/off and 1/0, in any case.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, errors.New("use true or false (also yes/no, on/off, 1/0)")
}

func boolSetting[T any](key string, field func(*T) *bool) setting[T] {
	return setting[T]{
		key:   key,
		usage: "true|false",
		get:   func(x *T) string { return strconv.FormatBool(*field(x)) },
		set: func(x *T, s string) error {
			b, err := ParseBool(s)
			if err != nil {
				return err
			}
			*field(x) = b
			return nil
		},
	}
}

// optionalBoolSetting is a *bool where nil means def.
func optionalBoolSetting[T any](key string, def bool, field func(*T) **bool) setting[T] {
	return setting[T]{
		key:   key,
		usage: "true|false",
		get: func(x *T) string {
			if p := *field(x); p != nil {
				return strconv.FormatBool(*p)
			}
			return strconv.FormatBool(def)
		},
		set: func(x *T, s string) error {
			b, err := ParseBool(s)
			if err != nil {
				return err
			}
			*field(x) = &b
			return nil
		},
	}
}

func stringSetting[T any](key, usage string, field func(*T) *string) setting[T] {
	return setting[T]{
		key:   key,
		usage: usage,
		get:   func(x *T) string { return *field(x) },
		set: func(x *T, s string) error {
			*field(x) = s
			return nil
		},
	}
}

func durationSetting[T any](key string, field func(*T) *lanyard.Duration) setting[T] {
	return setting[T]{
		key:   key,
		usage: "duration (90s, 3m, 8h) or seconds",
		get:   func(x *T) string { return field(x).String() },
		set: func(x *T, s string) error {
			d, err := lanyard.ParseDuration(s)
			if err != nil {
				return errors.New("use a number of seconds or a value such as 90s, 3m, 8h")
			}
			if d < 0 {
				return errors.New("cannot be negative")
			}
			*field(x) = d
			return nil
		},
	}
}

// optionalDurationSetting is a duration whose zero is a value of its own;
// "default" (or nothing) unsets it, and an unset one reads as def.
func optionalDurationSetting[T any](key string, def time.Duration, field func(*T) **lanyard.Duration) setting[T] {
	plain := durationSetting(key, func(x *T) *lanyard.Duration {
		if *field(x) == nil {
			*field(x) = new(lanyard.Duration)
		}
		return *field(x)
	})
	return setting[T]{
		key:   key,
		usage: "duration (90s, 3m, 8h; 0 for none) or seconds, or default (" + def.String() + ")",
		get: func(x *T) string {
			if p := *field(x); p != nil {
				return p.String()
			}
			return def.String()
		},
		set: func(x *T, s string) error {
			if s == "" || strings.EqualFold(s, "default") {
				*field(x) = nil
				return nil
			}
			old := *field(x)
			if err := plain.set(x, s); err != nil {
				*field(x) = old
				return err
			}
			return nil
		},
	}
}

// listSetting is a comma-separated list; an empty value clears it.
func listSetting[T any](key string, field func(*T) *[]string) setting[T] {
	return setting[T]{
		key:   key,
		usage: "comma-separated list",
		get:   func(x *T) string { return strings.Join(*field(x), ",") },
		set: func(x *T, s string) error {
			*field(x) = splitList(s)
			return nil
		},
	}
}

// splitList splits a comma-separated list, trimming and dropping empty and
// repeated items.
func splitList(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item != "" && !seen[item] {
			seen[item] = true
			out = append(out, item)
		}
	}
	return out
}

// checkRoles reports invalid role names with the domain's rules.
func checkRoles(roles []string) error {
	u := lanyard.User{TenantID: 1, Login: "x", Status: lanyard.StatusActive, LoginMethod: lanyard.LoginSSO, Source: lanyard.SourceLocal}
	u.SetRoles(lanyard.RoleManual, roles)
	if err := u.Validate(); err != nil {
		return errors.New(lanyard.ErrorMessage(err))
	}
	return nil
}

// problemsOf returns the problems of a validation error (one wrapping a
// lanyard.ValidationError), so they can be merged with others; any other
// error is one problem, its message.
func problemsOf(err error) []string {
	if ve, ok := errors.AsType[*lanyard.ValidationError](err); ok {
		return ve.Problems
	}
	return []string{lanyard.ErrorMessage(err)}
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
