// The live dashboard: polls the REST API every two seconds with a read key.
// The key comes from the URL fragment (#key=..., never sent to the server) or a form,
// and is kept in sessionStorage for this tab only.
"use strict";

const COLORS = ["#2a7ab0", "#d9822b", "#3a9a5b", "#b03a2a", "#7a5cb0", "#5b6573"];
const REFRESH_MS = 2000;

function readKey() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("key");
  if (fromHash) {
    sessionStorage.setItem("rtap-key", fromHash);
    history.replaceState(null, "", location.pathname);
  }
  return sessionStorage.getItem("rtap-key");
}

async function api(path, key) {
  const response = await fetch(path, { headers: { "X-API-Key": key } });
  const body = await response.json();
  if (!response.ok) throw new Error(`${response.status}: ${body.message}`);
  return body;
}

function drawChart(canvas, points) {
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  const pad = { left: 60, right: 16, top: 16, bottom: 28 };
  context.clearRect(0, 0, width, height);
  const buckets = [...new Set(points.map((p) => p.bucket))].sort();
  const types = [...new Set(points.map((p) => p.event_type))].sort();
  const value = new Map(points.map((p) => [`${p.event_type}|${p.bucket}`, p.events]));
  const max = Math.max(1, ...points.map((p) => p.events));
  const x = (i) => pad.left + (i * (width - pad.left - pad.right)) / Math.max(1, buckets.length - 1);
  const y = (v) => height - pad.bottom - (v * (height - pad.top - pad.bottom)) / max;
  context.strokeStyle = "#ccd";
  context.fillStyle = "#5b6573";
  context.font = "12px system-ui";
  for (let step = 0; step <= 4; step += 1) {
    const level = (max * step) / 4;
    context.beginPath();
    context.moveTo(pad.left, y(level));
    context.lineTo(width - pad.right, y(level));
    context.stroke();
    context.fillText(Math.round(level).toLocaleString(), 4, y(level) + 4);
  }
  buckets.forEach((bucket, i) => {
    // Keep the last label inside the canvas.
    const left = Math.min(x(i) - 14, width - pad.right - 32);
    if (i % 5 === 0) context.fillText(bucket.slice(11, 16), left, height - 8);
  });
  types.forEach((type, t) => {
    context.strokeStyle = COLORS[t % COLORS.length];
    context.lineWidth = 2;
    context.beginPath();
    buckets.forEach((bucket, i) => {
      const v = value.get(`${type}|${bucket}`) || 0;
      if (i === 0) context.moveTo(x(i), y(v));
      else context.lineTo(x(i), y(v));
    });
    context.stroke();
  });
  canvas.dataset.points = String(points.length);
  document.getElementById("legend").innerHTML = types
    .map((type, t) => `<span style="color:${COLORS[t % COLORS.length]}">■ ${type}</span>`)
    .join("");
}

async function refresh(key) {
  const end = new Date();
  const start = new Date(end.getTime() - 30 * 60 * 1000);
  const range = `start=${start.toISOString()}&end=${end.toISOString()}`;
  const [counts, top, users, fresh] = await Promise.all([
    api(`/v1/events/counts?granularity=minute&${range}`, key),
    api("/v1/events/top-types?limit=6", key),
    api("/v1/events/distinct-users", key),
    api("/v1/events/freshness", key),
  ]);
  const points = counts.data.points;
  const buckets = [...new Set(points.map((p) => p.bucket))].sort();
  const complete = buckets.length > 1 ? buckets[buckets.length - 2] : buckets[0];
  const lastMinute = points.filter((p) => p.bucket === complete).reduce((s, p) => s + p.events, 0);
  document.getElementById("rate").textContent = Math.round(lastMinute / 60).toLocaleString();
  const lag = fresh.data.lag_seconds;
  document.getElementById("lag").textContent = lag === null ? "—" : `${lag.toFixed(1)} s`;
  document.getElementById("users").textContent = users.data.users.toLocaleString();
  document.getElementById("top").innerHTML = top.data.items
    .map((item) => `<li>${item.event_type}: ${item.events.toLocaleString()}</li>`)
    .join("");
  drawChart(document.getElementById("chart"), points);
  const status = document.getElementById("status");
  status.className = "";
  status.textContent = `data version ${counts.meta.data_version ?? "—"} · cache ${counts.meta.cache}` +
    (counts.meta.stale ? " · STALE (ClickHouse unavailable)" : "");
}

function start(key) {
  const status = document.getElementById("status");
  const tick = () => refresh(key).catch((error) => {
    status.className = "error";
    status.textContent = `refresh failed: ${error.message}`;
  });
  tick();
  setInterval(tick, REFRESH_MS);
}

const key = readKey();
if (key) {
  start(key);
} else {
  const form = document.getElementById("login");
  form.hidden = false;
  document.getElementById("status").textContent = "an API key is needed";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const entered = document.getElementById("key").value.trim();
    sessionStorage.setItem("rtap-key", entered);
    form.hidden = true;
    start(entered);
  });
}
