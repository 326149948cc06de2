package devidp

import (
	"bytes"
	"crypto"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Verification of the enveloped signature of messages that SPs send
// through the HTTP-POST binding (AuthnRequest, LogoutRequest,
// LogoutResponse). It has its own small tree and exclusive C14N, written
// for this package alone: the IdP must not share the SP's code, or it
// could not catch the SP's mistakes.
//
// What is accepted: one ds:Signature, a direct child of the root element,
// whose single Reference names the root's ID, with the transforms
// enveloped-signature and exclusive C14N (without comments, with an
// optional InclusiveNamespaces PrefixList), a SHA-256, SHA-384 or SHA-512
// digest, and a signature by one of the SP's certificates.

// Other algorithm URIs found in SPs' signatures.
const (
	algExcC14NComments = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
	algSHA384          = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	algSHA512          = "http://www.w3.org/2001/04/xmlenc#sha512"
	nsXML              = "http://www.w3.org/XML/1998/namespace"
)

var digestAlgs = map[string]crypto.Hash{algSHA256: crypto.SHA256, algSHA384: crypto.SHA384, algSHA512: crypto.SHA512}

// xnode is an element of a parsed message, with what exclusive C14N needs:
// prefixes as written and the namespaces in scope.
type xnode struct {
	prefix, local, space string
	attrs                []xattr
	scope                map[string]string // prefix -> namespace URI in scope here
	children             []xchild
}

type xattr struct{ prefix, local, space, value string }

// xchild is an element or a run of text.
type xchild struct {
	el   *xnode
	text string
}

func (n *xnode) is(space, local string) bool { return n.space == space && n.local == local }

func (n *xnode) attr(local string) string {
	for _, a := range n.attrs {
		if a.prefix == "" && a.local == local {
			return a.value
		}
	}
	return ""
}

// child returns the first child element named {space}local, or nil.
func (n *xnode) child(space, local string) *xnode {
	for _, c := range n.children {
		if c.el != nil && c.el.is(space, local) {
			return c.el
		}
	}
	return nil
}

func (n *xnode) textContent() string {
	var b strings.Builder
	for _, c := range n.children {
		if c.el == nil {
			b.WriteString(c.text)
		} else {
			b.WriteString(c.el.textContent())
		}
	}
	return b.String()
}

// parseTree parses a message into xnodes. Comments are dropped (C14N
// without comments drops them too); DTDs and processing instructions
// after the XML declaration are refused.
func parseTree(data []byte) (*xnode, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*xnode
	var root *xnode
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not well-formed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, errors.New("more than one root element")
			}
			scope := map[string]string{"xml": nsXML}
			if len(stack) > 0 {
				scope = stack[len(stack)-1].scope
			}
			n := &xnode{prefix: t.Name.Space, local: t.Name.Local, scope: scope}
			copied := false
			for _, a := range t.Attr {
				var prefix string
				switch {
				case a.Name.Space == "xmlns":
					prefix = a.Name.Local
				case a.Name.Space == "" && a.Name.Local == "xmlns":
				default:
					continue
				}
				if !copied {
					n.scope = make(map[string]string, len(scope)+1)
					for k, v := range scope {
						n.scope[k] = v
					}
					copied = true
				}
				n.scope[prefix] = a.Value
			}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				xa := xattr{prefix: a.Name.Space, local: a.Name.Local, value: a.Value}
				if xa.prefix != "" {
					var ok bool
					if xa.space, ok = n.scope[xa.prefix]; !ok {
						return nil, fmt.Errorf("undeclared prefix %q", xa.prefix)
					}
				}
				n.attrs = append(n.attrs, xa)
			}
			var ok bool
			if n.space, ok = n.scope[n.prefix]; !ok && n.prefix != "" {
				return nil, fmt.Errorf("undeclared prefix %q", n.prefix)
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, xchild{el: n})
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, errors.New("unbalanced end tag")
			}
			top := stack[len(stack)-1]
			if t.Name.Space != top.prefix || t.Name.Local != top.local {
				return nil, fmt.Errorf("end tag %s does not match start tag %s", t.Name.Local, top.local)
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, xchild{text: string(t)})
			}
		case xml.ProcInst:
			if root != nil || t.Target != "xml" {
				return nil, errors.New("processing instructions are not allowed")
			}
		case xml.Directive:
			return nil, errors.New("DTDs are not allowed")
		}
	}
	if root == nil || len(stack) != 0 {
		return nil, errors.New("no complete root element")
	}
	return root, nil
}

// canonicalize writes the exclusive C14N form of n (Exclusive XML
// Canonicalization 1.0, without comments) to b, leaving out skip.
// rendered holds the namespace declarations already output by ancestors;
// inclusive lists the prefixes of an InclusiveNamespaces PrefixList.
func canonicalize(b *strings.Builder, n *xnode, rendered map[string]string, inclusive []string, skip *xnode) {
	// Namespaces visibly utilised by the element and its attributes, plus
	// those of the PrefixList in scope.
	used := map[string]bool{n.prefix: true}
	for _, a := range n.attrs {
		if a.prefix != "" {
			used[a.prefix] = true
		}
	}
	for _, p := range inclusive {
		if _, ok := n.scope[p]; ok {
			used[p] = true
		}
	}
	type decl struct{ prefix, uri string }
	var decls []decl
	next := rendered
	for p := range used {
		if p == "xml" {
			continue
		}
		uri := n.scope[p]
		prev, had := rendered[p]
		if (had && prev == uri) || (!had && p == "" && uri == "") {
			continue
		}
		decls = append(decls, decl{p, uri})
	}
	if len(decls) > 0 {
		next = make(map[string]string, len(rendered)+len(decls))
		for k, v := range rendered {
			next[k] = v
		}
		for _, d := range decls {
			next[d.prefix] = d.uri
		}
	}
	sort.Slice(decls, func(i, j int) bool { return decls[i].prefix < decls[j].prefix })
	attrs := append([]xattr(nil), n.attrs...)
	sort.Slice(attrs, func(i, j int) bool {
		if attrs[i].space != attrs[j].space {
			return attrs[i].space < attrs[j].space
		}
		return attrs[i].local < attrs[j].local
	})
	name := n.local
	if n.prefix != "" {
		name = n.prefix + ":" + n.local
	}
	b.WriteString("<" + name)
	for _, d := range decls {
		if d.prefix == "" {
			b.WriteString(` xmlns="` + escapeAttr(d.uri) + `"`)
		} else {
			b.WriteString(` xmlns:` + d.prefix + `="` + escapeAttr(d.uri) + `"`)
		}
	}
	for _, a := range attrs {
		an := a.local
		if a.prefix != "" {
			an = a.prefix + ":" + a.local
		}
		b.WriteString(" " + an + `="` + escapeAttr(a.value) + `"`)
	}
	b.WriteString(">")
	for _, c := range n.children {
		switch {
		case c.el == nil:
			b.WriteString(text(c.text))
		case c.el != skip:
			canonicalize(b, c.el, next, inclusive, skip)
		}
	}
	b.WriteString("</" + name + ">")
}

// inclusivePrefixes returns the PrefixList of an exclusive C14N
// algorithm element (#default stands for the default namespace).
func inclusivePrefixes(alg *xnode) []string {
	for _, c := range alg.children {
		if c.el != nil && c.el.local == "InclusiveNamespaces" {
			var out []string
			for _, p := range strings.Fields(c.el.attr("PrefixList")) {
				if p == "#default" {
					p = ""
				}
				out = append(out, p)
			}
			return out
		}
	}
	return nil
}

// errNoSignature reports a POST message without an enveloped signature.
var errNoSignature = errors.New("no enveloped signature")

// verifyEnveloped verifies the enveloped signature of the root element of
// data with the certificates, as described at the top of this file.
func verifyEnveloped(data []byte, certs []*x509.Certificate) error {
	root, err := parseTree(data)
	if err != nil {
		return err
	}
	var sig *xnode
	for _, c := range root.children {
		if c.el != nil && c.el.is(nsDSig, "Signature") {
			if sig != nil {
				return errors.New("the message holds two signatures")
			}
			sig = c.el
		}
	}
	if sig == nil {
		return errNoSignature
	}
	si := sig.child(nsDSig, "SignedInfo")
	if si == nil {
		return errors.New("the signature has no SignedInfo")
	}
	cm, sm := si.child(nsDSig, "CanonicalizationMethod"), si.child(nsDSig, "SignatureMethod")
	if cm == nil || sm == nil {
		return errors.New("the signature has no CanonicalizationMethod or SignatureMethod")
	}
	if a := cm.attr("Algorithm"); a != algExcC14N {
		return fmt.Errorf("the SignedInfo is canonicalised with %q; this IdP verifies exclusive C14N (%s) only", a, algExcC14N)
	}
	var refs []*xnode
	for _, c := range si.children {
		if c.el != nil && c.el.is(nsDSig, "Reference") {
			refs = append(refs, c.el)
		}
	}
	if len(refs) != 1 {
		return fmt.Errorf("the signature has %d References; SAML requires exactly one", len(refs))
	}
	ref := refs[0]
	if id := root.attr("ID"); id == "" || ref.attr("URI") != "#"+id {
		return fmt.Errorf("the Reference URI %q does not name the signed message (ID %q)", ref.attr("URI"), root.attr("ID"))
	}
	var inclusive []string
	transforms := ref.child(nsDSig, "Transforms")
	enveloped, c14n := false, false
	if transforms != nil {
		for _, c := range transforms.children {
			if c.el == nil {
				continue
			}
			switch a := c.el.attr("Algorithm"); a {
			case algEnveloped:
				enveloped = true
			case algExcC14N:
				c14n = true
				inclusive = inclusivePrefixes(c.el)
			case algExcC14NComments:
				return errors.New("the #WithComments canonicalisation is not accepted")
			default:
				return fmt.Errorf("the transform %q is not accepted (enveloped-signature and exclusive C14N are)", a)
			}
		}
	}
	if !enveloped || !c14n {
		return errors.New("the Reference must have the enveloped-signature and exclusive C14N transforms")
	}
	dm := ref.child(nsDSig, "DigestMethod")
	dv := ref.child(nsDSig, "DigestValue")
	if dm == nil || dv == nil {
		return errors.New("the Reference has no DigestMethod or DigestValue")
	}
	h, ok := digestAlgs[dm.attr("Algorithm")]
	if !ok {
		return fmt.Errorf("the digest %q is not accepted (SHA-256, SHA-384 and SHA-512 are)", dm.attr("Algorithm"))
	}
	var canon strings.Builder
	canonicalize(&canon, root, map[string]string{}, inclusive, sig)
	hh := h.New()
	hh.Write([]byte(canon.String()))
	want, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(dv.textContent()), ""))
	if err != nil {
		return errors.New("the DigestValue is not valid base64")
	}
	if subtle.ConstantTimeCompare(hh.Sum(nil), want) != 1 {
		return errors.New("the digest does not match: the message was changed after it was signed, or the SP canonicalises it differently")
	}
	sv := sig.child(nsDSig, "SignatureValue")
	if sv == nil {
		return errors.New("the signature has no SignatureValue")
	}
	value, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(sv.textContent()), ""))
	if err != nil {
		return errors.New("the SignatureValue is not valid base64")
	}
	var signedInfo strings.Builder
	canonicalize(&signedInfo, si, map[string]string{}, inclusivePrefixes(cm), nil)
	return verifySignature(sm.attr("Algorithm"), []byte(signedInfo.String()), value, certs)
}
