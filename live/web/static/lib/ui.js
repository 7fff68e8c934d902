// Shared page pieces: htm bound to Preact, the page shell (header, navigation by role, language
// switch, sign-in state), mounting a page so it re-renders when the language changes, and small hooks.

import { h, render } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";
import { session, ApiError } from "./api.js";
import { lang, setLang, onLang, t, errorText } from "./i18n.js";

export const html = htm.bind(h);

const NAV = [
  { href: "/", key: "nav.home" },
  { href: "/orders", key: "nav.orders", roles: ["viewer"] },
  { href: "/studio", key: "nav.studio", roles: ["streamer", "shop_operator"] },
  { href: "/shop", key: "nav.shop", roles: ["shop_operator", "streamer"] },
  { href: "/staff", key: "nav.staff", roles: ["platform_staff", "finance"] },
  { href: "/docs", key: "nav.docs" },
];

export function canSee(roles) {
  if (!roles) return true;
  const u = session.user;
  return !!u && roles.some((r) => u.roles.includes(r));
}

export function Header({ compact }) {
  const user = session.user;
  const here = location.pathname;
  return html`<header class=${"topbar" + (compact ? " compact" : "")}>
    <a class="brand" href="/"><img src="/static/img/icon.svg" alt="" width="22" height="22" />${t("app.name")}</a>
    <nav>
      ${NAV.filter((n) => canSee(n.roles)).map(
        (n) => html`<a href=${n.href} class=${here === n.href ? "on" : ""} data-nav=${n.href}>${t(n.key)}</a>`,
      )}
    </nav>
    <span class="grow"></span>
    <button class="link" data-testid="lang" onClick=${() => setLang(lang === "zh-CN" ? "en" : "zh-CN")}>${t("nav.language")}</button>
    ${user
      ? html`<span class="who" data-testid="who" title=${user.roles.map((r) => t("role." + r)).join(", ")}>${user.name}</span>
          <button class="link" data-testid="sign-out" onClick=${() => { session.signOut(); location.reload(); }}>${t("nav.sign_out")}</button>`
      : html`<a class="button small" data-testid="sign-in" href=${"/sign-in?next=" + encodeURIComponent(location.pathname + location.search)}>${t("nav.sign_in")}</a>`}
  </header>`;
}

// A page that needs one of `roles`: asks a guest to sign in, and tells a signed-in user without the
// role that the page is not theirs (the API refuses them anyway).
export function RoleGate({ roles, children }) {
  const user = session.user;
  if (!user)
    return html`<div class="panel gate" data-testid="gate">
      <p>${t("common.sign_in_needed")}</p>
      <a class="button" href=${"/sign-in?next=" + encodeURIComponent(location.pathname + location.search)}>${t("nav.sign_in")}</a>
    </div>`;
  if (!roles.some((r) => user.roles.includes(r)))
    return html`<div class="panel gate" data-testid="gate"><p>${t("common.not_allowed")}</p></div>`;
  return children;
}

export function mount(Page, props = {}) {
  const root = document.getElementById("app");
  const draw = () => render(html`<${Page} ...${props} lang=${lang} />`, root);
  onLang(draw);
  draw();
}

// run an async loader; returns [data, error, reload, setData]
export function useLoad(fn, deps = []) {
  const [state, setState] = useState({ data: undefined, error: null });
  const seq = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const data = await fn();
      if (mine === seq.current) setState({ data, error: null });
    } catch (error) {
      if (mine === seq.current) setState((s) => ({ data: s.data, error }));
    }
  }, deps);
  useEffect(() => {
    reload();
  }, [reload]);
  return [state.data, state.error, reload, (data) => setState({ data, error: null })];
}

export function useInterval(fn, ms) {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    if (!ms) return undefined;
    const id = setInterval(() => saved.current(), ms);
    return () => clearInterval(id);
  }, [ms]);
}

// the current time, ticking every `ms` (for countdowns)
export function useNow(ms = 1000) {
  const [now, setNow] = useState(Date.now());
  useInterval(() => setNow(Date.now()), ms);
  return now;
}

export function ErrorLine({ error }) {
  if (!error) return null;
  const text = error instanceof ApiError || error.code ? errorText(error) : String(error);
  return html`<p class="error" role="alert" data-testid="error" data-code=${error.code || ""}>${text}</p>`;
}

// run an action from a button: busy state and the server's refusal shown next to it
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = useCallback(async (fn) => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, setError };
}

export function Status({ kind, value }) {
  const key = kind === "room" ? "room.state." : kind + ".status.";
  return html`<span class=${"badge " + kind + "-" + value} data-status=${value}>${t(key + value)}</span>`;
}
