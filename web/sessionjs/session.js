// Lanyard session keeping. Pages include it with
//
//   <script src="/lanyard/session.js" defer></script>
//
// It asks Lanyard who is signed in, re-checks the session with the identity
// provider when a check is due (a passive sign-in in a hidden frame, or in a
// small window when the identity provider refuses to be framed), and when
// the session has ended it shows a "session expired" dialog whose Log in
// button signs in again in a small window, without leaving the page.
// It needs no inline script and no style sheet of its own.
//
// An application on a host of its own includes it by Lanyard's absolute URL
// (<script src="https://sso.example.com/lanyard/session.js" defer>); its
// host must be a proxy route's or a trusted host, on Lanyard's scheme and
// site. The checks then name this page's origin, which Lanyard validates.
(function () {
  "use strict";
  if (window.LanyardSession) {
    return;
  }
  var script = document.currentScript;
  var origin = script ? new URL(script.src, location.href).origin : location.origin;
  var crossOrigin = origin !== location.origin;
  var signedOutPage = !!(script && script.hasAttribute("data-signed-out"));
  var FRAME_TIMEOUT_MS = 8000;
  // Pacing. Whatever Lanyard answers (fields missing, nonsense numbers,
  // errors, no network), the script never asks for the state more often
  // than once per MIN_GAP_S, backs off on failures up to MAX_WAIT_S, and
  // starts a check with the identity provider at most once per
  // MIN_CHECK_GAP_S or per 80% of the refresh interval, whichever is
  // longer.
  var MIN_GAP_S = 2;
  var MAX_WAIT_S = 300;
  var RETRY_FIRST_S = 5;
  var MIN_CHECK_GAP_S = 5;
  var DEFAULT_WAIT_S = 60;

  var state = null;
  var tenant = sessionStorage.getItem("lanyard.tenant");
  var timer = null;
  var useWindow = sessionStorage.getItem("lanyard.use-window") === "1";
  var frame = null;
  var frameTimer = null;
  var checkWindow = null;
  var loginWindow = null;
  var dialog = null;
  var focusBefore = null;
  var channel = "BroadcastChannel" in window ? new BroadcastChannel("lanyard-session") : null;

  var fetching = false;
  var askAgain = false;
  var lastFetchAt = 0;
  var lastCheckAt = 0;
  var failures = 0;
  var shortWaits = 0;
  var stopped = false;

  function url(path) {
    return origin + path;
  }

  function now() {
    return Date.now();
  }

  // withOrigin names this page's origin on a check or sign-in URL (which
  // has a query already) when it is not Lanyard's: the relay page answers
  // only that origin.
  function withOrigin(u) {
    return crossOrigin ? u + "&origin=" + encodeURIComponent(location.origin) : u;
  }

  function broadcast(msg) {
    if (channel) {
      channel.postMessage(msg);
    }
    try {
      localStorage.setItem("lanyard." + msg, String(Date.now()));
    } catch (e) {
      // Storage may be disabled; BroadcastChannel still works.
    }
  }

  // seconds reads a number of seconds from an answer: null when it is
  // missing or not a finite number.
  function seconds(v) {
    return typeof v === "number" && isFinite(v) ? v : null;
  }

  // normalize turns an answer into a state the script can rely on, or
  // throws when it is not an answer at all.
  function normalize(s) {
    if (!s || typeof s !== "object" || typeof s.signed_in !== "boolean") {
      throw new Error("not a session state");
    }
    if (!s.signed_in) {
      return { signed_in: false };
    }
    var checkURL = typeof s.check_url === "string" && s.check_url.charAt(0) === "/" && s.check_url.charAt(1) !== "/" ? s.check_url : "";
    return {
      signed_in: true,
      tenant: typeof s.tenant === "string" ? s.tenant : "",
      login: typeof s.login === "string" ? s.login : "",
      name: typeof s.name === "string" ? s.name : "",
      roles: Array.isArray(s.roles) ? s.roles : [],
      kind: typeof s.kind === "string" ? s.kind : "",
      expires_in: seconds(s.expires_in),
      refresh_interval: seconds(s.refresh_interval),
      refresh_in: seconds(s.refresh_in),
      check_url: checkURL,
      login_url: typeof s.login_url === "string" ? s.login_url : ""
    };
  }

  function fetchState() {
    return fetch(url("/lanyard/session"), { credentials: "include", cache: "no-store" })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("HTTP " + r.status);
        }
        return r.json();
      })
      .then(normalize);
  }

  // later runs update after wait seconds, never sooner than MIN_GAP_S
  // after the last request for the state, never later than MAX_WAIT_S.
  function later(wait) {
    clearTimeout(timer);
    if (stopped) {
      return;
    }
    if (typeof wait !== "number" || !isFinite(wait)) {
      wait = DEFAULT_WAIT_S;
    }
    var sinceLast = (now() - lastFetchAt) / 1000;
    wait = Math.min(MAX_WAIT_S, Math.max(wait, MIN_GAP_S - sinceLast, 0));
    timer = setTimeout(update, wait * 1000);
  }

  // update reads the session state and acts on it.
  function update() {
    clearTimeout(timer);
    stopped = false;
    if (fetching) {
      // Asked again while a request is out (a check reported back): ask
      // once more when it is done, its answer may predate the check.
      askAgain = true;
      return;
    }
    var sinceLast = (now() - lastFetchAt) / 1000;
    if (sinceLast < MIN_GAP_S) {
      later(MIN_GAP_S - sinceLast);
      return;
    }
    fetching = true;
    lastFetchAt = now();
    fetchState().then(function (s) {
      fetching = false;
      failures = 0;
      apply(s);
      if (askAgain && state) {
        askAgain = false;
        later(0);
      }
    }, function () {
      // Lanyard unreachable or answering nonsense: keep the page as it
      // is and ask again later, waiting longer each time.
      fetching = false;
      askAgain = false;
      failures++;
      later(Math.min(MAX_WAIT_S, RETRY_FIRST_S * Math.pow(2, failures - 1)));
    });
  }

  function apply(s) {
    if (!s.signed_in) {
      var wasSignedIn = state !== null;
      state = null;
      stop();
      if (wasSignedIn) {
        showDialog("expired");
      }
      return;
    }
    stopped = false;
    state = s;
    if (s.tenant) {
      tenant = s.tenant;
      sessionStorage.setItem("lanyard.tenant", tenant);
    }
    if (dialog && dialog.reason !== "blocked") {
      hideDialog();
    }
    if (checkable() && s.refresh_in !== null && s.refresh_in <= 0 && checkAllowedIn() <= 0 && !checking()) {
      check();
    }
    schedule();
  }

  // checkAllowedIn is the number of seconds until a check may start.
  function checkAllowedIn() {
    var gap = MIN_CHECK_GAP_S;
    if (state && state.refresh_interval !== null && state.refresh_interval > 0) {
      gap = Math.max(gap, 0.8 * state.refresh_interval);
    }
    return Math.max(0, gap - (now() - lastCheckAt) / 1000);
  }

  // checkable says whether the session is re-checked with the identity
  // provider: an SSO session with a check URL on Lanyard's site.
  function checkable() {
    return !!state && state.kind === "sso" && state.check_url !== "";
  }

  function checking() {
    return frame !== null;
  }

  // schedule asks again when the session may end or a check comes due.
  function schedule() {
    if (!state) {
      return;
    }
    var wait = MAX_WAIT_S;
    if (state.expires_in !== null) {
      wait = Math.min(wait, state.expires_in + 1);
    }
    if (checkable()) {
      var due = state.refresh_in;
      if (due === null) {
        due = state.refresh_interval !== null && state.refresh_interval > 0 ? state.refresh_interval : DEFAULT_WAIT_S;
      }
      wait = Math.min(wait, Math.max(due, checkAllowedIn()));
    }
    // An answer that keeps asking to come back at once (a session about
    // to end that does not, a check due that does not run) is asked again
    // less and less often.
    if (wait < MIN_GAP_S) {
      shortWaits++;
      wait = Math.min(MAX_WAIT_S, MIN_GAP_S * Math.pow(2, shortWaits));
    } else {
      shortWaits = 0;
    }
    later(wait);
  }

  function stop() {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(frameTimer);
    removeFrame();
  }

  // check re-checks the session with the identity provider.
  function check() {
    if (!checkable()) {
      return;
    }
    lastCheckAt = now();
    if (useWindow) {
      checkInWindow(false);
    } else {
      checkInFrame();
    }
  }

  function checkInFrame() {
    removeFrame();
    frame = document.createElement("iframe");
    frame.title = "Session check";
    frame.setAttribute("aria-hidden", "true");
    frame.tabIndex = -1;
    Object.assign(frame.style, { position: "absolute", width: "1px", height: "1px", border: "0", left: "-9999px", top: "0" });
    frame.src = url(withOrigin(state.check_url + "?passive=frame"));
    document.body.appendChild(frame);
    frameTimer = setTimeout(function () {
      // No answer: the identity provider refuses to be framed. Use a
      // small window from now on, for this tab.
      removeFrame();
      useWindow = true;
      sessionStorage.setItem("lanyard.use-window", "1");
      checkInWindow(false);
    }, FRAME_TIMEOUT_MS);
  }

  function removeFrame() {
    clearTimeout(frameTimer);
    if (frame) {
      frame.remove();
      frame = null;
    }
  }

  // checkInWindow runs the check in the session-keeping window, opening
  // it when needed. fromClick says a user gesture allows the opening.
  function checkInWindow(fromClick) {
    var target = url(withOrigin(state.check_url + "?passive=popup"));
    if (checkWindow && !checkWindow.closed) {
      checkWindow.location.replace(target);
      return;
    }
    checkWindow = window.open(target, "lanyard-session-check", "popup,width=480,height=400");
    if (!checkWindow) {
      showDialog("blocked");
      return;
    }
    if (fromClick) {
      hideDialog();
    }
  }

  function closeWindows() {
    [checkWindow, loginWindow].forEach(function (w) {
      if (w && !w.closed) {
        w.close();
      }
    });
    checkWindow = null;
    loginWindow = null;
  }

  window.addEventListener("message", function (ev) {
    if (ev.origin !== origin || typeof ev.data !== "string") {
      return;
    }
    switch (ev.data) {
      case "lanyard:refreshed":
        removeFrame();
        update();
        break;
      case "lanyard:unconfirmed":
        // The identity provider may not see its cookies in a frame
        // (third-party cookies blocked): ask again in a window, where it
        // is the first party, and keep using a window in this tab.
        removeFrame();
        useWindow = true;
        sessionStorage.setItem("lanyard.use-window", "1");
        if (state) {
          checkInWindow(false);
        }
        break;
      case "lanyard:expired":
        removeFrame();
        state = null;
        stop();
        showDialog("expired");
        break;
      case "lanyard:signed-in":
        loginWindow = null;
        hideDialog();
        broadcast("signed-in");
        update();
        break;
    }
  });

  function onSignedOutElsewhere() {
    closeWindows();
    stop();
    if (state !== null && !signedOutPage) {
      state = null;
      showDialog("signed-out");
    }
    state = null;
  }

  if (channel) {
    channel.onmessage = function (ev) {
      if (ev.data === "signed-out") {
        onSignedOutElsewhere();
      } else if (ev.data === "signed-in" && dialog) {
        update();
      }
    };
  }
  window.addEventListener("storage", function (ev) {
    if (ev.key === "lanyard.signed-out" && !channel) {
      onSignedOutElsewhere();
    }
  });

  var texts = {
    expired: {
      title: "Your session has expired",
      text: "Press Log in to continue. If you are still signed in with your identity provider, you are back at once, without typing anything; otherwise a small window asks you to sign in.",
      button: "Log in"
    },
    "signed-out": {
      title: "You are signed out",
      text: "You signed out in another tab or window. Press Log in to sign in again.",
      button: "Log in"
    },
    blocked: {
      title: "Allow pop-up windows",
      text: "Your identity provider does not allow the session check in the background, so Lanyard needs a small window for it, and your browser blocked it. Allow pop-ups for this site: click the blocked pop-up icon at the right of the address bar (or the bar at the top of the page) and choose to always allow pop-ups from this site. Then press Try again.",
      button: "Try again"
    }
  };

  var BLOCKED_LOGIN = "Your browser blocked the sign-in window. Allow pop-ups for this site: click the blocked pop-up icon at the right of the address bar and choose to always allow pop-ups from this site, then press Log in again.";

  function showDialog(reason) {
    if (dialog) {
      hideDialog(true);
    }
    var t = texts[reason];
    focusBefore = document.activeElement;
    var overlay = document.createElement("div");
    overlay.id = "lanyard-session-overlay";
    Object.assign(overlay.style, {
      position: "fixed", inset: "0", background: "rgba(0,0,0,0.45)", zIndex: "2147483647",
      display: "flex", alignItems: "center", justifyContent: "center", font: "16px/1.5 system-ui, sans-serif"
    });
    var box = document.createElement("div");
    box.id = "lanyard-session-dialog";
    box.setAttribute("role", "alertdialog");
    box.setAttribute("aria-modal", "true");
    box.setAttribute("aria-labelledby", "lanyard-session-title");
    box.setAttribute("aria-describedby", "lanyard-session-text");
    box.setAttribute("data-reason", reason);
    Object.assign(box.style, {
      background: "#fff", color: "#111", maxWidth: "28rem", margin: "1rem", padding: "1.5rem",
      borderRadius: "8px", boxShadow: "0 10px 30px rgba(0,0,0,0.3)"
    });
    var h = document.createElement("h2");
    h.id = "lanyard-session-title";
    h.textContent = t.title;
    Object.assign(h.style, { margin: "0 0 0.75rem", fontSize: "1.25rem" });
    var p = document.createElement("p");
    p.id = "lanyard-session-text";
    p.textContent = t.text;
    var alert = document.createElement("p");
    alert.id = "lanyard-session-blocked";
    alert.setAttribute("role", "alert");
    Object.assign(alert.style, { color: "#8a1c1c", fontWeight: "600" });
    var button = document.createElement("button");
    button.type = "button";
    button.id = "lanyard-session-login";
    button.textContent = t.button;
    Object.assign(button.style, { font: "inherit", padding: "0.5rem 1.25rem", cursor: "pointer" });
    button.addEventListener("click", function () {
      if (reason === "blocked") {
        if (state) {
          checkInWindow(true);
        } else {
          hideDialog();
        }
        return;
      }
      logIn(alert);
    });
    box.appendChild(h);
    box.appendChild(p);
    box.appendChild(alert);
    box.appendChild(button);
    overlay.appendChild(box);
    // Focus stays in the dialog: it is the only thing to do on the page.
    box.addEventListener("keydown", function (ev) {
      if (ev.key === "Tab") {
        ev.preventDefault();
        button.focus();
      }
    });
    document.body.appendChild(overlay);
    dialog = { overlay: overlay, reason: reason };
    button.focus();
  }

  function hideDialog(keepFocus) {
    if (!dialog) {
      return;
    }
    dialog.overlay.remove();
    dialog = null;
    if (!keepFocus && focusBefore && typeof focusBefore.focus === "function") {
      focusBefore.focus();
    }
  }

  // logIn signs in again in a small window; it tells this page when done.
  function logIn(alert) {
    if (!tenant) {
      location.href = url("/login");
      return;
    }
    var target = url(withOrigin("/t/" + encodeURIComponent(tenant) + "/saml/login?return_to=" + encodeURIComponent("/lanyard/popup-done")));
    if (loginWindow && !loginWindow.closed) {
      loginWindow.location.replace(target);
      loginWindow.focus();
      return;
    }
    loginWindow = window.open(target, "lanyard-sign-in", "popup,width=520,height=640");
    if (!loginWindow) {
      alert.textContent = BLOCKED_LOGIN;
    }
  }

  window.LanyardSession = {
    // state is the last answer of /lanyard/session (null when signed out).
    state: function () { return state; },
    // checkNow re-checks the session with the identity provider now.
    checkNow: function () { check(); },
    // usesWindow tells whether checks run in a small window.
    usesWindow: function () { return useWindow; },
    // windowOpen tells whether the session-keeping window is open.
    windowOpen: function () { return !!(checkWindow && !checkWindow.closed); }
  };

  if (signedOutPage) {
    sessionStorage.removeItem("lanyard.use-window");
    broadcast("signed-out");
    return;
  }
  update();
})();
