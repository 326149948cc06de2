package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"
)

// configCommands are "lanyard config check" and "lanyard config print".
var configCommands = []*command{
	{name: "check", synopsis: "FILE", summary: "validate a configuration file (YAML or JSON) without starting", exec: (*app).configCheck},
	{name: "print", synopsis: "[--config FILE] [flags]", summary: "print the effective configuration, each value with its source, secrets masked", exec: (*app).configPrint},
}

// configCheck validates FILE alone, as serve reads it: the environment and
// flags are left out so that every problem found is the file's.
func (a *app) configCheck(_ context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "FILE", "validate a configuration file without starting: unknown keys, values, routes, the files it names (secret key, metrics token); LANYARD_* variables are not read")
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	cfs := a.newFlagSet(path, "", "")
	cf := addConfigFlags(cfs, nil)
	if err := cfs.Parse([]string{"--config", pos[0]}); err != nil {
		return err
	}
	_, res, err := cf.resolveDetailed(func(string) string { return "" })
	var u *usageError
	if errors.As(err, &u) {
		return fmt.Errorf("%s: %s", pos[0], strings.TrimPrefix(u.msg, "configuration: "))
	} else if err != nil {
		return err
	}
	n := 0
	for _, origin := range res.origin {
		if strings.HasPrefix(origin, "file ") {
			n++
		}
	}
	fmt.Fprintf(a.stdout, "%s: valid (%d settings; the others take their defaults)\n", pos[0], n)
	return nil
}

// configPrint prints the configuration serve would run with, as YAML that
// serve can read back, each value followed by its source.
func (a *app) configPrint(_ context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--config FILE] [flags]", "print the effective configuration as YAML, each value with its source (flag, env, file and line, systemd credential, default); passwords in URLs are masked")
	cf := addConfigFlags(fs, nil)
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	cfg, res, err := cf.resolveDetailed(a.getenv)
	if err != nil {
		return err
	}
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, o := range options {
		key := &yaml.Node{Kind: yaml.ScalarNode, Value: o.key}
		var val *yaml.Node
		if o.key == "routes" {
			val = routesNode(cfg)
		} else {
			val = &yaml.Node{Kind: yaml.ScalarNode, Value: maskSetting(o.key, res.value[o.key])}
			if val.Value == "" {
				val.Style = yaml.DoubleQuotedStyle
			}
		}
		val.LineComment = res.origin[o.key]
		if val.Kind != yaml.ScalarNode {
			key.LineComment, val.LineComment = res.origin[o.key], ""
		}
		root.Content = append(root.Content, key, val)
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root},
		HeadComment: "Effective configuration of lanyard serve; each value's source follows it. Passwords are masked."}
	enc := yaml.NewEncoder(a.stdout)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	return enc.Close()
}

// routesNode is the configured routes as a YAML list.
func routesNode(cfg config) *yaml.Node {
	list := &yaml.Node{Kind: yaml.SequenceNode}
	if len(cfg.Gateway.Routes) == 0 {
		list.Style = yaml.FlowStyle
	}
	for _, r := range cfg.Gateway.Routes {
		m := &yaml.Node{Kind: yaml.MappingNode}
		add := func(k, v string) {
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, &yaml.Node{Kind: yaml.ScalarNode, Value: v})
		}
		add("name", r.Name)
		if r.Host != "" {
			add("host", r.Host)
		}
		add("path_prefix", r.PathPrefix)
		add("upstream", maskURL(r.Upstream))
		add("tenant", r.Tenant)
		if len(r.Roles) > 0 {
			roles := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for _, role := range r.Roles {
				roles.Content = append(roles.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: role})
			}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "roles"}, roles)
		}
		if r.BearerToken {
			add("bearer_token", "true")
		}
		if r.StripPrefix {
			add("strip_prefix", "true")
		}
		list.Content = append(list.Content, m)
	}
	return list
}

// maskSetting hides the secrets a setting's text may hold: the password of
// a URL. Settings that name a secret's file show the file, not the secret.
func maskSetting(key, value string) string {
	switch key {
	case "database", "otlp_endpoint":
		return maskURL(value)
	}
	return value
}

// maskURL replaces a URL's password with "xxxxx".
func maskURL(s string) string {
	if s == "" {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(malformed URL, not shown)"
	}
	return u.Redacted()
}
