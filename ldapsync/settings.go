package ldapsync

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// settingKind says how a key=value setting is read.
type settingKind int

const (
	kindText settingKind = iota
	kindBool
	kindInt
	kindList
	kindDuration
)

// settingKinds lists the keys of lanyard.LDAPDirectory (its JSON names)
// with how their values are read, found once from the type.
var settingKinds = func() map[string]settingKind {
	out := map[string]settingKind{}
	t := reflect.TypeFor[lanyard.LDAPDirectory]()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		switch {
		case f.Type == reflect.TypeFor[lanyard.Duration]():
			out[name] = kindDuration
		case f.Type.Kind() == reflect.Bool:
			out[name] = kindBool
		case f.Type.Kind() == reflect.Int:
			out[name] = kindInt
		case f.Type.Kind() == reflect.Slice:
			out[name] = kindList
		default:
			out[name] = kindText
		}
	}
	return out
}()

// SettingKeys lists the keys ApplySettings knows.
func SettingKeys() []string {
	keys := []string{"bind_password", "bind_password_file", "ca_cert_file"}
	for k := range settingKinds {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ApplySettings sets fields of dir from "key=value" settings (the JSON
// names of lanyard.LDAPDirectory; lists separated by commas; bind_password_file
// and ca_cert_file read a file with readFile). Every problem is reported
// at once and dir is unchanged unless all are valid and the result
// validates. It returns the changes, the password never shown.
func ApplySettings(dir *lanyard.LDAPDirectory, settings []string, readFile func(string) ([]byte, error)) ([]string, error) {
	raw, err := json.Marshal(dir)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	next := *dir
	passwordGiven := false
	var v lanyard.ValidationError
	var changes []string
	for _, s := range settings {
		key, val, ok := strings.Cut(s, "=")
		key = strings.TrimSpace(key)
		if !ok {
			v.Add("%q: use key=value; known keys: %s", s, strings.Join(SettingKeys(), ", "))
			continue
		}
		switch key {
		case "bind_password":
			next.BindPassword, passwordGiven = val, true
			changes = append(changes, "bind_password: (set)")
			continue
		case "bind_password_file", "ca_cert_file":
			b, err := readFile(val)
			if err != nil {
				v.Add("%s: %v", key, err)
				continue
			}
			if key == "ca_cert_file" {
				m["ca_cert_pem"] = string(b)
				changes = append(changes, "ca_cert_pem: (from "+val+")")
			} else {
				next.BindPassword, passwordGiven = strings.TrimRight(string(b), "\r\n"), true
				changes = append(changes, "bind_password: (set from "+val+")")
			}
			continue
		}
		kind, known := settingKinds[key]
		if !known {
			v.Add("unknown key %q; known keys: %s", key, strings.Join(SettingKeys(), ", "))
			continue
		}
		val = strings.TrimSpace(val)
		switch kind {
		case kindBool:
			b, err := strconv.ParseBool(val)
			if err != nil {
				v.Add("%s=%q: true or false", key, val)
				continue
			}
			m[key] = b
		case kindInt:
			n, err := strconv.Atoi(val)
			if err != nil {
				v.Add("%s=%q: a whole number", key, val)
				continue
			}
			m[key] = n
		case kindList:
			var list []string
			for _, x := range strings.Split(val, ",") {
				if x = strings.TrimSpace(x); x != "" {
					list = append(list, x)
				}
			}
			m[key] = list
		case kindDuration:
			if _, err := lanyard.ParseDuration(val); err != nil {
				v.Add("%s=%q: %v", key, val, err)
				continue
			}
			m[key] = val
		default:
			m[key] = val
		}
		changes = append(changes, fmt.Sprintf("%s=%s", key, val))
	}
	raw, err = json.Marshal(m)
	if err != nil {
		return nil, err
	}
	decoded := lanyard.LDAPDirectory{}
	if err := json.Unmarshal(raw, &decoded); err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	decoded.TenantID, decoded.BindPassword, decoded.HasPassword, decoded.UpdatedAt = next.TenantID, next.BindPassword, next.HasPassword, next.UpdatedAt
	if decoded.BindDN == "" && !passwordGiven {
		decoded.BindPassword = "" // an anonymous bind keeps no password
	}
	check := decoded
	check.Normalize()
	// Every problem at once: the values that could not be read, and what
	// is wrong with the rest.
	var invalid *lanyard.ValidationError
	if err := check.Validate(); errors.As(err, &invalid) {
		v.Problems = append(v.Problems, invalid.Problems...)
	} else if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	*dir = decoded
	return changes, nil
}

// SettingValues lists the settings of dir by key, as text ApplySettings
// reads back; the bind password is never among them.
func SettingValues(dir lanyard.LDAPDirectory) map[string]string {
	raw, _ := json.Marshal(dir)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	out := map[string]string{}
	for k := range settingKinds {
		switch v := m[k].(type) {
		case nil:
			out[k] = ""
		case []any:
			parts := make([]string, len(v))
			for i, x := range v {
				parts[i] = fmt.Sprint(x)
			}
			out[k] = strings.Join(parts, ",")
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}
