// SafeHaven watch page: a live journey for a contact without the app. No framework, no tiles.
// Every time is shown in UK time (Europe/London); positions are a place when the server knows
// one, else coordinates, labelled.
(function () {
  "use strict";
  var token = window.location.pathname.split("/").filter(Boolean).pop();
  var journey = null;
  var placeFor = null; // the fix the server's place label describes
  var $ = function (id) { return document.getElementById(id); };
  var ukClock = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Europe/London", hour: "2-digit", minute: "2-digit"
  });
  var ukDay = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Europe/London", weekday: "short", day: "numeric", month: "short"
  });

  function ukTime(iso) {
    if (!iso) { return null; }
    var when = new Date(iso);
    var text = ukClock.format(when);
    if (ukDay.format(when) !== ukDay.format(new Date())) { text = ukDay.format(when) + " " + text; }
    return text;
  }
  function ago(iso) {
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 60) { return "just now"; }
    if (s < 3600) { return Math.floor(s / 60) + " min ago"; }
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min ago";
  }
  function haversine(a, b) {
    var r = 6371008.8, rad = Math.PI / 180;
    var dp = (b.lat - a.lat) * rad, dl = (b.lon - a.lon) * rad;
    var h = Math.pow(Math.sin(dp / 2), 2) +
      Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.pow(Math.sin(dl / 2), 2);
    return 2 * r * Math.asin(Math.min(1, Math.sqrt(h)));
  }
  function distanceText(m) {
    return m < 1000 ? Math.round(m / 10) * 10 + " m" : (m / 1000).toFixed(1) + " km";
  }
  function name() { return (journey && journey.owner_name) || "your contact"; }
  function capital(text) { return text.charAt(0).toUpperCase() + text.slice(1); }
  function stateText(j) {
    if (j.state === "arrived") { return ["arrived", capital(name()) + " arrived safely"]; }
    if (j.state === "cancelled") { return ["ended", capital(name()) + " stopped sharing"]; }
    if (j.sos) { return ["sos", capital(name()) + " needs help now"]; }
    if (j.overdue) {
      return ["overdue", capital(name()) + " has not arrived (expected by " +
        ukTime(j.expected_arrival_at) + ")"];
    }
    if (j.stationary) { return ["overdue", capital(name()) + " has not moved for a while"]; }
    if (j.kind === "emergency") { return ["sos", "Emergency share"]; }
    return ["active", "On the way"];
  }
  function setText(id, text) {
    var el = $(id);
    if (el.textContent !== text) { el.textContent = text; } // unchanged text is not re-announced
  }
  function since() {
    if (!journey || !journey.last_fix) { setText("since", "Not yet"); return; }
    setText("since", ago(journey.last_fix.recorded_at) + " (" + ukTime(journey.last_fix.recorded_at) + ")");
  }
  function render() {
    if (!journey) { return; }
    var st = stateText(journey);
    setText("owner", name());
    if (journey.kind === "emergency") { setText("title", "Emergency share from " + name()); }
    if (journey.sos && journey.state === "active") {
      setText("sos", "SOS: " + name() + " pressed SOS at " + ukTime(journey.sos_at || journey.started_at) +
        ". If they may be in danger, call 999.");
      $("sos").hidden = false;
    } else {
      $("sos").hidden = true;
    }
    setText("state", st[1]);
    $("state").setAttribute("data-state", st[0]);
    var trip = journey.kind !== "emergency";
    Array.prototype.forEach.call(document.querySelectorAll(".trip"), function (el) { el.hidden = !trip; });
    var d = journey.destination;
    setText("destination", d.label || (d.lat.toFixed(4) + ", " + d.lon.toFixed(4)));
    setText("eta", ukTime(journey.expected_arrival_at) || "–");
    var f = journey.last_fix;
    if (f) {
      var coords = f.lat.toFixed(4) + ", " + f.lon.toFixed(4);
      var accuracy = f.accuracy_m != null ? " (within " + Math.round(f.accuracy_m) + " m)" : "";
      if (journey.last_place && placeFor === f.recorded_at) {
        setText("position-label", "Near");
        setText("position", journey.last_place.replace(/^Near /, "") + accuracy);
      } else {
        setText("position-label", "Position (coordinates)");
        setText("position", coords + accuracy);
      }
      setText("battery", f.battery != null ? Math.round(f.battery) + "%" : "Not known");
      setText("distance", distanceText(haversine(f, d)));
      var maps = $("maps");
      maps.href = "https://www.openstreetmap.org/?mlat=" + f.lat.toFixed(5) + "&mlon=" +
        f.lon.toFixed(5) + "#map=17/" + f.lat.toFixed(5) + "/" + f.lon.toFixed(5);
      maps.hidden = false;
    }
    since();
  }
  function onState(ev) {
    journey = JSON.parse(ev.data).journey;
    placeFor = journey.last_fix ? journey.last_fix.recorded_at : null;
    render();
  }
  function onResync(ev) {
    // Updates may have been missed (the server's broker lost Redis for a while): the state
    // now, its last position joining the track.
    journey = JSON.parse(ev.data).journey;
    var f = journey.last_fix, last = track[track.length - 1];
    if (f && (!last || f.recorded_at > last.recorded_at)) { track.push(f); }
    render();
    if (journey.state !== "active") { source.close(); }
  }
  function onFix(ev) {
    var fix = JSON.parse(ev.data);
    if (fix.jump || !journey) { return; }
    if (!journey.last_fix || fix.recorded_at >= journey.last_fix.recorded_at) {
      journey.last_fix = {
        lat: fix.lat, lon: fix.lon, recorded_at: fix.recorded_at, accuracy_m: fix.accuracy_m,
        battery: fix.battery != null ? fix.battery : (journey.last_fix && journey.last_fix.battery)
      };
    }
    render();
  }
  function onAlert(ev) {
    var alert = JSON.parse(ev.data), li = document.createElement("li");
    li.textContent = ukClock.format(new Date()) + " " + alert.title + ": " + alert.body;
    if (alert.kind === "sos") { li.className = "sos-alert"; }
    $("alerts").insertBefore(li, $("alerts").firstChild);
  }
  var source = new EventSource("/watch/" + encodeURIComponent(token) + "/events");
  source.addEventListener("state", onState);
  source.addEventListener("resync", onResync);
  source.addEventListener("fix", onFix);
  source.addEventListener("alert", onAlert);
  source.addEventListener("link_revoked", function (ev) {
    var data = JSON.parse(ev.data);
    source.close();
    setText("state", capital(data.by_display_name || name()) + " stopped sharing this link" +
      (data.at ? " at " + ukTime(data.at) : ""));
    $("state").setAttribute("data-state", "ended");
    $("sos").hidden = true;
    // Consent was withdrawn: the position already shown goes too.
    $("maps").hidden = true;
    $("details").hidden = true;
    setText("note", "This page no longer updates. In an emergency call 999.");
  });
  source.onerror = function () {
    if (journey && journey.state !== "active") { source.close(); }
  };
  window.setInterval(since, 15000);
}());
