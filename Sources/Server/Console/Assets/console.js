// Nightshift console: live regions and the JSON payload check. Pages work without it.
(function () {
  "use strict";

  // A region with data-live="<stream URL>" and data-fragment="<URL of its HTML>": on a run event
  // (or a resync after the server's listener reconnected) fetch the fragment and swap it in,
  // at most once per 300 ms.
  function live(region) {
    if (!window.EventSource || !window.fetch) return;
    var status = document.querySelector(".live");
    var timer = null, inFlight = false, again = false;
    function refresh() {
      timer = null;
      if (inFlight) { again = true; return; }
      inFlight = true;
      fetch(region.getAttribute("data-fragment"), { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html !== null) { region.innerHTML = html; region.setAttribute("data-updated", String(Date.now())); }
        })
        .catch(function () {})
        .then(function () { inFlight = false; if (again) { again = false; schedule(); } });
    }
    function schedule() { if (!timer) timer = setTimeout(refresh, 300); }
    var source = new EventSource(region.getAttribute("data-live"));
    source.addEventListener("run", schedule);
    source.addEventListener("resync", schedule);
    source.onopen = function () { region.setAttribute("data-stream", "open"); if (status) status.setAttribute("data-stream", "open"); };
    source.onerror = function () { region.setAttribute("data-stream", "reconnecting"); };
  }

  // A textarea[data-json] must hold a JSON object: the parse error shows next to it, in place,
  // and the form is not sent until it parses.
  function jsonField(field) {
    var out = document.getElementById(field.getAttribute("aria-describedby"));
    function check() {
      var text = field.value.trim();
      var message = "";
      if (text !== "") {
        try {
          var value = JSON.parse(text);
          if (value === null || typeof value !== "object" || Array.isArray(value)) message = "The payload must be a JSON object, like {\"key\": 1}.";
        } catch (e) { message = "Not valid JSON: " + e.message; }
      }
      if (out) out.textContent = message;
      if (message) field.setAttribute("aria-invalid", "true"); else field.removeAttribute("aria-invalid");
      return message === "";
    }
    field.addEventListener("input", check);
    field.form.addEventListener("submit", function (event) { if (!check()) { event.preventDefault(); field.focus(); } });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), live);
    Array.prototype.forEach.call(document.querySelectorAll("textarea[data-json]"), jsonField);
  });
})();
