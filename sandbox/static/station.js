// Hemu sandbox page, station tab: the station's report for a chosen period, from the sandbox's case store
// (GET /station/report.html, sandbox/station.py), shown in a frame. The chats keep polling meanwhile.
"use strict";

const STATION_LABELS = {
  chats: "会话 Chats",
  station: "派出所报表 Station",
  period: "时段 Period",
  language: "语言 Language",
  refresh: "刷新 Refresh",
  open: "在新标签页打开 open in a new tab",
  loading: "正在生成报表… making the report…",
};

const station = {
  tabs: document.querySelectorAll(".tabs .tab"),
  chatsView: document.getElementById("chats-view"),
  view: document.getElementById("station-view"),
  period: document.getElementById("station-period"),
  language: document.getElementById("station-language"),
  frame: document.getElementById("station-report"),
  open: document.getElementById("station-open"),
  state: document.getElementById("station-state"),
};

function stationUrl() {
  const query = new URLSearchParams({ period: station.period.value, language: station.language.value });
  return `/station/report.html?${query}`;
}

// Made afresh on every choice: the report is about "now" on the sandbox's (shiftable) clock.
function loadReport() {
  const url = stationUrl();
  station.open.href = url;
  station.state.textContent = STATION_LABELS.loading;
  station.frame.src = url;
}

function showTab(name) {
  for (const tab of station.tabs) tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  station.chatsView.hidden = name !== "chats";
  station.view.hidden = name !== "station";
  if (name === "station" && !station.frame.getAttribute("src")) loadReport();
  history.replaceState(null, "", name === "station" ? "#station" : location.pathname);
}

for (const node of document.querySelectorAll("[data-station-label]")) {
  node.textContent = STATION_LABELS[node.dataset.stationLabel] || "";
}
document.getElementById("tab-chats").textContent = STATION_LABELS.chats;
document.getElementById("tab-station").textContent = STATION_LABELS.station;
for (const tab of station.tabs) tab.addEventListener("click", () => showTab(tab.dataset.tab));
station.period.addEventListener("change", loadReport);
station.language.addEventListener("change", loadReport);
document.getElementById("station-refresh").addEventListener("click", loadReport);
station.frame.addEventListener("load", () => {
  station.state.textContent = "";
});
showTab(location.hash === "#station" ? "station" : "chats");
