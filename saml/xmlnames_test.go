package saml

import "github.com/lanyard-sso/lanyard/saml/xmldsig"

// Short names of the XML-DSig and XML Encryption URIs for the tests.
const (
	algAES128CBC   = xmldsig.AlgAES128CBC
	algAES128GCM   = xmldsig.AlgAES128GCM
	algAES256CBC   = xmldsig.AlgAES256CBC
	algAES256GCM   = xmldsig.AlgAES256GCM
	algC14N10      = xmldsig.AlgC14N10
	algC14N11      = xmldsig.AlgC14N11
	algECDSASHA256 = xmldsig.AlgECDSASHA256
	algECDSASHA384 = xmldsig.AlgECDSASHA384
	algECDSASHA512 = xmldsig.AlgECDSASHA512
	algEnveloped   = xmldsig.AlgEnveloped
	algExcC14N     = xmldsig.AlgExcC14N
	algExcC14NComm = xmldsig.AlgExcC14NComm
	algMGF1SHA256  = xmldsig.AlgMGF1SHA256
	algRSA15       = xmldsig.AlgRSA15
	algRSAOAEP     = xmldsig.AlgRSAOAEP
	algRSAOAEP11   = xmldsig.AlgRSAOAEP11
	algRSASHA1     = xmldsig.AlgRSASHA1
	algRSASHA256   = xmldsig.AlgRSASHA256
	algRSASHA384   = xmldsig.AlgRSASHA384
	algRSASHA512   = xmldsig.AlgRSASHA512
	algSHA1        = xmldsig.AlgSHA1
	algSHA256      = xmldsig.AlgSHA256
	algSHA384      = xmldsig.AlgSHA384
	algSHA512      = xmldsig.AlgSHA512
	algTripleDES   = xmldsig.AlgTripleDES
	nsDSig         = xmldsig.NSDSig
	nsXEnc         = xmldsig.NSXEnc
	nsXEnc11       = xmldsig.NSXEnc11
)
