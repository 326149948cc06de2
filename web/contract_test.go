package web

import (
	"github.com/lanyard-sso/lanyard/lockout"
	"github.com/lanyard-sso/lanyard/web/internal/relay"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
	weblogin "github.com/lanyard-sso/lanyard/web/login"
	"github.com/lanyard-sso/lanyard/web/sessionjs"
	"github.com/lanyard-sso/lanyard/web/sso"
)

// The names these end-to-end tests check, as users, dashboards and
// scripts see them. The audit actions, reason codes and refusal texts are
// written out here rather than taken from the faces: they are a contract
// (alerts match them), so a change to one of them must fail a test.
const (
	actionAdminLogin    = "admin.login"
	actionLoginThrottle = "login.throttle"
	actionLogout        = "logout"
	actionPasswordLogin = "password.login"
	actionSSOLogin      = "sso.login"
	actionSLO           = "sso.logout"
	actionSessionCheck  = "sso.session_check"

	reasonBadPassword    = "bad_password"
	reasonBindingMissing = "binding_cookie_missing"
	reasonCSRF           = "csrf"
	reasonInactive       = "inactive"
	reasonInitialising   = "initialising"
	reasonLocked         = "locked"
	reasonNoPassword     = "no_password"
	reasonNotAdmin       = "not_admin"
	reasonTestAllowed    = "sso_test_allowed"
	reasonTestRefused    = "sso_test_refused"
	reasonThrottled      = "throttled"
	reasonUnknownUser    = "unknown_user"

	neutralLoginRefusal    = "Invalid username or password, or this account may not use the administrator login."
	neutralPasswordRefusal = "Invalid username or password."

	autoLoginCookieName = "lanyard_autologin"
	checkInFrame        = "frame"
	checkInPopup        = "popup"
)

// Names the faces share through web/internal.
const (
	sessionCookieName = ui.SessionCookieName
	csrfCookieName    = ui.CSRFCookieName
	bindingCookieName = ui.BindingCookieName
	csrfField         = ui.CSRFField
	maxFormBytes      = ui.MaxFormBytes

	sessionScriptPath = relay.SessionScriptPath
	sessionStatePath  = relay.SessionStatePath
	popupDonePath     = relay.PopupDonePath
	msgRefreshed      = relay.MsgRefreshed
	msgExpired        = relay.MsgExpired
	msgSignedIn       = relay.MsgSignedIn
	msgUnconfirmed    = relay.MsgUnconfirmed

	accountFailureLimit = lockout.ClientAccountFailureLimit
	addressFailureLimit = lockout.AddressFailureLimit
	throttleWindow      = lockout.Window
	signInStartLimit    = weblogin.SignInStartLimit
	signInStartWindow   = weblogin.SignInStartWindow
)

// sessionState is the answer of GET /lanyard/session.
type sessionState = sessionjs.State

var (
	accountKey       = lockout.AccountKey
	ssoTestReturn    = ui.SSOTestReturn
	roundDiff        = sso.RoundDiff
	SessionScriptURL = sessionjs.SessionScriptURL
)
var makeDummyHash = weblogin.MakeDummyHash
