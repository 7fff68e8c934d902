// Language: Simplified Chinese and English, one dictionary each (lib/i18n/*.js). Chosen by the switch
// (kept in localStorage), else by the browser's languages; a missing key falls back to English, then
// to the key itself. t("room.units_left", {n: 3}) fills {n}.

import zh from "./i18n/zh-CN.js";
import en from "./i18n/en.js";

const LANG_KEY = "yc.lang";
export const LANGS = { "zh-CN": zh, en };
const listeners = new Set();

function pick() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved && LANGS[saved]) return saved;
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked && LANGS[asked]) return asked;
  for (const l of navigator.languages || [navigator.language || "en"]) {
    if (/^zh\b/i.test(l)) return "zh-CN";
    if (/^en\b/i.test(l)) return "en";
  }
  return "en";
}

export let lang = pick();
document.documentElement.lang = lang;

export function setLang(next) {
  if (!LANGS[next] || next === lang) return;
  lang = next;
  localStorage.setItem(LANG_KEY, next);
  document.documentElement.lang = next;
  for (const fn of listeners) fn(next);
}

export function onLang(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function t(key, params) {
  let s = LANGS[lang][key] ?? en[key] ?? key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return s;
}

// the server's refusal, in the viewer's language when we know its code, else as the server worded it
export function errorText(err) {
  if (!err) return "";
  const code = err.code || "";
  const known = LANGS[lang]["error." + code] ?? en["error." + code];
  return known ? t("error." + code, err.details || {}) : err.message || code;
}

const fmtCache = new Map();
export function formatTime(value, opts = { dateStyle: "medium", timeStyle: "short" }) {
  if (!value) return "";
  const key = lang + JSON.stringify(opts);
  if (!fmtCache.has(key)) fmtCache.set(key, new Intl.DateTimeFormat(lang, opts));
  return fmtCache.get(key).format(new Date(value));
}

export function formatCount(n) {
  if (n === null || n === undefined) return "";
  if (lang === "zh-CN" && n >= 10000) {
    const tenths = Math.floor(n / 1000);
    return `${Math.floor(tenths / 10)}${tenths % 10 ? "." + (tenths % 10) : ""}万`;
  }
  return new Intl.NumberFormat(lang).format(n);
}

// "01:02:03" until a moment, or "" once it has passed
export function countdown(untilMs, nowMs = Date.now()) {
  let s = Math.max(0, Math.ceil((untilMs - nowMs) / 1000));
  if (s <= 0) return "";
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const two = (x) => String(x).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}
