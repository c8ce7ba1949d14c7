// Latchkey console: progressive enhancement only. Every page works without
// this script; it adds copy buttons, live search and in-place list editing.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // "Select every client on this page" (shown only with script).
  document.addEventListener("change", function (e) {
    var all = e.target.closest && e.target.closest("[data-select-all]");
    if (!all) { return; }
    var table = all.closest("table");
    Array.prototype.forEach.call(table.querySelectorAll("tbody input[name=ids]"), function (box) { box.checked = all.checked; });
  });

  // Copy buttons: <button data-copy="value">.
  function announce(button, text) {
    var status = document.querySelector("[data-copy-status]");
    if (status) { status.textContent = text; }
    var old = button.textContent;
    button.textContent = "Copied";
    window.setTimeout(function () { button.textContent = old; }, 1500);
  }

  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("button[data-copy]");
    if (!b) { return; }
    e.preventDefault();
    var value = b.getAttribute("data-copy");
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(value).then(function () { announce(b, "Copied to the clipboard."); },
        function () { announce(b, "Copying failed: select the text and copy it."); });
    }
  });

  // Live search of the clients list: fetch the results fragment as you type.
  function liveSearch(form) {
    var url = form.getAttribute("data-live-results");
    var target = document.getElementById("client-results");
    var box = form.querySelector("input[type=search]");
    if (!url || !target || !box) { return; }
    var timer = null;
    var seq = 0;
    function refresh() {
      var params = new URLSearchParams();
      new FormData(form).forEach(function (v, k) { if (v !== "") { params.append(k, v); } });
      var mine = ++seq;
      fetch(url + "?" + params.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          if (mine !== seq) { return; }
          target.innerHTML = html;
          syncAllBulk();
          var page = form.getAttribute("action") + (params.toString() ? "?" + params.toString() : "");
          window.history.replaceState(null, "", page);
        });
    }
    box.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 200);
    });
  }

  // Bulk actions: off until a client is selected, with the reason beside
  // them (the form may be replaced by the live search: delegated).
  function syncBulk(form) {
    var n = form.querySelectorAll("tbody input[name=ids]:checked").length;
    Array.prototype.forEach.call(form.querySelectorAll("[data-bulk-action]"), function (b) { b.disabled = n === 0; });
    var note = form.querySelector("[data-bulk-note]");
    if (note) { note.textContent = n === 0 ? "Select clients to act on them." : "With the " + n + " selected:"; }
  }
  function syncAllBulk() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-bulk]"), syncBulk);
  }
  document.addEventListener("change", function (e) {
    var form = e.target.closest && e.target.closest("form[data-bulk]");
    if (form) { syncBulk(form); }
  });

  // List fields of the client form: Add and Remove in place.
  function listField(container) {
    var name = container.getAttribute("data-list");
    var input = container.querySelector("[data-pending]");
    var items = container.querySelector("[data-items]");
    var add = container.querySelector("[data-add]");
    function addValue() {
      var v = input.value.trim();
      if (!v) { return; }
      var exists = Array.prototype.some.call(items.querySelectorAll("input[type=hidden]"), function (h) { return h.value === v; });
      if (!exists) {
        var li = document.createElement("li");
        var hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = name; hidden.value = v;
        var code = document.createElement("code");
        code.textContent = v;
        var rm = document.createElement("button");
        rm.type = "button"; rm.className = "icon-button"; rm.textContent = "Remove";
        rm.setAttribute("aria-label", "Remove " + v);
        rm.setAttribute("data-remove", "");
        li.appendChild(hidden); li.appendChild(code); li.appendChild(rm);
        items.appendChild(li);
      }
      input.value = "";
      input.focus();
    }
    add.addEventListener("click", function (e) { e.preventDefault(); addValue(); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); addValue(); }
    });
    items.addEventListener("click", function (e) {
      var rm = e.target.closest && e.target.closest("[data-remove]");
      if (!rm) { return; }
      e.preventDefault();
      rm.parentNode.parentNode.removeChild(rm.parentNode);
      input.focus();
    });
  }

  // Enter in an ordinary field of the client form submits it (not Add).
  // The key fields show only while Private key JWT is chosen; hidden, they
  // are disabled so that nothing stale is sent.
  function clientForm(form) {
    var primary = form.querySelector("[data-primary]");
    var method = form.querySelector("select[data-auth-method]");
    var keys = form.querySelector("fieldset[data-keys]");
    if (method && keys) {
      var syncKeys = function () {
        var on = method.value === "private_key_jwt";
        keys.hidden = !on;
        keys.disabled = !on;
      };
      method.addEventListener("change", syncKeys);
      syncKeys();
    }
    form.addEventListener("keydown", function (e) {
      var t = e.target;
      if (e.key !== "Enter" || !primary || t.tagName !== "INPUT" || t.hasAttribute("data-pending")) { return; }
      if (t.type === "checkbox" || t.type === "submit" || t.type === "button") { return; }
      e.preventDefault();
      primary.click();
    });
  }

  // The "+" sub-form of the remote-client form: while it is open its
  // provider is used and the select is off; closed, its fields are not sent.
  function newProvider(details) {
    var form = details.closest("form");
    var select = form && form.querySelector("select[name=provider]");
    var set = details.querySelector("fieldset");
    function sync() {
      set.disabled = !details.open;
      if (select) { select.disabled = details.open; }
      if (details.open) {
        var first = set.querySelector("input");
        if (first && document.activeElement === details.querySelector("summary")) { first.focus(); }
      }
    }
    details.addEventListener("toggle", sync);
    sync();
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details[data-new-provider]"), newProvider);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-live-results]"), liveSearch);
    Array.prototype.forEach.call(document.querySelectorAll("[data-list]"), listField);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-client-form]"), clientForm);
    syncAllBulk();
    // Browsers that cannot show a closed <details> (no ::details-content)
    // get the menu opened on wide screens.
    var menu = document.querySelector("details[data-menu]");
    if (menu && window.CSS && !CSS.supports("selector(::details-content)") && window.matchMedia("(min-width: 801px)").matches) {
      menu.open = true;
    }
  });
})();
