// SafeHaven partner portal: progressive enhancement only. Every form works without this file.
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  // Opening hours: the rows, the words or the OSM code, checked as they are typed; the
  // OSM code follows the rows or the words, and the week is shown in words before saving.
  function initHoursForm() {
    var box = document.querySelector("[data-hours-form]");
    if (!box) return;
    var form = box.form || box.closest("form");
    var words = document.getElementById("hours-words");
    var preview = document.getElementById("hours-preview");
    var osm = document.getElementById("opening_hours");
    function source() {
      var checked = box.querySelector("input[name=hours_source]:checked");
      return checked ? checked.value : "editor";
    }
    function show() {
      var current = source();
      box.querySelectorAll("[data-hours-part]").forEach(function (part) {
        part.hidden = part.getAttribute("data-hours-part") !== current;
      });
    }
    var check = debounce(function () {
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, key) {
        if (key.indexOf("hours_") === 0 || key === "opening_hours") params.append(key, value);
      });
      fetch(box.getAttribute("data-hours-form") + "?" + params.toString(),
            { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          if (body.valid) {
            words.textContent = body.words || body.summary;
            preview.textContent = body.summary;
            preview.className = "preview valid";
            if (source() !== "expert" && body.osm !== null) osm.value = body.osm;
          } else {
            words.textContent = "Not understood yet: " + body.summary + (body.error ? " (" + body.error + ")" : "");
            preview.textContent = body.summary + (body.error ? " (" + body.error + ")" : "");
            preview.className = "preview invalid";
          }
          if (source() === "expert") osm.setAttribute("aria-invalid", body.valid ? "false" : "true");
        })
        .catch(function () { /* the server checks again on submit */ });
    }, 250);
    box.addEventListener("input", function (event) {
      var part = event.target.closest("[data-hours-part]");
      if (part) {
        var radio = box.querySelector("input[name=hours_source][value=" + part.getAttribute("data-hours-part") + "]");
        if (radio && !radio.checked) radio.checked = true;
      }
      check();
    });
    // Times only where the day is open at set times.
    function syncRows() {
      box.querySelectorAll(".hours-row").forEach(function (row) {
        var mode = row.querySelector("select");
        var times = row.querySelector(".times");
        if (mode && times) times.hidden = mode.value !== "hours";
      });
    }
    box.addEventListener("change", function (event) {
      if (event.target.name === "hours_source") show();
      syncRows();
      check();
    });
    show();
    syncRows();
  }

  // Postcode: look it up and move the marker on the ward map without a page load.
  function initPostcode() {
    var input = document.querySelector("[data-postcode-lookup]");
    var map = document.querySelector("svg[data-map]");
    if (!input || !map) return;
    var marker = map.querySelector(".marker");
    var lat = document.querySelector("input[name=lat]");
    var lon = document.querySelector("input[name=lon]");
    var status = document.getElementById("postcode-status");
    var b = JSON.parse(map.getAttribute("data-map"));
    var look = debounce(function () {
      var value = input.value.trim();
      if (value.length < 5) return;
      fetch(input.getAttribute("data-postcode-lookup") + encodeURIComponent(value), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          if (!res.ok) {
            if (status) { status.textContent = res.body.message || "Unknown postcode"; status.className = "field-error"; }
            return;
          }
          var p = res.body;
          if (lat) lat.value = p.lat.toFixed(6);
          if (lon) lon.value = p.lon.toFixed(6);
          var x = (p.lon - b.min_lon) * b.scale_x;
          var y = (b.max_lat - p.lat) * b.scale_y;
          marker.setAttribute("cx", x.toFixed(1));
          marker.setAttribute("cy", y.toFixed(1));
          marker.setAttribute("visibility", "visible");
          var hint = document.getElementById("map-hint");
          if (hint) hint.textContent = "The red dot shows the venue.";
          if (status) { status.textContent = p.postcode + " found: marker placed on the map."; status.className = "hint"; }
        })
        .catch(function () {});
    }, 400);
    input.addEventListener("input", look);
  }

  // Firebase sign-in: exchange email and password for an ID token, then post it to the server.
  function initFirebase() {
    var form = document.getElementById("firebase-sign-in");
    if (!form) return;
    var status = document.getElementById("firebase-status");
    form.addEventListener("submit", function (event) {
      if (form.elements.id_token.value) return;
      event.preventDefault();
      status.textContent = "Signing in...";
      var url = form.getAttribute("data-origin") + "/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=" +
        encodeURIComponent(form.getAttribute("data-api-key") || "any");
      if (form.getAttribute("data-origin").indexOf("https://identitytoolkit.googleapis.com") === 0) {
        url = "https://identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=" + encodeURIComponent(form.getAttribute("data-api-key"));
      }
      fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email: form.elements.email.value, password: form.elements.password.value, returnSecureToken: true })
      }).then(function (r) { return r.json(); }).then(function (body) {
        if (!body.idToken) { status.textContent = "Wrong email or password."; status.className = "field-error"; return; }
        form.elements.id_token.value = body.idToken;
        form.elements.password.value = "";
        form.submit();
      }).catch(function () { status.textContent = "Cannot reach the sign-in service."; status.className = "field-error"; });
    });
  }

  // After a failed submit, take the reader to the error summary (its links go to the fields).
  function initErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    initErrorSummary();
    initHoursForm();
    initPostcode();
    initFirebase();
  });
})();
