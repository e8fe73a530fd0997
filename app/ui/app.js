// Gecko's window. No audio logic here: every value comes from the engine
// (through the app's Rust commands, which use the same crates as the CLI),
// and the EQ curve is computed by gecko-dsp (command `eq_curve`).
"use strict";

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

// Filter types and which use their gain: from gecko-dsp (command `filter_types`).
let FILTER_TYPES = [];
let HAS_GAIN = new Set();
const DB_RANGE = 24; // EQ plot: ±24 dB
const METER_FLOOR = -60; // meter bars: -60 dBFS … 0 dBFS
const W = 600, H = 260;

let params = null; // the engine's ChainParams (as last applied or reported)
let selected = null; // selected band index
let dragging = null; // {index} while a handle is dragged
let editingUntil = 0; // ms timestamp: don't overwrite controls a person is editing
let telemetryCount = 0, telemetryStart = 0;

const $ = (id) => document.getElementById(id);
const fmt = (v, unit, digits = 1) => (v === null || v === undefined ? "–" : `${v.toFixed(digits)} ${unit}`);

// ---------- messages ----------

function banner(text, ok = false, action = null) {
  $("banner").hidden = false;
  $("banner").className = ok ? "ok" : "";
  $("banner-text").textContent = text;
  const b = $("banner-action");
  if (action) {
    b.hidden = false;
    b.textContent = { start_engine: "Start engine", install_driver: "Install" }[action] || action;
    b.onclick = () => act(invoke(action));
  } else {
    b.hidden = true;
  }
}
$("banner-close").onclick = () => ($("banner").hidden = true);

// Runs a command; shows its message or its error (with the fixing action).
async function act(promise) {
  try {
    const r = await promise;
    if (r && typeof r === "object" && "params" in r) {
      params = r.params;
      $("preset-name").textContent = r.preset ? `· ${r.preset}` : "";
      renderControls();
      renderBands();
      await renderCurve();
      banner(r.message, true);
    } else if (typeof r === "string") {
      banner(r, true);
    }
    refresh();
    return r;
  } catch (e) {
    const err = typeof e === "object" && e ? e : { message: String(e) };
    banner(err.message || String(e), false, err.action || null);
    return null;
  }
}

// ---------- meters ----------

function ensureBars(n) {
  const bars = $("bars");
  while (bars.children.length < n) {
    const i = bars.children.length;
    const d = document.createElement("div");
    d.className = "bar";
    d.innerHTML = `<div class="rms" id="rms-bar-${i}"></div><div class="peak" id="peak-bar-${i}"></div>` +
      `<span class="label"><span id="peak-${i}">–</span> / <span id="rms-${i}">–</span> dBFS</span>`;
    bars.appendChild(d);
  }
}

const pct = (db) => (db === null ? 0 : Math.max(0, Math.min(100, ((db - METER_FLOOR) / -METER_FLOOR) * 100)));

function onTelemetry(t) {
  const m = t.meters;
  ensureBars(m.peak_dbfs.length);
  m.peak_dbfs.forEach((p, i) => {
    const r = m.rms_dbfs[i];
    $(`peak-${i}`).textContent = p === null ? "-∞" : p.toFixed(1);
    $(`rms-${i}`).textContent = r === null ? "-∞" : r.toFixed(1);
    $(`rms-bar-${i}`).style.width = `${pct(r)}%`;
    $(`peak-bar-${i}`).style.left = `${pct(p)}%`;
  });
  $("lufs-m").textContent = fmt(m.momentary_lufs, "LUFS");
  $("lufs-s").textContent = fmt(m.short_term_lufs, "LUFS");
  $("lufs-i").textContent = fmt(m.integrated_lufs, "LUFS");
  $("true-peak").textContent = fmt(m.true_peak_dbtp, "dBTP");
  $("max-peak").textContent = fmt(m.max_peak_dbfs, "dBFS");
  $("limiter-gr").textContent = `${m.limiter_reduction_db.toFixed(1)} dB`;
  const d = t.drift;
  $("drift").textContent = d ? `${d.applied_ppm >= 0 ? "+" : ""}${d.applied_ppm.toFixed(1)} ppm${d.locked ? "" : " (locking)"}` : "–";
  $("fill").textContent = d ? `${d.fill_ms.toFixed(1)} ms` : "–";
  $("xruns").textContent = d ? `${d.underrun_frames} frames` : "–";
  telemetryCount += 1;
  if (!telemetryStart) telemetryStart = performance.now();
  $("meter-seq").textContent = String(telemetryCount);
  const secs = (performance.now() - telemetryStart) / 1000;
  if (secs > 1) $("meter-rate").textContent = `${(telemetryCount / secs).toFixed(0)} Hz`;
}

function clearMeters() {
  document.querySelectorAll("#bars .rms").forEach((b) => (b.style.width = "0%"));
  document.querySelectorAll("#bars .peak").forEach((b) => (b.style.left = "0%"));
  document.querySelectorAll("#bars .label span").forEach((s) => (s.textContent = "–"));
  for (const id of ["lufs-m", "lufs-s", "lufs-i", "true-peak", "max-peak", "limiter-gr", "drift", "fill", "xruns"]) $(id).textContent = "–";
}

// ---------- EQ curve ----------

const xOf = (f) => (Math.log10(f / 20) / 3) * W;
const fOf = (x) => 20 * Math.pow(1000, Math.max(0, Math.min(W, x)) / W);
const yOf = (db) => H / 2 - (db / DB_RANGE) * (H / 2 - 10);
const dbOf = (y) => ((H / 2 - y) / (H / 2 - 10)) * DB_RANGE;

function svgEl(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

const pathOf = (freqs, dbs) =>
  freqs.map((f, i) => `${i ? "L" : "M"}${xOf(f).toFixed(1)},${yOf(Math.max(-DB_RANGE - 6, Math.min(DB_RANGE + 6, dbs[i]))).toFixed(1)}`).join("");

let curveSeq = 0;
async function renderCurve() {
  if (!params) return;
  const seq = ++curveSeq;
  const c = await invoke("eq_curve", { eq: params.eq, points: 240 });
  if (seq !== curveSeq) return; // a newer curve is on its way
  const svg = $("eq-svg");
  svg.replaceChildren();
  for (const f of [20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000]) {
    svg.appendChild(svgEl("line", { class: "grid", x1: xOf(f), x2: xOf(f), y1: 0, y2: H }));
    const t = svgEl("text", { class: "axis", x: xOf(f) + 2, y: H - 3 });
    t.textContent = f >= 1000 ? `${f / 1000}k` : `${f}`;
    svg.appendChild(t);
  }
  for (const db of [-18, -12, -6, 0, 6, 12, 18]) {
    svg.appendChild(svgEl("line", { class: "grid", x1: 0, x2: W, y1: yOf(db), y2: yOf(db) }));
    const t = svgEl("text", { class: "axis", x: 2, y: yOf(db) - 2 });
    t.textContent = `${db > 0 ? "+" : ""}${db}`;
    svg.appendChild(t);
  }
  for (const [, dbs] of c.bands_db) svg.appendChild(svgEl("path", { class: "band-curve", d: pathOf(c.freqs, dbs) }));
  svg.appendChild(svgEl("path", { class: "total", id: "eq-total", d: pathOf(c.freqs, c.total_db) }));
  params.eq.bands.forEach((b, i) => {
    if (!b.enabled) return;
    const h = svgEl("circle", {
      class: `handle${i === selected ? " sel" : ""}`,
      id: `handle-${i}`,
      cx: xOf(b.freq),
      cy: yOf(HAS_GAIN.has(b.type) ? b.gain_db : 0),
      r: 7,
    });
    h.addEventListener("pointerdown", (ev) => startDrag(ev, i));
    svg.appendChild(h);
  });
}

function svgPoint(ev) {
  const r = $("eq-svg").getBoundingClientRect();
  return { x: ((ev.clientX - r.left) / r.width) * W, y: ((ev.clientY - r.top) / r.height) * H };
}

let lastSent = 0, sendTimer = null;
function sendBand(i) {
  // At most ~10 edits a second while dragging; the last one always goes.
  clearTimeout(sendTimer);
  const go = () => {
    lastSent = performance.now();
    act(invoke("set_eq_band", { index: i, band: params.eq.bands[i] }));
  };
  const wait = 100 - (performance.now() - lastSent);
  if (wait <= 0) go();
  else sendTimer = setTimeout(go, wait);
}

function startDrag(ev, i) {
  ev.preventDefault();
  selected = i;
  dragging = { index: i };
  renderBands();
  const svg = $("eq-svg");
  svg.setPointerCapture(ev.pointerId);
  const move = (e) => {
    const p = svgPoint(e);
    const b = params.eq.bands[i];
    b.freq = Math.round(Math.min(20000, Math.max(20, fOf(p.x))));
    if (HAS_GAIN.has(b.type)) b.gain_db = Math.round(Math.max(-DB_RANGE, Math.min(DB_RANGE, dbOf(p.y))) * 10) / 10;
    renderBands();
    renderCurve();
    sendBand(i);
  };
  const up = () => {
    svg.removeEventListener("pointermove", move);
    svg.removeEventListener("pointerup", up);
    dragging = null;
    sendBand(i);
  };
  svg.addEventListener("pointermove", move);
  svg.addEventListener("pointerup", up);
}

// ---------- band list ----------

function renderBands() {
  if (!params) return;
  const tb = $("bands");
  tb.replaceChildren();
  params.eq.bands.forEach((b, i) => {
    if (!b.enabled && !(i === selected)) return;
    const tr = document.createElement("tr");
    tr.id = `band-${i}`;
    if (i === selected) tr.className = "sel";
    const opts = FILTER_TYPES.map((t) => `<option value="${t}"${t === b.type ? " selected" : ""}>${t.replace("_", " ")}</option>`).join("");
    tr.innerHTML =
      `<td>${i}</td><td><input type="checkbox" id="band-${i}-on"${b.enabled ? " checked" : ""}></td>` +
      `<td><select id="band-${i}-type">${opts}</select></td>` +
      `<td><input type="number" id="band-${i}-freq" min="10" max="23000" step="1" value="${b.freq}"></td>` +
      `<td><input type="number" id="band-${i}-q" min="0.05" max="40" step="0.05" value="${b.q}"></td>` +
      `<td><input type="number" id="band-${i}-gain" min="-24" max="24" step="0.5" value="${b.gain_db}"${HAS_GAIN.has(b.type) ? "" : " disabled"}></td>` +
      `<td><select id="band-${i}-channel">${["all", "left", "right"].map((c) => `<option value="${c}"${c === (b.channel || "all") ? " selected" : ""}>${c}</option>`).join("")}</select></td>`;
    tr.onclick = () => {
      if (selected !== i) {
        selected = i;
        renderCurve();
        document.querySelectorAll("#bands tr").forEach((r) => r.classList.toggle("sel", r.id === `band-${i}`));
      }
    };
    const edit = (field, parse) => (ev) => {
      const nb = { ...params.eq.bands[i], [field]: parse(ev.target) };
      act(invoke("set_eq_band", { index: i, band: nb }));
    };
    tr.querySelector(`#band-${i}-on`).onchange = edit("enabled", (t) => t.checked);
    tr.querySelector(`#band-${i}-type`).onchange = edit("type", (t) => t.value);
    tr.querySelector(`#band-${i}-freq`).onchange = edit("freq", (t) => Number(t.value));
    tr.querySelector(`#band-${i}-q`).onchange = edit("q", (t) => Number(t.value));
    tr.querySelector(`#band-${i}-gain`).onchange = edit("gain_db", (t) => Number(t.value));
    tr.querySelector(`#band-${i}-channel`).onchange = edit("channel", (t) => t.value);
    tb.appendChild(tr);
  });
}

$("add-band").onclick = () => {
  if (!params) return banner("the engine is not running — Start engine", false, "start_engine");
  const i = params.eq.bands.findIndex((b) => !b.enabled);
  if (i < 0) return banner(`all ${params.eq.bands.length} bands are in use`);
  selected = i;
  act(invoke("set_eq_band", { index: i, band: { type: "peaking", freq: 1000, q: 1.0, gain_db: 0, enabled: true } }));
};

// ---------- engine controls ----------

function renderControls() {
  if (!params || performance.now() < editingUntil) return;
  $("gain").value = params.gain_db;
  $("gain-value").textContent = `${params.gain_db.toFixed(1)} dB`;
  $("limiter-on").checked = params.limiter.enabled;
  if (document.activeElement !== $("ceiling")) $("ceiling").value = params.limiter.ceiling_dbtp;
  $("mute").checked = !!params.mute;
  const pct = Math.round((params.eq.strength ?? 1) * 100);
  $("strength").value = pct;
  $("strength-value").textContent = `${pct} %`;
}

$("gain").oninput = () => {
  editingUntil = performance.now() + 1500;
  $("gain-value").textContent = `${Number($("gain").value).toFixed(1)} dB`;
};
$("gain").onchange = () => act(invoke("set_gain", { db: Number($("gain").value) }));
$("limiter-on").onchange = () => act(invoke("set_limiter", { enabled: $("limiter-on").checked, ceilingDbtp: null }));
$("ceiling").onchange = () => act(invoke("set_limiter", { enabled: null, ceilingDbtp: Number($("ceiling").value) }));
$("mute").onchange = () => act(invoke("set_mute", { muted: $("mute").checked }));
$("strength").oninput = () => {
  editingUntil = performance.now() + 1500;
  $("strength-value").textContent = `${$("strength").value} %`;
};
$("strength").onchange = () => act(invoke("set_strength", { percent: Number($("strength").value) }));
$("bypass").onclick = () => act(invoke("bypass"));
$("preset-load").onclick = () => act(invoke("load_preset", { name: $("preset-select").value }));
$("preset-save").onclick = async () => {
  const r = await act(invoke("save_preset", { name: $("preset-save-name").value.trim() }));
  if (r) loadPresets();
};
$("device-apply").onclick = () => act(invoke("set_engine_output", { device: $("device-select").value || null }));
$("engine-start").onclick = () => act(invoke("start_engine"));
$("engine-stop").onclick = () => act(invoke("stop_engine"));
$("install").onclick = () => act(invoke("install_driver"));
$("uninstall").onclick = () => act(invoke("uninstall_driver"));
$("restart-audio").onclick = () => act(invoke("restart_audio"));
$("diagnose").onclick = runDiagnostics;
$("output-toggle").onclick = () => act(invoke(lastOverview && lastOverview.gecko_is_default ? "restore_output" : "use_gecko_sink"));

async function loadPresets() {
  const list = await invoke("presets");
  for (const id of ["preset-select", "bind-preset"]) {
    const sel = $(id);
    const keep = sel.value;
    sel.replaceChildren(...list.map((p) => new Option(p.builtin ? p.name : `${p.name} (saved)`, p.name)));
    if (keep) sel.value = keep;
  }
}

async function loadDevices() {
  const list = await invoke("output_devices");
  const label = (d) => (d.id === d.name ? d.name : `${d.name} [${d.id}]`);
  $("device-select").replaceChildren(new Option("System default", ""), ...list.map((d) => new Option(label(d), d.name)));
  const keep = $("bind-device").value;
  $("bind-device").replaceChildren(...list.map((d) => new Option(label(d), d.id)));
  if (keep) $("bind-device").value = keep;
}

// ---------- presets: import, per-device bindings ----------

async function loadBindings() {
  const list = await invoke("bindings");
  $("bindings").replaceChildren(...list.map((b, i) => {
    const tr = document.createElement("tr");
    tr.id = `binding-${i}`;
    const dev = document.createElement("td");
    dev.textContent = `${b.name ? `${b.name} [${b.device}]` : b.device}${b.connected ? "" : " (not connected)"}`;
    const pre = document.createElement("td");
    pre.textContent = b.preset_ok ? b.preset : `${b.preset} (missing: bind another)`;
    if (!b.preset_ok) pre.className = "bad";
    const rm = Object.assign(document.createElement("button"), { id: `unbind-${i}`, textContent: "Remove" });
    rm.onclick = async () => {
      if (await act(invoke("unbind_device", { device: b.device }))) loadBindings();
    };
    const cell = document.createElement("td");
    cell.appendChild(rm);
    tr.append(dev, pre, cell);
    return tr;
  }));
}

$("import").onclick = async () => {
  const file = $("import-file").files[0];
  if (!file) {
    banner("Choose an EQ file to import first");
    return;
  }
  $("import").disabled = true;
  try {
    const text = await file.text();
    const name = $("import-name").value.trim() || null;
    const r = await invoke("import_preset", { fileName: file.name, text, name, replace: $("import-replace").checked });
    const lines = r.notes.map((n) => Object.assign(document.createElement("li"), { textContent: n }));
    $("import-notes").replaceChildren(...lines);
    banner(`Imported "${r.name}": ${r.bands_both} band(s) on both channels, ${r.bands_left} left, ${r.bands_right} right, ` +
      `preamp ${r.preamp_db >= 0 ? "+" : ""}${r.preamp_db.toFixed(1)} dB` +
      (r.notes.length ? ` — ${r.notes.length} line(s) not imported as written, listed below` : ""), true);
    await loadPresets();
    $("preset-select").value = r.name;
    $("bind-preset").value = r.name;
  } catch (e) {
    const msg = String((e && e.message) || e);
    banner(e && e.code === "exists" ? `${msg} (tick "replace")` : msg);
  } finally {
    $("import").disabled = false;
  }
};

$("bind").onclick = async () => {
  const device = $("bind-device").value;
  if (!device) {
    banner("No output device to bind");
    return;
  }
  if (await act(invoke("bind_device", { device, preset: $("bind-preset").value }))) loadBindings();
};

// ---------- loopback (Gecko Sink's input stream) ----------

let loopbackUntil = 0; // ms timestamp: a choice is on its way; don't move the radios back meanwhile
function renderLoopback(l) {
  if (!l) return;
  if (performance.now() > loopbackUntil) {
    // Nothing saved: the tap the engine asks for, else the driver's own (pre).
    const shown = l.chosen || (l.engine && l.engine.requested) || l.active || "pre";
    for (const t of ["pre", "post", "off"]) $(`loopback-${t}`).checked = shown === t;
  }
  for (const t of ["pre", "post", "off"]) $(`loopback-${t}`).parentElement.classList.toggle("sel", $(`loopback-${t}`).checked);
  $("loopback-state").textContent = l.state_line;
  $("loopback-state").className = l.pending ? "pending" : "";
  $("loopback-warning").hidden = !l.warning;
  $("loopback-warning").textContent = l.warning || "";
}

async function setLoopback(tap) {
  loopbackUntil = performance.now() + 3000;
  try {
    const l = await invoke("set_loopback", { tap });
    loopbackUntil = 0;
    renderLoopback(l);
    banner(l.message, true);
  } catch (e) {
    loopbackUntil = 0;
    banner(String((e && e.message) || e), false, (e && e.action) || null);
    invoke("loopback").then(renderLoopback, () => {});
  }
}
for (const t of ["pre", "post", "off"]) {
  $(`loopback-${t}`).onchange = (ev) => {
    if (!ev.target.checked) return;
    for (const u of ["pre", "post", "off"]) $(`loopback-${u}`).parentElement.classList.toggle("sel", u === t);
    setLoopback(t);
  };
}

// ---------- diagnostics (gecko doctor's checks) ----------

async function runDiagnostics() {
  $("diagnose").disabled = true;
  $("diagnostics-line").textContent = "checking…";
  try {
    const checks = await invoke("diagnostics");
    $("diagnostics").replaceChildren(...checks.map((c) => {
      const li = document.createElement("li");
      li.id = `diag-${c.check}`;
      li.className = c.ok === true ? "ok" : c.ok === false ? "fail" : "skip";
      const head = document.createElement("div");
      head.textContent = `${c.ok === true ? "✔" : c.ok === false ? "✘" : "–"} ${c.check}: ${c.detail}`;
      li.appendChild(head);
      if (c.fix) li.appendChild(Object.assign(document.createElement("div"), { className: "fix", textContent: `fix: ${c.fix}` }));
      return li;
    }));
    const failed = checks.filter((c) => c.ok === false).length;
    $("diagnostics-line").textContent =
      failed === 0 ? "all checks passed" : failed === 1 ? "1 problem" : `${failed} problems: fix the first one first`;
  } catch (e) {
    $("diagnostics-line").textContent = String((e && e.message) || e);
  } finally {
    $("diagnose").disabled = false;
  }
}

// ---------- overview (1 Hz) ----------

let lastOverview = null;
function onOverview(o) {
  lastOverview = o;
  const d = o.driver;
  $("status-line").textContent = o.status_line;
  $("driver-line").textContent = d.installed
    ? `Gecko Sink ${d.version || "?"} installed at ${d.path} — ${d.load_text}${d.engine_attached ? ", engine attached" : ""}`
    : `not installed (${o.platform}${o.root && o.root !== "/" ? `, root ${o.root}` : ""})`;
  $("driver-problems").replaceChildren(...d.problems.map((p) => Object.assign(document.createElement("li"), { textContent: p })));
  $("install").textContent = d.installed ? "Repair driver" : "Install driver";
  $("service-line").textContent = o.service.length
    ? o.service.map((s) => `${s.name} pid ${s.pid}: alive, ${s.resident_mib.toFixed(1)} MiB${s.hosts_driver ? ", hosts the driver" : ""}`).join(" · ")
    : "audio service not running";
  $("output-line").textContent = `System output: ${o.default_output || "none"}${o.remembered_output ? ` (previous: ${o.remembered_output})` : ""}`;
  $("output-toggle").textContent = o.gecko_is_default ? "Restore previous output" : "Use Gecko Sink as system output";
  renderLoopback(o.loopback);
  $("notices").replaceChildren(...o.notices.slice(-5).reverse().map((n) => Object.assign(document.createElement("li"), { textContent: n })));
  const e = o.engine;
  if (!e || !e.format) clearMeters(); // no engine, or one not attached to Gecko Sink: no levels to show
  if (e) {
    $("engine-line").textContent = `engine ${e.engine_version} pid ${e.pid} → ${e.output_device || "no output"}` +
      (e.format ? `, ${e.format.channels} ch ${e.format.sample_rate} Hz` : ", waiting for Gecko Sink");
    $("preset-name").textContent = e.preset ? `· ${e.preset}` : "";
    if (!dragging && performance.now() > editingUntil && JSON.stringify(e.params) !== JSON.stringify(params)) {
      params = e.params;
      renderControls();
      renderBands();
      renderCurve();
    }
  } else {
    $("engine-line").textContent = o.engine_error ? o.engine_error.message : "engine stopped";
  }
}

async function refresh() {
  try {
    onOverview(await invoke("overview"));
  } catch (e) {
    banner(String(e.message || e));
  }
}

invoke("filter_types").then((types) => {
  FILTER_TYPES = types.map((t) => t.name);
  HAS_GAIN = new Set(types.filter((t) => t.uses_gain).map((t) => t.name));
  renderBands();
  renderCurve();
});
listen("telemetry", (ev) => onTelemetry(ev.payload));
listen("overview", (ev) => onOverview(ev.payload));
refresh();
loadPresets();
loadDevices();
loadBindings();
