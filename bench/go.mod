module github.com/lanyard-sso/lanyard/bench

go 1.26.8

require (
	github.com/beevik/etree v1.8.1
	github.com/crewjam/saml v0.5.1
	github.com/lanyard-sso/lanyard v0.0.0
	github.com/russellhaering/gosaml2 v0.12.0
	github.com/russellhaering/goxmldsig v1.6.1
)

require (
	github.com/jonboulle/clockwork v0.5.0 // indirect
	github.com/mattermost/xml-roundtrip-validator v0.1.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
)

replace github.com/lanyard-sso/lanyard => ../
