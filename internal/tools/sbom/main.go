// Command sbom writes a CycloneDX 1.5 software bill of materials (JSON) of
// a Go binary from the build information embedded in it: the main module
// and every module linked into the binary, with versions, Go checksums and
// package URLs. The output depends on the binary only (no clock, no random
// serial), so two runs over identical binaries give identical documents.
//
// Usage: go run ./internal/tools/sbom BINARY > BINARY.cdx.json
package main

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
)

type property struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type hash struct {
	Alg     string `json:"alg"`
	Content string `json:"content"`
}

type component struct {
	Type       string     `json:"type"`
	BOMRef     string     `json:"bom-ref"`
	Name       string     `json:"name"`
	Version    string     `json:"version,omitempty"`
	PURL       string     `json:"purl,omitempty"`
	Hashes     []hash     `json:"hashes,omitempty"`
	Properties []property `json:"properties,omitempty"`
}

type dependency struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}

type tool struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

type metadata struct {
	Timestamp string `json:"timestamp,omitempty"`
	Tools     struct {
		Components []tool `json:"components"`
	} `json:"tools"`
	Component component `json:"component"`
}

type bom struct {
	BOMFormat    string       `json:"bomFormat"`
	SpecVersion  string       `json:"specVersion"`
	SerialNumber string       `json:"serialNumber"`
	Version      int          `json:"version"`
	Metadata     metadata     `json:"metadata"`
	Components   []component  `json:"components"`
	Dependencies []dependency `json:"dependencies"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: sbom BINARY > BINARY.cdx.json")
		os.Exit(2)
	}
	if err := write(os.Stdout, os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "sbom:", err)
		os.Exit(1)
	}
}

// purl is the package URL of a Go module (purl-spec, type golang).
func purl(path, version string) string {
	if version == "" || version == "(devel)" {
		return "pkg:golang/" + path
	}
	return "pkg:golang/" + path + "@" + version
}

func write(w io.Writer, binary string) error {
	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}

	var b bom
	b.BOMFormat, b.SpecVersion, b.Version = "CycloneDX", "1.5", 1
	b.Metadata.Timestamp = settings["vcs.time"]
	b.Metadata.Tools.Components = []tool{{Type: "application", Name: "lanyard internal/tools/sbom"}}
	main := component{Type: "application", Name: info.Main.Path, Version: info.Main.Version,
		BOMRef: purl(info.Main.Path, info.Main.Version), PURL: purl(info.Main.Path, info.Main.Version),
		Hashes:     []hash{{Alg: "SHA-256", Content: hex.EncodeToString(sum[:])}},
		Properties: []property{{Name: "go:version", Value: info.GoVersion}}}
	for _, key := range []string{"GOOS", "GOARCH", "CGO_ENABLED", "-trimpath", "-ldflags", "vcs.revision", "vcs.time", "vcs.modified"} {
		if v, ok := settings[key]; ok {
			main.Properties = append(main.Properties, property{Name: "go:build:" + key, Value: v})
		}
	}
	b.Metadata.Component = main

	top := dependency{Ref: main.BOMRef, DependsOn: []string{}}
	deps := append([]*debug.Module(nil), info.Deps...)
	sort.Slice(deps, func(i, j int) bool { return deps[i].Path < deps[j].Path })
	for _, d := range deps {
		m := d
		var props []property
		if d.Replace != nil {
			props = append(props, property{Name: "go:module:replaces", Value: d.Path + "@" + d.Version})
			m = d.Replace
		}
		if m.Sum != "" {
			props = append(props, property{Name: "go:module:sum", Value: m.Sum})
		}
		c := component{Type: "library", Name: m.Path, Version: m.Version, BOMRef: purl(m.Path, m.Version), PURL: purl(m.Path, m.Version), Properties: props}
		b.Components = append(b.Components, c)
		top.DependsOn = append(top.DependsOn, c.BOMRef)
	}
	b.Dependencies = []dependency{top}

	// A serial number that names this document's content: the same binary
	// always gets the same one (RFC 4122 version 5 layout over SHA-256).
	doc, err := json.Marshal(b)
	if err != nil {
		return err
	}
	id := sha256.Sum256(doc)
	id[6] = id[6]&0x0f | 0x50
	id[8] = id[8]&0x3f | 0x80
	b.SerialNumber = fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:16])

	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(b)
}
