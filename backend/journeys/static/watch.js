// SafeHaven watch page: live journey for a contact without the app. No framework, no tiles.
(function () {
  "use strict";
  var token = window.location.pathname.split("/").filter(Boolean).pop();
  var journey = null;
  var track = [];
  var $ = function (id) { return document.getElementById(id); };

  function fmtTime(iso) {
    if (!iso) { return "–"; }
    return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  function haversine(a, b) {
    var r = 6371008.8, rad = Math.PI / 180;
    var dp = (b.lat - a.lat) * rad, dl = (b.lon - a.lon) * rad;
    var h = Math.pow(Math.sin(dp / 2), 2) +
      Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.pow(Math.sin(dl / 2), 2);
    return 2 * r * Math.asin(Math.min(1, Math.sqrt(h)));
  }
  function stateText(j) {
    if (j.state === "arrived") { return ["arrived", "Arrived safely"]; }
    if (j.state === "cancelled") { return ["ended", "Sharing ended"]; }
    if (j.sos) { return ["sos", "SOS raised"]; }
    if (j.overdue) { return ["overdue", "Overdue: not arrived yet"]; }
    if (j.stationary) { return ["overdue", "Not moving"]; }
    return ["active", "On the way"];
  }
  function since() {
    if (!journey || !journey.last_fix) { $("since").textContent = "–"; return; }
    var s = Math.max(0, Math.round((Date.now() - Date.parse(journey.last_fix.recorded_at)) / 1000));
    $("since").textContent = s < 60 ? s + " s ago" : Math.floor(s / 60) + " min ago";
  }
  function plot() {
    var svg = $("plot"), pts = track.slice();
    var d = journey.destination;
    var all = pts.concat([{ lat: d.lat, lon: d.lon }]);
    var minLat = Math.min.apply(null, all.map(function (p) { return p.lat; }));
    var maxLat = Math.max.apply(null, all.map(function (p) { return p.lat; }));
    var minLon = Math.min.apply(null, all.map(function (p) { return p.lon; }));
    var maxLon = Math.max.apply(null, all.map(function (p) { return p.lon; }));
    var span = Math.max(maxLat - minLat, maxLon - minLon, 0.0005);
    function xy(p) {
      return [10 + 180 * (p.lon - minLon) / span, 190 - 180 * (p.lat - minLat) / span];
    }
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var ns = "http://www.w3.org/2000/svg";
    if (pts.length > 1) {
      var line = document.createElementNS(ns, "polyline");
      line.setAttribute("points", pts.map(function (p) { return xy(p).join(","); }).join(" "));
      line.setAttribute("fill", "none"); line.setAttribute("stroke", "#5b3fd1");
      line.setAttribute("stroke-width", "2");
      svg.appendChild(line);
    }
    var dest = document.createElementNS(ns, "rect"), dp = xy(d);
    dest.setAttribute("x", dp[0] - 4); dest.setAttribute("y", dp[1] - 4);
    dest.setAttribute("width", 8); dest.setAttribute("height", 8); dest.setAttribute("fill", "#2a8f3c");
    svg.appendChild(dest);
    if (pts.length) {
      var me = document.createElementNS(ns, "circle"), mp = xy(pts[pts.length - 1]);
      me.setAttribute("cx", mp[0]); me.setAttribute("cy", mp[1]); me.setAttribute("r", 5);
      me.setAttribute("fill", "#d13f3f");
      svg.appendChild(me);
    }
  }
  function render() {
    if (!journey) { return; }
    var st = stateText(journey);
    $("owner").textContent = journey.owner_name || "your contact";
    $("state").textContent = st[1];
    $("state").setAttribute("data-state", st[0]);
    var d = journey.destination;
    $("destination").textContent = d.label || (d.lat.toFixed(5) + ", " + d.lon.toFixed(5));
    $("eta").textContent = fmtTime(journey.expected_arrival_at);
    var f = journey.last_fix;
    if (f) {
      $("position").textContent = f.lat.toFixed(5) + ", " + f.lon.toFixed(5) +
        (f.accuracy_m != null ? " (±" + Math.round(f.accuracy_m) + " m)" : "");
      $("battery").textContent = f.battery != null ? Math.round(f.battery) + "%" : "–";
      $("distance").textContent = Math.round(haversine(f, d)) + " m";
    }
    since();
    plot();
  }
  function onState(ev) {
    journey = JSON.parse(ev.data).journey;
    if (journey.last_fix && !track.length) { track.push(journey.last_fix); }
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
    if (fix.jump) { return; }
    track.push(fix);
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
    li.textContent = alert.title + ": " + alert.body;
    $("alerts").appendChild(li);
  }
  var source = new EventSource("/watch/" + encodeURIComponent(token) + "/events");
  source.addEventListener("state", onState);
  source.addEventListener("resync", onResync);
  source.addEventListener("fix", onFix);
  source.addEventListener("alert", onAlert);
  source.addEventListener("link_revoked", function () {
    source.close();
    $("state").textContent = "This link has been revoked";
    $("state").setAttribute("data-state", "ended");
  });
  source.onerror = function () {
    if (journey && journey.state !== "active") { source.close(); }
  };
  window.setInterval(since, 1000);
}());
