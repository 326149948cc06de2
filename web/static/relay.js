// Lanyard relay page: tells the page that ran a session check or a sign-in
// (the parent of a hidden frame, or the opener of a small window) how it
// went, by postMessage to Lanyard's own origin only.
(function () {
  "use strict";
  var body = document.body;
  var message = body.getAttribute("data-message");
  var mode = body.getAttribute("data-mode");
  var target = mode === "frame" ? window.parent : window.opener;
  if (message && target && target !== window) {
    try {
      target.postMessage(message, location.origin);
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
