// Lanyard administration: small progressive enhancements. Every page works
// without this file; it adds copy buttons, the "Test SSO connection" popup
// and an upload progress bar.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Copy buttons: <button data-copy="ID"> copies the text of element ID.
  for (const btn of document.querySelectorAll("button[data-copy]")) {
    btn.hidden = false;
    btn.addEventListener("click", async () => {
      const src = document.getElementById(btn.dataset.copy);
      const text = src.value !== undefined ? src.value : src.textContent;
      try {
        await navigator.clipboard.writeText(text.trim());
        btn.textContent = "Copied";
      } catch (e) {
        if (src.select) { src.select(); }
        btn.textContent = "Press Ctrl+C";
      }
      setTimeout(() => { btn.textContent = "Copy"; }, 2000);
    });
  }
  // "Test SSO connection" opens in a popup; the link works without it.
  for (const a of document.querySelectorAll("a[data-popup]")) {
    a.addEventListener("click", (ev) => {
      const w = window.open(a.href, "lanyard-sso-test", "width=900,height=760");
      if (w) { ev.preventDefault(); w.focus(); }
    });
  }
  // Upload forms with a <progress data-upload>: send with XHR to show progress.
  for (const form of document.querySelectorAll("form[data-upload]")) {
    const bar = form.querySelector("progress");
    form.addEventListener("submit", (ev) => {
      if (!bar || !window.XMLHttpRequest) { return; }
      ev.preventDefault();
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      bar.hidden = false;
      xhr.upload.addEventListener("progress", (p) => {
        if (p.lengthComputable) { bar.max = p.total; bar.value = p.loaded; }
      });
      xhr.addEventListener("load", () => {
        document.open(); document.write(xhr.responseText); document.close();
        history.replaceState(null, "", xhr.responseURL || form.action);
      });
      xhr.send(new FormData(form));
    });
  }
});
