package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"gopkg.in/yaml.v3"
)

// fileValue is one setting read from the config file: its text (as a flag
// would give it) and the line it is on (0: not known).
type fileValue struct {
	text string
	line int
}

// readConfigFile reads the config file at path: YAML when its name ends in
// .yaml or .yml, else JSON. Problems go to v, each with the key's line.
func readConfigFile(path string, v *lanyard.ValidationError) map[string]fileValue {
	data, err := os.ReadFile(path)
	if err != nil {
		v.Add("config file: %v", err)
		return nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		return readYAMLConfig(path, data, v)
	}
	return readJSONConfig(path, data, v)
}

func knownKeys() []string {
	var known []string
	for _, o := range options {
		known = append(known, o.key)
	}
	return known
}

// lineAt is the 1-based line of the byte at offset in data.
func lineAt(data []byte, offset int64) int {
	return bytes.Count(data[:min(int(offset), len(data))], []byte("\n")) + 1
}

// readJSONConfig reads a JSON object with string values under the option
// keys; routes is a JSON list.
func readJSONConfig(path string, data []byte, v *lanyard.ValidationError) map[string]fileValue {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		v.Add("config file %s: not a JSON object: %v", path, err)
		return nil
	}
	// The line of each top-level key, for the messages.
	lines := map[string]int{}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err == nil {
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				break
			}
			if k, ok := key.(string); ok {
				lines[k] = lineAt(data, dec.InputOffset())
			}
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				break
			}
		}
	}
	known := knownKeys()
	out := map[string]fileValue{}
	for _, key := range slices.Sorted(maps.Keys(raw)) {
		at := fmt.Sprintf("config file %s line %d", path, lines[key])
		if !slices.Contains(known, key) {
			v.Add("%s: unknown key %q (known keys: %s)", at, key, strings.Join(known, ", "))
			continue
		}
		if key == "routes" && strings.HasPrefix(strings.TrimSpace(string(raw[key])), "[") {
			out[key] = fileValue{string(raw[key]), lines[key]} // a JSON list; see resolveGateway
			continue
		}
		var s string
		if err := json.Unmarshal(raw[key], &s); err != nil {
			v.Add("%s: %s: want a string, got %s", at, key, raw[key])
			continue
		}
		out[key] = fileValue{s, lines[key]}
	}
	return out
}

// listKeys are the options whose value may be a YAML list, joined with
// commas as the flag takes it.
var listKeys = []string{"trusted_proxies", "trusted_hosts"}

// routeKeys are the keys of a route in the config file.
var routeKeys = []string{"name", "host", "path_prefix", "upstream", "tenant", "roles", "bearer_token", "strip_prefix"}

// readYAMLConfig reads a YAML mapping under the option keys. Values are
// scalars (any YAML scalar: strings, numbers, booleans); trusted_proxies
// and trusted_hosts may also be lists; routes is a list of mappings.
func readYAMLConfig(path string, data []byte, v *lanyard.ValidationError) map[string]fileValue {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		v.Add("config file %s: not YAML: %v", path, strings.TrimPrefix(err.Error(), "yaml: "))
		return nil
	}
	if len(doc.Content) == 0 {
		return nil // an empty file sets nothing
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		v.Add("config file %s line %d: want a mapping of settings (key: value), e.g. addr: 127.0.0.1:8080", path, root.Line)
		return nil
	}
	known := knownKeys()
	out := map[string]fileValue{}
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, val := root.Content[i], root.Content[i+1]
		key := k.Value
		at := fmt.Sprintf("config file %s line %d", path, k.Line)
		if !slices.Contains(known, key) {
			v.Add("%s: unknown key %q (known keys: %s)", at, key, strings.Join(known, ", "))
			continue
		}
		if first, ok := seen[key]; ok {
			v.Add("%s: %s is set twice (first on line %d)", at, key, first)
			continue
		}
		seen[key] = k.Line
		switch {
		case key == "routes":
			text, err := yamlRoutes(path, val)
			if err != nil {
				v.Add("%v", err)
				continue
			}
			out[key] = fileValue{text, k.Line}
		case val.Kind == yaml.ScalarNode:
			text := val.Value
			if val.Tag == "!!null" {
				text = ""
			}
			out[key] = fileValue{text, k.Line}
		case val.Kind == yaml.SequenceNode && slices.Contains(listKeys, key):
			var items []string
			ok := true
			for _, item := range val.Content {
				if item.Kind != yaml.ScalarNode {
					v.Add("config file %s line %d: %s: want a list of strings", path, item.Line, key)
					ok = false
					break
				}
				items = append(items, item.Value)
			}
			if ok {
				out[key] = fileValue{strings.Join(items, ","), k.Line}
			}
		default:
			v.Add("%s: %s: want a single value, not a %s", at, key, kindName(val.Kind))
		}
	}
	return out
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	case yaml.AliasNode:
		return "alias"
	}
	return "value"
}

// yamlRoutes reads the routes list, each route a mapping of routeKeys, and
// returns it as the JSON text the routes option takes.
func yamlRoutes(path string, list *yaml.Node) (string, error) {
	if list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
		return "", nil
	}
	if list.Kind != yaml.SequenceNode {
		return "", fmt.Errorf("config file %s line %d: routes: want a list of routes, each with name, upstream and host or path_prefix", path, list.Line)
	}
	var problems []string
	routes := []lanyard.ProxyRoute{}
	for _, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			problems = append(problems, fmt.Sprintf("config file %s line %d: routes: each route is a mapping (name: ..., upstream: ...)", path, item.Line))
			continue
		}
		var r lanyard.ProxyRoute
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, val := item.Content[i], item.Content[i+1]
			at := fmt.Sprintf("config file %s line %d: routes", path, k.Line)
			if !slices.Contains(routeKeys, k.Value) {
				problems = append(problems, fmt.Sprintf("%s: unknown key %q in a route (known keys: %s)", at, k.Value, strings.Join(routeKeys, ", ")))
				continue
			}
			if k.Value == "roles" {
				switch val.Kind {
				case yaml.SequenceNode:
					for _, role := range val.Content {
						r.Roles = append(r.Roles, role.Value)
					}
				case yaml.ScalarNode:
					r.Roles = lanyard.ParseRoles(val.Value)
				default:
					problems = append(problems, fmt.Sprintf("%s: roles: want a list of roles", at))
				}
				continue
			}
			if val.Kind != yaml.ScalarNode {
				problems = append(problems, fmt.Sprintf("%s: %s: want a single value, not a %s", at, k.Value, kindName(val.Kind)))
				continue
			}
			switch k.Value {
			case "name":
				r.Name = val.Value
			case "host":
				r.Host = val.Value
			case "path_prefix":
				r.PathPrefix = val.Value
			case "upstream":
				r.Upstream = val.Value
			case "tenant":
				r.Tenant = val.Value
			case "bearer_token", "strip_prefix":
				b, err := strconv.ParseBool(val.Value)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: %s %q: use true or false", at, k.Value, val.Value))
				}
				if k.Value == "bearer_token" {
					r.BearerToken = b
				} else {
					r.StripPrefix = b
				}
			}
		}
		routes = append(routes, r)
	}
	if len(problems) > 0 {
		return "", errors.New(strings.Join(problems, "; "))
	}
	text, err := json.Marshal(routes)
	return string(text), err
}

// credentialFiles are the settings serve reads from systemd credentials
// (LoadCredential=NAME:PATH puts the file at $CREDENTIALS_DIRECTORY/NAME)
// when nothing else sets them.
var credentialFiles = map[string]string{
	"secret_key_file":    "secret_key",
	"metrics_token_file": "metrics_token",
}

// applyCredentials points the settings of credentialFiles at the files of
// $CREDENTIALS_DIRECTORY, for the settings left at their default.
func applyCredentials(getenv func(string) string, res resolution, source map[string]string) {
	dir := getenv("CREDENTIALS_DIRECTORY")
	if dir == "" {
		return
	}
	for _, key := range slices.Sorted(maps.Keys(credentialFiles)) {
		name := credentialFiles[key]
		if res.origin[key] != "default" {
			continue
		}
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		res.value[key] = p
		res.origin[key] = "systemd credential " + name
		source[key] = "systemd credential " + name + " (" + p + ")"
	}
}
