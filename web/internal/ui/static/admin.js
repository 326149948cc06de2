// Lanyard administration: small progressive enhancements. Every page works
// without this file; it adds copy buttons, the "Test SSO connection" popup
// a progress bar for large uploads, and the column names of table cells
// that narrow windows show as cards.
"use strict";

// largeUpload is the file size above which an upload shows its progress.
const largeUpload = 512 * 1024;

function enhance(root) {
  // Narrow windows show each table row as a card (admin.css): every cell
  // is labelled with its column's heading.
  for (const table of root.querySelectorAll("table")) {
    const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    if (heads.length === 0) { continue; }
    table.classList.add("cards");
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.children].forEach((cell, i) => {
        if (heads[i] && !cell.hasAttribute("colspan")) { cell.dataset.label = heads[i]; }
      });
    }
  }
  // Copy buttons: <button data-copy="ID"> copies the text of element ID.
  for (const btn of root.querySelectorAll("button[data-copy]")) {
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
  for (const a of root.querySelectorAll("a[data-popup]")) {
    a.addEventListener("click", (ev) => {
      const w = window.open(a.href, "lanyard-sso-test", "width=900,height=760");
      if (w) { ev.preventDefault(); w.focus(); }
    });
  }
  // Forms marked data-upload send large files with XHR to show progress.
  for (const form of root.querySelectorAll("form[data-upload]")) {
    const bar = form.querySelector("progress");
    form.addEventListener("submit", (ev) => {
      const input = form.querySelector("input[type=file]");
      const file = input && input.files && input.files[0];
      if (!bar || !file || file.size < largeUpload) { return; }
      ev.preventDefault();
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      bar.hidden = false;
      xhr.upload.addEventListener("progress", (p) => {
        if (p.lengthComputable) { bar.max = p.total; bar.value = p.loaded; }
      });
      xhr.addEventListener("load", () => {
        const doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        document.title = doc.title;
        document.body.replaceWith(doc.body);
        enhance(document);
      });
      xhr.addEventListener("error", () => { form.submit(); });
      xhr.send(new FormData(form));
    });
  }
}

document.addEventListener("DOMContentLoaded", () => enhance(document));
