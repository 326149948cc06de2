// Lanyard relay page: tells the page that ran a session check or a sign-in
// (the parent of a hidden frame, or the opener of a small window) how it
// went, by postMessage to that page's origin only: Lanyard's own, or the
// application's that Lanyard validated and wrote in data-origin.
(function () {
  "use strict";
  var body = document.body;
  var message = body.getAttribute("data-message");
  var mode = body.getAttribute("data-mode");
  var pageOrigin = body.getAttribute("data-origin") || location.origin;
  var target = mode === "frame" ? window.parent : window.opener;
  if (message && target && target !== window) {
    try {
      target.postMessage(message, pageOrigin);
    } catch (e) {
      // The opener navigated to another site: nothing to tell.
    }
  }
  var hasOpener = !!window.opener;
  if (mode === "login" || (mode === "popup" && message === "lanyard:expired")) {
    // The sign-in window, and a check window whose session ended, are done.
    if (hasOpener) {
      setTimeout(function () { window.close(); }, 50);
    }
    return;
  }
  if (mode === "popup") {
    // The session-keeping window stays open between checks and closes when
    // the user signs out, in any tab.
    var close = function () { window.close(); };
    if ("BroadcastChannel" in window) {
      new BroadcastChannel("lanyard-session").onmessage = function (ev) {
        if (ev.data === "signed-out") { close(); }
      };
    }
    window.addEventListener("storage", function (ev) {
      if (ev.key === "lanyard.signed-out") { close(); }
    });
  }
})();
